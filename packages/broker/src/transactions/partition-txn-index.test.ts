/**
 * The transaction index is rebuilt after a restart from storage's batch index: batches stored
 * with their transaction flags (BatchMeta.txn) are not read at all; batches stored without them
 * (data written before storage kept the flags) are read and parsed, as before.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildControlBatch, buildRecordBatch, readBatchHeader } from '@tributary/protocol';
import { LogStorage, type BatchMeta, type PartitionLog } from '@tributary/storage';
import { txnFieldsOf, txnIndexOf } from './partition-txn-index.ts';

async function withStorage(work: (open: () => Promise<LogStorage>) => Promise<void>) {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-txn-index-'));
  try {
    await work(() => LogStorage.open({ dataDir, tailCacheMaxBytes: 0 }));
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

function partitionOf(storage: LogStorage, name: string): PartitionLog {
  const topic = storage.getTopic(name);
  assert.ok(topic !== undefined);
  const log = storage.partition(topic.topicId, 0);
  assert.ok(log !== undefined);
  return log;
}

/** Appends as the produce handler does; `withFlags` false: as storage before the flags. */
async function appendData(
  log: PartitionLog,
  producerId: bigint,
  transactional: boolean,
  withFlags: boolean,
): Promise<bigint> {
  const records = [{ value: Buffer.from('v') }, { value: Buffer.from('w') }];
  const batch = buildRecordBatch({
    records,
    producerId,
    producerEpoch: 0,
    baseSequence: 0,
    isTransactional: transactional,
  });
  const header = readBatchHeader(batch);
  const meta: BatchMeta = {
    lastOffsetDelta: header.lastOffsetDelta,
    maxTimestamp: header.maxTimestamp,
    recordCount: header.recordCount,
    producer: { producerId, producerEpoch: 0, baseSequence: 0 },
  };
  if (withFlags) meta.txn = txnFieldsOf(transactional, false);
  return (await log.append(batch, meta)).baseOffset;
}

/** Appends a marker as the transaction runtime does. */
async function appendMarker(
  log: PartitionLog,
  producerId: bigint,
  type: 'commit' | 'abort',
  withFlags: boolean,
): Promise<bigint> {
  const batch = buildControlBatch({
    producerId,
    producerEpoch: 0,
    baseOffset: 0n,
    timestamp: 0n,
    type,
    coordinatorEpoch: 0,
  });
  const meta: BatchMeta = {
    lastOffsetDelta: 0,
    maxTimestamp: 0n,
    recordCount: 1,
    producer: { producerId, producerEpoch: 0, baseSequence: -1 },
  };
  if (withFlags) meta.txn = txnFieldsOf(true, type);
  return (await log.append(batch, meta)).baseOffset;
}

/** A view of `log` that counts batch reads (the index is keyed by the object it is given). */
function countingReads(log: PartitionLog): { log: PartitionLog; reads: () => number } {
  let reads = 0;
  const view = new Proxy(log, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (property === 'read') {
        return (...args: Parameters<PartitionLog['read']>) => {
          reads += 1;
          return target.read(...args);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { log: view, reads: () => reads };
}

/** Writes one scenario: pid 1 aborted, pid 2 open, pid 3 committed, pid 4 idempotent only. */
async function writeScenario(log: PartitionLog, withFlags: boolean) {
  const abortedFirst = await appendData(log, 1n, true, withFlags);
  const openFirst = await appendData(log, 2n, true, withFlags);
  await appendData(log, 3n, true, withFlags);
  await appendData(log, 4n, false, withFlags);
  await appendData(log, 1n, true, withFlags);
  const abortMarker = await appendMarker(log, 1n, 'abort', withFlags);
  await appendMarker(log, 3n, 'commit', withFlags);
  await appendData(log, 2n, true, withFlags);
  return { abortedFirst, openFirst, abortMarker };
}

describe('transaction index rebuild after a restart', () => {
  for (const withFlags of [true, false]) {
    it(`is right ${withFlags ? 'from the stored flags, reading no batch' : 'from old data'}`, () =>
      withStorage(async (open) => {
        const first = await open();
        await first.createTopic({ name: 't', partitionCount: 1, configs: {} });
        const expected = await writeScenario(partitionOf(first, 't'), withFlags);
        await first.sealActiveSegment();
        // A transaction written after the object: its batches come from the WAL.
        const later = await appendData(partitionOf(first, 't'), 5n, true, withFlags);
        await first.close();

        const second = await open();
        const { log, reads } = countingReads(partitionOf(second, 't'));
        const index = await txnIndexOf(log);
        assert.equal(reads() === 0, withFlags);
        assert.deepEqual(
          [...index.openTransactions],
          [
            [2n, expected.openFirst],
            [5n, later],
          ],
        );
        assert.deepEqual(index.abortedBetween(0n, log.highWatermark), [
          { producerId: 1n, firstOffset: expected.abortedFirst, lastOffset: expected.abortMarker },
        ]);
        assert.equal(index.lastStableOffset(log.highWatermark), expected.openFirst);
        await second.close();
      }));
  }

  it('reads only the batches stored without flags when old and new data mix', () =>
    withStorage(async (open) => {
      const first = await open();
      await first.createTopic({ name: 't', partitionCount: 1, configs: {} });
      const old = partitionOf(first, 't');
      const abortedFirst = await appendData(old, 1n, true, false);
      const openFirst = await appendData(old, 2n, true, true);
      const abortMarker = await appendMarker(old, 1n, 'abort', true);
      await first.close();

      const second = await open();
      const { log, reads } = countingReads(partitionOf(second, 't'));
      const index = await txnIndexOf(log);
      assert.equal(reads(), 1);
      assert.deepEqual([...index.openTransactions], [[2n, openFirst]]);
      assert.deepEqual(index.abortedBetween(0n, log.highWatermark), [
        { producerId: 1n, firstOffset: abortedFirst, lastOffset: abortMarker },
      ]);
      await second.close();
    }));
});
