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

function setup() {
  const coordinator = new TransactionCoordinator({ maxTimeoutMs: 900_000 });
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
  const ended = run({ kind: 'endTxn', ...me, committed: true }, 6);
  assert.equal(ended.errorCode, ErrorCode.NONE);
  assert.equal(ended.awaitCompletion, true);
  assert.deepEqual(ended.completions, [
    { ...me, result: 'commit', partitions: [p0, p1], offsets: [] },
  ]);
  assert.equal(coordinator.transactions.get(transactionalId)?.state, 'PrepareCommit');
  // While completing: the same EndTxn waits, anything else is CONCURRENT_TRANSACTIONS.
  const retry = run({ kind: 'endTxn', ...me, committed: true }, 7);
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
  const late = run({ kind: 'endTxn', ...me, committed: true }, 9);
  assert.deepEqual([late.errorCode, late.records.length], [ErrorCode.NONE, 0]);
  const wrong = run({ kind: 'endTxn', ...me, committed: false }, 9);
  assert.equal(wrong.errorCode, ErrorCode.INVALID_TXN_STATE);
});

test('offsets are held until commit and dropped on abort', () => {
  const { run, init } = setup();
  const me = producer(init());
  const offset = { topic: 'in', partition: 0, offset: 42n, leaderEpoch: -1, metadata: null };
  const early = run({ kind: 'txnOffsetCommit', ...me, groupId: 'g', offsets: [offset] });
  assert.equal(early.errorCode, ErrorCode.INVALID_TXN_STATE, 'AddOffsetsToTxn comes first');
  assert.equal(run({ kind: 'addOffsets', ...me, groupId: 'g' }).errorCode, ErrorCode.NONE);
  run({ kind: 'txnOffsetCommit', ...me, groupId: 'g', offsets: [offset] });
  run({ kind: 'txnOffsetCommit', ...me, groupId: 'g', offsets: [{ ...offset, offset: 43n }] });
  const commit = run({ kind: 'endTxn', ...me, committed: true });
  assert.deepEqual(commit.completions[0]?.offsets, [{ ...offset, offset: 43n, groupId: 'g' }]);
  run({ kind: 'complete', ...me });
  run({ kind: 'addOffsets', ...me, groupId: 'g' });
  run({ kind: 'txnOffsetCommit', ...me, groupId: 'g', offsets: [offset] });
  const abort = run({ kind: 'endTxn', ...me, committed: false });
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
  const stale = run({ kind: 'endTxn', ...old, committed: true });
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
    run({ kind: 'endTxn', ...me, committed: true }).errorCode,
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
  records.push(...run({ kind: 'endTxn', ...me, committed: true }).records);
  const replayed = new TransactionCoordinator({ maxTimeoutMs: 900_000 });
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
