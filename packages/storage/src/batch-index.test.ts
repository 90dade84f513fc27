/**
 * The bounded batch index (ADR 0017): a storage whose index budget holds one chunk of four
 * batches spills nearly all of its index to the file in the data directory, and must answer
 * every question exactly as one that keeps the whole index in memory, before and after a
 * restart, through retention, DeleteRecords and compaction.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchIndexEntryBytes } from './batch-index.ts';
import { LogStorage, type StorageOptions } from './log-storage.ts';
import { IndexedPartitionLog, type PartitionLog } from './partition-log.ts';
import type { WalEntryInfo } from './segment-format.ts';
import { StorageError } from './storage-error.ts';
import { TailCache } from './tail-cache.ts';
import { fakeBatch, labelOf, metaOf } from './testing/fake-batch.ts';
import { describeRecords, keyedBatch, keyedCompactor } from './testing/keyed-batch.ts';
import { requirePartition, withTempDir } from './testing/storage-fixtures.ts';

const chunkEntries = 4;
const tight = { indexChunkEntries: chunkEntries, indexMemoryMaxBytes: 4 * batchIndexEntryBytes };

/** Everything the index answers, for every offset and a spread of timestamps. */
async function answers(log: PartitionLog): Promise<unknown> {
  const reads: string[][] = [];
  for (let offset = log.logStartOffset; offset < log.highWatermark; offset++) {
    reads.push((await log.read(offset, 40)).map(labelOf));
  }
  const byTime: (string | undefined)[] = [];
  for (let t = 0n; t < 140n; t += 7n) {
    const batch = await log.batchForTimestamp(t);
    byTime.push(batch === undefined ? undefined : labelOf(batch));
  }
  const batches = [...log.entries()].map((entry) => [
    entry.baseOffset,
    entry.lastOffset,
    entry.maxTimestamp,
    entry.producerId,
    entry.producerEpoch,
    entry.baseSequence,
    entry.txn,
  ]);
  return {
    start: log.logStartOffset,
    end: log.highWatermark,
    reads,
    byTime,
    max: log.maxTimestampBatch(),
    batches,
  };
}

async function fill(log: PartitionLog, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const batch = fakeBatch(`b${i}`, 1 + (i % 3));
    // Timestamps go up and down, so the largest is not the last batch.
    const timestamp = BigInt((i * 37) % 101);
    const meta = {
      ...metaOf(batch, timestamp),
      producer: { producerId: BigInt(i % 5), producerEpoch: i % 2, baseSequence: i },
      ...(i % 4 === 0
        ? { txn: { transactional: true, control: i % 8 === 0, controlType: 1 } }
        : {}),
    };
    await log.append(batch, meta);
  }
}

async function scenario(dataDir: string, options: Partial<StorageOptions>): Promise<unknown[]> {
  const open = (): Promise<LogStorage> =>
    LogStorage.open({ dataDir, walSegmentMaxBytes: 600, tailCacheMaxBytes: 0, ...options });
  const seen: unknown[] = [];
  let storage = await open();
  await storage.createTopic({ name: 't', partitionCount: 1 });
  await fill(requirePartition(storage, 't'), 90);
  await storage.sealActiveSegment();
  seen.push(await answers(requirePartition(storage, 't')));
  seen.push(storage.stats().index?.spilledChunks ?? 0);
  await requirePartition(storage, 't').deleteRecordsBefore(23n);
  seen.push(await answers(requirePartition(storage, 't')));
  await storage.alterTopicConfigs('t', { 'retention.bytes': '900' });
  await storage.runRetention();
  seen.push(await answers(requirePartition(storage, 't')));
  await storage.close();
  storage = await open();
  seen.push(await answers(requirePartition(storage, 't')));
  await fill(requirePartition(storage, 't'), 20);
  seen.push(await answers(requirePartition(storage, 't')));
  await storage.close();
  return seen;
}

/**
 * A compacted topic `c` holding 60 sealed one-record batches over 6 keys, not yet compacted;
 * `later` moves the storage's clock on so that the next retention pass compacts.
 */
async function filledCompactedTopic(dataDir: string, options: Partial<StorageOptions>) {
  let now = 1_000_000;
  const storage = await LogStorage.open({
    dataDir,
    compactor: keyedCompactor,
    walSegmentMaxBytes: 300,
    tailCacheMaxBytes: 0,
    now: () => now,
    ...options,
  });
  await storage.createTopic({
    name: 'c',
    partitionCount: 1,
    configs: { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.01' },
  });
  const log = requirePartition(storage, 'c');
  for (let i = 0; i < 60; i++) {
    const { batch, meta } = keyedBatch([{ key: `k${i % 6}`, timestamp: BigInt(i) }]);
    await log.append(batch, meta);
  }
  await storage.sealActiveSegment();
  const later = (ms: number): void => {
    now += ms;
  };
  return { storage, log, later };
}

async function compactRun(dataDir: string, options: Partial<StorageOptions>) {
  const { storage, log, later } = await filledCompactedTopic(dataDir, options);
  later(10_000);
  await storage.runRetention();
  const records = describeRecords(await log.read(0n, 1 << 20));
  const stats = storage.stats().index;
  const offsets = [...log.entries()].map((entry) => entry.baseOffset);
  await storage.close();
  return { records, offsets, stats };
}

describe('bounded batch index', () => {
  it('answers as an index held in memory while spilling almost all of it', async () => {
    const bounded = await withTempDir((dir) => scenario(dir, tight));
    const unbounded = await withTempDir((dir) => scenario(dir, {}));
    const spilled = bounded.splice(1, 1)[0] as number;
    unbounded.splice(1, 1);
    assert.ok(spilled > 5, `only ${spilled} chunks were spilled`);
    assert.deepEqual(bounded, unbounded);
  });

  it('compacts a spilled index and reads the compacted batches back', async () => {
    const bounded = await withTempDir((dir) => compactRun(dir, tight));
    const unbounded = await withTempDir((dir) => compactRun(dir, {}));
    assert.ok((bounded.stats?.spilledChunks ?? 0) > 0 || (bounded.stats?.loads ?? 0) > 0);
    assert.ok(bounded.records.length < 60, 'nothing was compacted');
    assert.deepEqual(bounded.records, unbounded.records);
    assert.deepEqual(bounded.offsets, unbounded.offsets);
  });

  it('restarts a compacted partition to the same index, whatever order its objects load in', () =>
    withTempDir(async (dir) => {
      const first = await compactRun(dir, tight);
      const storage = await LogStorage.open({ dataDir: dir, tailCacheMaxBytes: 0, ...tight });
      const log = requirePartition(storage, 'c');
      const offsets = [...log.entries()].map((entry) => entry.baseOffset);
      const records = describeRecords(await log.read(0n, 1 << 20));
      await storage.close();
      assert.deepEqual(offsets, first.offsets);
      assert.deepEqual(records, first.records);
    }));

  it('merges a source that belongs before what a partition holds, and refuses overlaps', () => {
    const log = bareLog();
    log.restoreRun([walEntry(10n, 4), walEntry(15n, 0)]);
    log.restoreRun([walEntry(0n, 2), walEntry(5n, 3)]);
    log.restoreRun([walEntry(3n, 1), walEntry(20n, 2)]);
    const ranges = [...log.entries()].map((entry) => [entry.baseOffset, entry.lastOffset]);
    assert.deepEqual(ranges, [
      [0n, 2n],
      [3n, 4n],
      [5n, 8n],
      [10n, 14n],
      [15n, 15n],
      [20n, 22n],
    ]);
    assert.equal(log.highWatermark, 23n);
    assert.equal(log.maxTimestampBatch()?.baseOffset, 20n);
    assert.throws(
      () => log.restoreRun([walEntry(12n, 0)]),
      (error: unknown) => error instanceof StorageError && error.code === 'CORRUPT_DATA',
    );
  });

  it('walks entries across a compaction that swaps the index mid-walk', () =>
    withTempDir(async (dir) => {
      const { storage, log, later } = await filledCompactedTopic(dir, tight);
      const walk = log.entries();
      const seen = [walk.next().value?.baseOffset, walk.next().value?.baseOffset];
      later(10_000);
      await storage.runRetention();
      for (const entry of walk) seen.push(entry.baseOffset);
      const after = [...log.entries()].map((entry) => entry.baseOffset);
      await storage.close();
      assert.ok(after.length < 60, 'nothing was compacted');
      // The first two came before the swap; the rest follow the compacted log from there on.
      assert.deepEqual(seen, [0n, 1n, ...after.filter((offset) => offset > 1n)]);
    }));
});

/** A partition log with no storage behind it: for restoring index entries directly. */
function bareLog(): IndexedPartitionLog {
  return new IndexedPartitionLog('t' as WalEntryInfo['topicId'], 0, 0n, {
    wal: { append: () => Promise.reject(new Error('not used')) },
    tailCache: new TailCache(0),
    readBatches: () => Promise.reject(new Error('not used')),
    persistLogStart: () => Promise.resolve(),
    checkOpen: () => undefined,
  });
}

function walEntry(baseOffset: bigint, lastOffsetDelta: number): WalEntryInfo {
  return {
    topicId: 't' as WalEntryInfo['topicId'],
    partition: 0,
    baseOffset,
    lastOffsetDelta,
    maxTimestamp: baseOffset * 10n,
    recordCount: lastOffsetDelta + 1,
    producerId: -1n,
    producerEpoch: -1,
    baseSequence: -1,
    txn: undefined,
    entryVersion: 2,
    segmentId: 1,
    position: 0,
    sizeBytes: 100,
  };
}
