// The transaction state machine driven by a hand-moved clock: no I/O, no timers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '@tributary/protocol';
import { PartitionTxnIndex } from './partition-txn-index.ts';
import {
  TransactionCoordinator,
  type TransactionCommand,
  type TransactionResult,
} from './transaction-coordinator.ts';
import {
  decodeTransactionRecord,
  encodeTransactionRecordKey,
  encodeTransactionRecordValue,
} from './transaction-records.ts';

const transactionalId = 'tx';
const coordinatorOptions = { maxTimeoutMs: 900_000, idExpirationMs: 86_400_000 };

function setup() {
  const coordinator = new TransactionCoordinator(coordinatorOptions);
  let nextId = 100n;
  const run = (command: TransactionCommand, now = 0): TransactionResult =>
    coordinator.apply(command, now);
  const init = (now = 0, timeoutMs = 10_000): TransactionResult =>
    run(
      {
        kind: 'initProducerId',
        transactionalId,
        timeoutMs,
        freshProducerId: nextId++,
        producerId: -1n,
        producerEpoch: -1,
      },
      now,
    );
  return { coordinator, run, init };
}

function producer(result: TransactionResult) {
  return { transactionalId, producerId: result.producerId, producerEpoch: result.producerEpoch };
}

/** EndTxn v0-4 fields: no epoch bump, no fresh producer id. */
const classicEnd = { transactionVersion: 0, freshProducerId: -1n };

const p0 = { topic: 't', partition: 0 };
const p1 = { topic: 't', partition: 1 };

test('a new transactional id gets a fresh producer id; the next session bumps the epoch', () => {
  const { init } = setup();
  const first = init();
  assert.equal(first.errorCode, ErrorCode.NONE);
  assert.deepEqual([first.producerId, first.producerEpoch], [100n, 0]);
  assert.equal(first.records.length, 1);
  const second = init();
  assert.deepEqual([second.producerId, second.producerEpoch], [100n, 1]);
});

test('commit: AddPartitions, EndTxn prepares, complete finishes; retries are answered', () => {
  const { coordinator, run, init } = setup();
  const me = producer(init());
  const added = run({ kind: 'addPartitions', ...me, partitions: [p0, p1, p0] }, 5);
  assert.equal(added.errorCode, ErrorCode.NONE);
  assert.deepEqual(coordinator.transactions.get(transactionalId)?.partitions, [p0, p1]);
  assert.equal(coordinator.verifyPartition(me.producerId, me.producerEpoch, p1), ErrorCode.NONE);
  assert.equal(
    coordinator.verifyPartition(me.producerId, me.producerEpoch, { topic: 't', partition: 2 }),
    ErrorCode.INVALID_TXN_STATE,
  );
  const ended = run({ kind: 'endTxn', ...me, ...classicEnd, committed: true }, 6);
  assert.equal(ended.errorCode, ErrorCode.NONE);
  assert.equal(ended.awaitCompletion, true);
  assert.deepEqual(ended.completions, [
    { ...me, result: 'commit', partitions: [p0, p1], offsets: [] },
  ]);
  assert.equal(coordinator.transactions.get(transactionalId)?.state, 'PrepareCommit');
  // While completing: the same EndTxn waits, anything else is CONCURRENT_TRANSACTIONS.
  const retry = run({ kind: 'endTxn', ...me, ...classicEnd, committed: true }, 7);
  assert.deepEqual([retry.errorCode, retry.awaitCompletion], [ErrorCode.NONE, true]);
  const add = run({ kind: 'addPartitions', ...me, partitions: [p0] }, 7);
  assert.equal(add.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.equal(
    coordinator.verifyPartition(me.producerId, me.producerEpoch, p0),
    ErrorCode.INVALID_TXN_STATE,
  );
  run({ kind: 'complete', ...me }, 8);
  const done = coordinator.transactions.get(transactionalId);
  assert.equal(done?.state, 'CompleteCommit');
  assert.deepEqual(done?.partitions, []);
  const late = run({ kind: 'endTxn', ...me, ...classicEnd, committed: true }, 9);
  assert.deepEqual([late.errorCode, late.records.length], [ErrorCode.NONE, 0]);
  const wrong = run({ kind: 'endTxn', ...me, ...classicEnd, committed: false }, 9);
  assert.equal(wrong.errorCode, ErrorCode.INVALID_TXN_STATE);
});

test('offsets are held until commit and dropped on abort', () => {
  const { run, init } = setup();
  const me = producer(init());
  const offset = { topic: 'in', partition: 0, offset: 42n, leaderEpoch: -1, metadata: null };
  const early = run({
    kind: 'txnOffsetCommit',
    ...me,
    implicitAdd: false,
    groupId: 'g',
    offsets: [offset],
  });
  assert.equal(early.errorCode, ErrorCode.INVALID_TXN_STATE, 'AddOffsetsToTxn comes first');
  assert.equal(run({ kind: 'addOffsets', ...me, groupId: 'g' }).errorCode, ErrorCode.NONE);
  run({ kind: 'txnOffsetCommit', ...me, implicitAdd: false, groupId: 'g', offsets: [offset] });
  run({
    kind: 'txnOffsetCommit',
    ...me,
    implicitAdd: false,
    groupId: 'g',
    offsets: [{ ...offset, offset: 43n }],
  });
  const commit = run({ kind: 'endTxn', ...me, ...classicEnd, committed: true });
  assert.deepEqual(commit.completions[0]?.offsets, [{ ...offset, offset: 43n, groupId: 'g' }]);
  run({ kind: 'complete', ...me });
  run({ kind: 'addOffsets', ...me, groupId: 'g' });
  run({ kind: 'txnOffsetCommit', ...me, implicitAdd: false, groupId: 'g', offsets: [offset] });
  const abort = run({ kind: 'endTxn', ...me, ...classicEnd, committed: false });
  assert.deepEqual(abort.completions[0]?.offsets, []);
});

test('a new session fences the old one and aborts its open transaction first', () => {
  const { coordinator, run, init } = setup();
  const old = producer(init());
  run({ kind: 'addPartitions', ...old, partitions: [p0] });
  const retry = init();
  assert.equal(retry.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.deepEqual(retry.completions, [
    { ...old, producerEpoch: 1, result: 'abort', partitions: [p0], offsets: [] },
  ]);
  // The old session is fenced at once.
  const stale = run({ kind: 'endTxn', ...old, ...classicEnd, committed: true });
  assert.equal(stale.errorCode, ErrorCode.PRODUCER_FENCED);
  assert.equal(
    coordinator.verifyPartition(old.producerId, old.producerEpoch, p0),
    ErrorCode.INVALID_PRODUCER_EPOCH,
  );
  assert.equal(init().errorCode, ErrorCode.CONCURRENT_TRANSACTIONS, 'still completing');
  run({ kind: 'complete', ...old, producerEpoch: 1 });
  const fresh = init();
  assert.deepEqual([fresh.errorCode, fresh.producerEpoch], [ErrorCode.NONE, 2]);
  const other = run({ kind: 'addPartitions', ...old, producerId: 999n, partitions: [p0] });
  assert.equal(other.errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
});

test('transaction.timeout.ms aborts an abandoned transaction and fences its producer', () => {
  const { coordinator, run, init } = setup();
  const me = producer(init(0, 1_000));
  run({ kind: 'addPartitions', ...me, partitions: [p0] }, 100);
  assert.deepEqual(run({ kind: 'tick' }, 1_099).completions, []);
  const expired = run({ kind: 'tick' }, 1_100);
  assert.equal(expired.completions[0]?.result, 'abort');
  assert.equal(coordinator.transactions.get(transactionalId)?.state, 'PrepareAbort');
  assert.equal(
    run({ kind: 'endTxn', ...me, ...classicEnd, committed: true }).errorCode,
    ErrorCode.PRODUCER_FENCED,
  );
  assert.equal(init(0, 2_000_000).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
});

test('replaying the records rebuilds the state, and Prepare states are finished after it', () => {
  const { coordinator, run, init } = setup();
  const records = [];
  const first = init();
  records.push(...first.records);
  const me = producer(first);
  records.push(...run({ kind: 'addPartitions', ...me, partitions: [p1] }).records);
  records.push(...run({ kind: 'endTxn', ...me, ...classicEnd, committed: true }).records);
  const replayed = new TransactionCoordinator(coordinatorOptions);
  for (const record of records) {
    const key = encodeTransactionRecordKey(record);
    replayed.replay(decodeTransactionRecord(key, encodeTransactionRecordValue(record)));
  }
  assert.deepEqual(replayed.transactions, coordinator.transactions);
  assert.deepEqual(replayed.pendingCompletions(), [
    { ...me, result: 'commit', partitions: [p1], offsets: [] },
  ]);
});

test('partition index: LSO is the first offset of the earliest open transaction', () => {
  const index = new PartitionTxnIndex();
  assert.equal(index.lastStableOffset(10n), 10n);
  index.begin(7n, 3n);
  index.begin(8n, 5n);
  index.begin(7n, 6n); // same transaction, later batch
  assert.equal(index.lastStableOffset(10n), 3n);
  index.end(7n, 9n, 'abort');
  assert.equal(index.lastStableOffset(10n), 5n);
  index.end(8n, 11n, 'commit');
  assert.equal(index.lastStableOffset(12n), 12n);
  assert.deepEqual(index.abortedBetween(0n, 12n), [
    { producerId: 7n, firstOffset: 3n, lastOffset: 9n },
  ]);
  assert.deepEqual(index.abortedBetween(10n, 12n), []);
  index.end(9n, 12n, 'abort'); // a marker with no open transaction changes nothing
  assert.equal(index.abortedBetween(0n, 13n).length, 1);
});

/** EndTxn v5 fields (KIP-890 part 2). */
const bumpingEnd = { transactionVersion: 2, freshProducerId: -1n };

test('transaction version 2: produce adds implicitly, every EndTxn v5 bumps the epoch', () => {
  const { coordinator, run, init } = setup();
  const me = producer(init());
  assert.equal(coordinator.isInTransaction(me.producerId, me.producerEpoch, p0), false);
  const added = run({ kind: 'addPartitions', ...me, partitions: [p0], transactionVersion: 2 });
  assert.equal(added.errorCode, ErrorCode.NONE);
  assert.equal(coordinator.isInTransaction(me.producerId, me.producerEpoch, p0), true);
  const ended = run({ kind: 'endTxn', ...me, ...bumpingEnd, committed: true });
  assert.equal(ended.errorCode, ErrorCode.NONE);
  assert.deepEqual([ended.producerId, ended.producerEpoch], [me.producerId, 1]);
  // The markers carry the bumped epoch, so they fence the epoch the data was written with.
  assert.deepEqual(ended.completions, [
    { ...me, producerEpoch: 1, result: 'commit', partitions: [p0], offsets: [] },
  ]);
  // A retry while completing names the old epoch and waits for the completion.
  const retry = run({ kind: 'endTxn', ...me, ...bumpingEnd, committed: true });
  assert.deepEqual([retry.errorCode, retry.awaitCompletion], [ErrorCode.NONE, true]);
  assert.equal(retry.producerEpoch, 1);
  run({ kind: 'complete', ...me, producerEpoch: 1 });
  const late = run({ kind: 'endTxn', ...me, ...bumpingEnd, committed: true });
  assert.deepEqual([late.errorCode, late.awaitCompletion, late.producerEpoch], [0, false, 1]);
  assert.equal(
    run({ kind: 'endTxn', ...me, ...bumpingEnd, committed: false }).errorCode,
    ErrorCode.INVALID_TXN_STATE,
    'the retry of a commit may not turn into an abort',
  );
  // The next transaction runs at the bumped epoch; the old one is fenced.
  const next = { ...me, producerEpoch: 1 };
  assert.equal(
    run({ kind: 'addPartitions', ...me, partitions: [p1], transactionVersion: 2 }).errorCode,
    ErrorCode.PRODUCER_FENCED,
  );
  assert.equal(
    run({ kind: 'endTxn', ...next, ...bumpingEnd, committed: true }).errorCode,
    ErrorCode.INVALID_TXN_STATE,
    'no transaction is open at the current epoch',
  );
  run({ kind: 'addPartitions', ...next, partitions: [p1], transactionVersion: 2 });
  const aborted = run({ kind: 'endTxn', ...next, ...bumpingEnd, committed: false });
  assert.deepEqual([aborted.errorCode, aborted.producerEpoch], [ErrorCode.NONE, 2]);
});

test('transaction version 2: an exhausted epoch moves to the fresh producer id', () => {
  const { coordinator, run, init } = setup();
  const first = init();
  const txn = coordinator.transactions.get(transactionalId);
  assert.ok(txn !== undefined);
  // Stand at the last epoch that may be handed out.
  coordinator.replay({ transactionalId, value: { ...txn, producerEpoch: 0x7ffe } });
  const me = { ...producer(first), producerEpoch: 0x7ffe };
  run({ kind: 'addPartitions', ...me, partitions: [p0], transactionVersion: 2 });
  assert.equal(coordinator.endNeedsFreshProducerId(transactionalId), true);
  const refused = run({ kind: 'endTxn', ...me, ...bumpingEnd, committed: true });
  assert.equal(refused.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS, 'no fresh id given');
  const ended = run({
    kind: 'endTxn',
    ...me,
    ...bumpingEnd,
    freshProducerId: 555n,
    committed: true,
  });
  assert.deepEqual([ended.producerId, ended.producerEpoch], [555n, 0]);
  assert.equal(ended.completions[0]?.producerEpoch, 0x7fff, 'markers at the last epoch');
  run({ kind: 'complete', ...me, producerEpoch: 0x7fff });
  const after = coordinator.transactions.get(transactionalId);
  assert.deepEqual(
    [after?.producerId, after?.producerEpoch, after?.previousProducerId],
    [555n, 0, 100n],
  );
  // The retry from the old id at its last epoch is still recognised.
  const retry = run({ kind: 'endTxn', ...me, ...bumpingEnd, committed: true });
  assert.deepEqual([retry.errorCode, retry.producerId, retry.producerEpoch], [0, 555n, 0]);
});

test('transaction version 2: a timeout fences two epochs ahead, so the old EndTxn is no retry', () => {
  const { coordinator, run, init } = setup();
  const me = producer(init(0, 1_000));
  run({ kind: 'addPartitions', ...me, partitions: [p0], transactionVersion: 2 }, 10);
  const expired = run({ kind: 'tick' }, 2_000);
  assert.equal(expired.completions[0]?.producerEpoch, 2);
  run({ kind: 'complete', ...me, producerEpoch: 2 }, 2_001);
  assert.equal(coordinator.transactions.get(transactionalId)?.state, 'CompleteAbort');
  const stale = run({ kind: 'endTxn', ...me, ...bumpingEnd, committed: false }, 2_002);
  assert.equal(stale.errorCode, ErrorCode.PRODUCER_FENCED);
});

test('TxnOffsetCommit v5 adds the group itself and starts the transaction', () => {
  const { coordinator, run, init } = setup();
  const me = producer(init());
  const offset = { topic: 't', partition: 0, offset: 7n, leaderEpoch: -1, metadata: null };
  const held = run({
    kind: 'txnOffsetCommit',
    ...me,
    implicitAdd: true,
    groupId: 'g',
    offsets: [offset],
  });
  assert.equal(held.errorCode, ErrorCode.NONE);
  const txn = coordinator.transactions.get(transactionalId);
  assert.deepEqual([txn?.state, txn?.groupIds, txn?.transactionVersion], ['Ongoing', ['g'], 2]);
  const ended = run({ kind: 'endTxn', ...me, ...bumpingEnd, committed: true });
  assert.deepEqual(ended.completions[0]?.offsets, [{ ...offset, groupId: 'g' }]);
});

test('partition index: aborted transactions below the log start are forgotten', () => {
  let logStart = 0n;
  const index = new PartitionTxnIndex(() => logStart);
  index.begin(1n, 0n);
  index.end(1n, 4n, 'abort');
  index.begin(2n, 5n);
  index.end(2n, 9n, 'abort');
  assert.equal(index.abortedCount, 2);
  logStart = 5n; // retention deleted offsets 0-4, marker 4 included
  assert.deepEqual(index.abortedBetween(0n, 20n), [
    { producerId: 2n, firstOffset: 5n, lastOffset: 9n },
  ]);
  assert.equal(index.abortedCount, 1);
  logStart = 9n; // the marker itself is still there
  assert.equal(index.abortedBetween(9n, 20n).length, 1);
});

test('an idle transactional id expires after transactional.id.expiration.ms', () => {
  const { coordinator, run, init } = setup();
  const me = producer(init(0));
  run({ kind: 'addPartitions', ...me, partitions: [p0] }, 10);
  // An open transaction never expires (it times out and is aborted instead).
  assert.equal(run({ kind: 'tick' }, 5_000).records.length, 0);
  run({ kind: 'endTxn', ...me, ...classicEnd, committed: true }, 6_000);
  run({ kind: 'complete', ...me }, 6_001);
  assert.equal(run({ kind: 'tick' }, 6_001 + 86_399_999).records.length, 0);
  const expired = run({ kind: 'tick' }, 6_001 + 86_400_000);
  assert.deepEqual(expired.records, [{ transactionalId, value: null }]);
  assert.equal(coordinator.transactions.has(transactionalId), false);
  const again = init(100_000_000);
  assert.deepEqual([again.errorCode, again.producerEpoch], [ErrorCode.NONE, 0]);
  assert.notEqual(again.producerId, me.producerId, 'a new producer id');
});
