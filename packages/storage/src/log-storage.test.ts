import assert from 'node:assert/strict';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LogStorage, type StorageOptions } from './log-storage.ts';
import { MemoryMetadataStore } from './memory-metadata-store.ts';
import { MemoryObjectStore } from './memory-object-store.ts';
import { MemorySegmentFiles } from './memory-segment-files.ts';
import { MemoryWriteAheadLog } from './memory-write-ahead-log.ts';
import type { PartitionLog } from './partition-log.ts';
import { StorageError } from './storage-error.ts';
import { fakeBatch, labelOf, metaOf } from './testing/fake-batch.ts';
import { requirePartition, withTempDir } from './testing/storage-fixtures.ts';

async function produce(log: PartitionLog, label: string, records = 1, timestamp = 0n) {
  const batch = fakeBatch(label, records);
  return (await log.append(batch, metaOf(batch, timestamp))).baseOffset;
}

async function labels(log: PartitionLog, from: bigint, maxBytes = 1 << 20): Promise<string[]> {
  return (await log.read(from, maxBytes)).map(labelOf);
}

const isCode = (code: string) => (error: unknown) =>
  error instanceof StorageError && error.code === code;

describe('LogStorage topics', () => {
  it('creates, finds, alters, grows and deletes topics', async () => {
    const storage = await LogStorage.open({ inMemory: true });
    assert.match(storage.clusterId, /^[A-Za-z0-9_-]{22}$/);
    const topic = await storage.createTopic({
      name: 'orders',
      partitionCount: 2,
      configs: { 'retention.ms': '1000' },
    });
    assert.match(topic.topicId, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(storage.getTopicById(topic.topicId)?.name, 'orders');
    assert.deepEqual(
      storage.listTopics().map((t) => t.name),
      ['orders'],
    );
    await assert.rejects(
      storage.createTopic({ name: 'orders', partitionCount: 1 }),
      isCode('TOPIC_EXISTS'),
    );
    await assert.rejects(
      storage.createTopic({ name: 'bad', partitionCount: 0 }),
      isCode('INVALID_PARTITIONS'),
    );
    await assert.rejects(
      storage.createTopic({ name: 'bad', partitionCount: 1, configs: { 'retention.ms': 'x' } }),
      isCode('INVALID_CONFIG'),
    );
    const altered = await storage.alterTopicConfigs('orders', {
      'retention.ms': null,
      'cleanup.policy': 'compact',
    });
    assert.deepEqual(altered.configs, { 'cleanup.policy': 'compact' });
    await assert.rejects(storage.createPartitions('orders', 2), isCode('INVALID_PARTITIONS'));
    await storage.createPartitions('orders', 4);
    assert.equal(storage.getTopic('orders')?.partitionCount, 4);
    assert.ok(storage.partition(topic.topicId, 3) !== undefined);
    const log = requirePartition(storage, 'orders', 0);
    await storage.deleteTopic('orders');
    assert.equal(storage.partition(topic.topicId, 0), undefined);
    assert.equal(storage.getTopic('orders'), undefined);
    await assert.rejects(produce(log, 'late'), isCode('UNKNOWN_TOPIC'));
    await assert.rejects(storage.deleteTopic('orders'), isCode('UNKNOWN_TOPIC'));
    await storage.close();
    await assert.rejects(storage.createTopic({ name: 'x', partitionCount: 1 }), isCode('CLOSED'));
  });
});

describe('LogStorage partition log', () => {
  it('assigns offsets, rewrites base offsets and reads whole batches', async () => {
    const storage = await LogStorage.open({ inMemory: true });
    await storage.createTopic({ name: 't', partitionCount: 1 });
    const log = requirePartition(storage, 't');
    const batch = fakeBatch('a', 3);
    const results = await Promise.all([
      log.append(batch, metaOf(batch)),
      produce(log, 'b', 2),
      produce(log, 'c', 1),
    ]);
    assert.equal(results[0].baseOffset, 0n);
    assert.equal(batch.readBigInt64BE(0), 0n);
    assert.deepEqual(results.slice(1), [3n, 5n]);
    assert.equal(log.highWatermark, 6n);
    assert.equal(log.logEndOffset, 6n);
    assert.deepEqual(await labels(log, 0n), ['a', 'b', 'c']);
    assert.deepEqual(await labels(log, 4n), ['b', 'c'], 'the batch holding offset 4');
    assert.deepEqual(await labels(log, 6n), []);
    assert.deepEqual(await labels(log, 0n, 1), ['a'], 'at least one batch (KIP-74)');
    assert.deepEqual(await labels(log, 0n, 30), ['a', 'b'], 'whole batches within maxBytes');
    assert.deepEqual(
      (await log.read(0n, 1 << 20, 3n)).map(labelOf),
      ['a'],
      'maxOffset bounds the read',
    );
    assert.equal((await log.read(3n, 100))[0]?.readBigInt64BE(0), 3n);
    await assert.rejects(log.read(7n, 100), isCode('OFFSET_OUT_OF_RANGE'));
    await storage.close();
  });

  it('wakes high watermark listeners and answers timestamp queries', async () => {
    const storage = await LogStorage.open({ inMemory: true });
    await storage.createTopic({ name: 't', partitionCount: 1 });
    const log = requirePartition(storage, 't');
    let wakes = 0;
    const unsubscribe = log.onHighWatermark(() => wakes++);
    await produce(log, 'early', 1, 100n);
    await produce(log, 'latest', 2, 300n);
    await produce(log, 'middle', 1, 200n);
    unsubscribe();
    await produce(log, 'quiet', 1, 150n);
    assert.equal(wakes, 3);
    assert.equal(labelOf((await log.batchForTimestamp(150n)) ?? Buffer.alloc(12)), 'latest');
    assert.equal(labelOf((await log.batchForTimestamp(50n)) ?? Buffer.alloc(12)), 'early');
    assert.equal(await log.batchForTimestamp(301n), undefined);
    assert.deepEqual(log.maxTimestampBatch(), { offset: 2n, timestamp: 300n, baseOffset: 1n });
    await storage.close();
  });

  it('deletes records before an offset', async () => {
    const storage = await LogStorage.open({ inMemory: true });
    await storage.createTopic({ name: 't', partitionCount: 1 });
    const log = requirePartition(storage, 't');
    for (let i = 0; i < 5; i++) await produce(log, `m${i}`, 2);
    assert.equal(await log.deleteRecordsBefore(5n), 5n);
    assert.equal(log.logStartOffset, 5n);
    assert.deepEqual(await labels(log, 5n), ['m2', 'm3', 'm4'], 'the batch holding 5 stays');
    await assert.rejects(log.read(3n, 100), isCode('OFFSET_OUT_OF_RANGE'));
    await assert.rejects(log.deleteRecordsBefore(11n), isCode('OFFSET_OUT_OF_RANGE'));
    assert.equal(await log.deleteRecordsBefore(2n), 5n);
    assert.equal(await log.deleteRecordsBefore(10n), 10n);
    assert.deepEqual(await labels(log, 10n), []);
    assert.equal(await produce(log, 'next'), 10n);
    await storage.close();
  });
});

describe('LogStorage on disk', () => {
  it('survives a restart: identity, topics, data at its offsets, log start, next offset', () =>
    withTempDir(async (dataDir) => {
      const options: StorageOptions = { dataDir, walSegmentMaxBytes: 600, tailCacheMaxBytes: 0 };
      const first = await LogStorage.open(options);
      await first.createTopic({ name: 'a', partitionCount: 2, configs: { 'retention.ms': '-1' } });
      const a0 = requirePartition(first, 'a', 0);
      const a1 = requirePartition(first, 'a', 1);
      for (let i = 0; i < 30; i++) {
        await Promise.all([produce(a0, `x${i}`, 2), produce(a1, `y${i}`)]);
      }
      await first.sealActiveSegment();
      assert.ok(first.stats().objectCount >= 3);
      assert.deepEqual((await labels(a0, 10n)).slice(0, 2), ['x5', 'x6'], 'reads from objects');
      await a1.deleteRecordsBefore(4n);
      await produce(a0, 'tail', 1);
      const clusterId = first.clusterId;
      await first.close();

      const second = await LogStorage.open(options);
      assert.equal(second.clusterId, clusterId);
      assert.equal(second.getTopic('a')?.configs['retention.ms'], '-1');
      const b0 = requirePartition(second, 'a', 0);
      const b1 = requirePartition(second, 'a', 1);
      assert.equal(b0.highWatermark, 61n);
      assert.equal(b1.logStartOffset, 4n);
      const all = await labels(b0, 0n);
      assert.equal(all.length, 31);
      assert.equal(all[30], 'tail');
      assert.deepEqual(await labels(b1, 4n, 1), ['y4']);
      assert.equal(await produce(b0, 'after'), 61n);
      await second.close();
    }));

  it('restarts after DeleteRecords cut inside a batch, which stays whole', () =>
    withTempDir(async (dataDir) => {
      const options: StorageOptions = { dataDir };
      const first = await LogStorage.open(options);
      await first.createTopic({ name: 'cut', partitionCount: 1 });
      await produce(requirePartition(first, 'cut'), 'five', 5);
      await produce(requirePartition(first, 'cut'), 'after', 2);
      assert.equal(await requirePartition(first, 'cut').deleteRecordsBefore(2n), 2n);
      await first.close();

      const second = await LogStorage.open(options);
      const log = requirePartition(second, 'cut');
      assert.equal(log.logStartOffset, 2n);
      assert.equal(log.highWatermark, 7n);
      assert.deepEqual(await labels(log, 2n), ['five', 'after'], 'the cut batch is read whole');
      assert.equal(await produce(log, 'next'), 7n);
      await second.close();
    }));

  it('keeps the data directory bounded under steady produce with retention', () =>
    withTempDir(async (dataDir) => {
      const storage = await LogStorage.open({
        dataDir,
        walSegmentMaxBytes: 8 * 1024,
        retentionCheckIntervalMs: 5,
        tailCacheMaxBytes: 16 * 1024,
      });
      await storage.createTopic({
        name: 'busy',
        partitionCount: 2,
        configs: { 'retention.bytes': '16384' },
      });
      await storage.createTopic({
        name: 'short',
        partitionCount: 1,
        configs: { 'retention.ms': '0' },
      });
      const logs = [
        requirePartition(storage, 'busy', 0),
        requirePartition(storage, 'busy', 1),
        requirePartition(storage, 'short', 0),
      ];
      let maxObjectBytes = 0;
      for (let round = 0; round < 60; round++) {
        await Promise.all(
          logs.map(async (log) => {
            const batch = fakeBatch(`r${round}`, 4, 900);
            await log.append(batch, metaOf(batch, BigInt(Date.now() - 10)));
          }),
        );
        if (round % 10 === 9) {
          await storage.runRetention();
          maxObjectBytes = Math.max(maxObjectBytes, await directoryBytes(join(dataDir, 'objects')));
        }
      }
      await storage.sealActiveSegment();
      await storage.runRetention();
      const objectsBytes = await directoryBytes(join(dataDir, 'objects'));
      // Each busy partition keeps <= 16 KiB of batches, but objects are shared: allow slack.
      assert.ok(objectsBytes < 80 * 1024, `objects use ${objectsBytes} bytes`);
      assert.ok(maxObjectBytes < 120 * 1024, `objects peaked at ${maxObjectBytes} bytes`);
      const busy = logs[0];
      assert.ok(busy !== undefined && busy.logStartOffset > 0n);
      assert.equal(logs[2]?.logStartOffset, logs[2]?.highWatermark, 'retention.ms=0 empties');
      assert.ok((await readdir(join(dataDir, 'wal'))).length <= 2);
      assert.ok(storage.stats().tailCacheBytes <= 16 * 1024, 'the tail cache stays bounded');
      await storage.close();
    }));

  it('rolls the WAL by age with the injected clock', async () => {
    let now = 0;
    const storage = await LogStorage.open({
      inMemory: true,
      walSegmentMaxAgeMs: 20,
      now: () => now,
    });
    await storage.createTopic({ name: 't', partitionCount: 1 });
    await produce(requirePartition(storage, 't'), 'aged');
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(storage.stats().objectCount, 0, 'not old yet by the injected clock');
    now += 25;
    for (let i = 0; i < 50 && storage.stats().objectCount === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(storage.stats().objectCount, 1);
    assert.deepEqual(await labels(requirePartition(storage, 't'), 0n), ['aged']);
    await storage.close();
  });

  it('settles every pending append on close, and keeps the acknowledged ones', () =>
    withTempDir(async (dataDir) => {
      const storage = await LogStorage.open({ dataDir });
      await storage.createTopic({ name: 't', partitionCount: 1 });
      const log = requirePartition(storage, 't');
      const appends = Array.from({ length: 100 }, (_, i) => produce(log, `z${i}`));
      await storage.close();
      const results = await Promise.allSettled(appends);
      const acked = results.flatMap((r, i) => (r.status === 'fulfilled' ? [[i, r.value]] : []));
      for (const r of results) {
        if (r.status === 'rejected') assert.equal((r.reason as StorageError).code, 'CLOSED');
      }
      const reopened = await LogStorage.open({ dataDir });
      const batches = await requirePartition(reopened, 't').read(0n, 1 << 20);
      for (const [i, offset] of acked) {
        assert.equal(labelOf(batches[Number(offset)] ?? Buffer.alloc(12)), `z${i}`);
      }
      await reopened.close();
    }));

  it('reads batches stored back to back with one read each, and checks every frame', () =>
    withTempDir(async (dataDir) => {
      const options: StorageOptions = { dataDir, walSegmentMaxBytes: 4000, tailCacheMaxBytes: 0 };
      const storage = await LogStorage.open(options);
      await storage.createTopic({ name: 't', partitionCount: 1 });
      const log = requirePartition(storage, 't');
      for (let i = 0; i < 60; i++) await produce(log, `r${i}`, 1);
      const expected = Array.from({ length: 60 }, (_, i) => `r${i}`);
      assert.deepEqual(await labels(log, 0n), expected, 'from WAL segments');
      await storage.sealActiveSegment();
      assert.ok(storage.stats().objectCount >= 2, 'the reads cross segment boundaries');
      assert.deepEqual(await labels(log, 0n), expected, 'from objects');
      assert.deepEqual(await labels(log, 25n, 10), ['r25'], 'at least one batch');
      await storage.close();
      const [object] = (await readdir(join(dataDir, 'objects'))).toSorted();
      assert.ok(object !== undefined);
      const handle = await open(join(dataDir, 'objects', object), 'r+');
      // Inside the third entry (after a 30-byte header, entries of 74 + 14 bytes): the other
      // batches of the run are fine, that frame is not.
      await handle.write(Buffer.from([0xee]), 0, 1, 30 + 2 * 88 + 20);
      await handle.close();
      const reopened = await LogStorage.open(options);
      const again = requirePartition(reopened, 't');
      await assert.rejects(again.read(0n, 1 << 20), isCode('CORRUPT_DATA'));
      assert.deepEqual(await labels(again, 3n), expected.slice(3), 'past the bad frame');
      await reopened.close();
    }));

  it('checks the frames of a large read on the frame check thread, damage included', () =>
    withTempDir(async (dataDir) => {
      const options: StorageOptions = { dataDir, tailCacheMaxBytes: 0 };
      const storage = await LogStorage.open(options);
      await storage.createTopic({ name: 't', partitionCount: 1 });
      const log = requirePartition(storage, 't');
      const names = Array.from({ length: 40 }, (_, i) => `b${String(i).padStart(3, '0')}`);
      for (const name of names) {
        const batch = fakeBatch(name, 1, 16_000);
        await log.append(batch, metaOf(batch));
      }
      await storage.sealActiveSegment();
      const read = await log.read(0n, 4 << 20);
      assert.deepEqual(read.map(labelOf), names);
      assert.ok(read[0]?.buffer instanceof SharedArrayBuffer, 'read into shared memory');
      await storage.close();
      const [object] = await readdir(join(dataDir, 'objects'));
      assert.ok(object !== undefined);
      const path = join(dataDir, 'objects', object);
      const handle = await open(path, 'r+');
      const bytes = await handle.readFile();
      // A byte of b009's padding: its frame's crc no longer matches, the others still do.
      await handle.write(Buffer.from('!'), 0, 1, bytes.indexOf('b009.') + 100);
      await handle.close();
      const reopened = await LogStorage.open(options);
      const again = requirePartition(reopened, 't');
      await assert.rejects(again.read(0n, 4 << 20), (error: unknown) => {
        assert.ok(error instanceof StorageError && error.code === 'CORRUPT_DATA');
        assert.match(error.message, /offsets 9\.\.9 of t-0 in object .* fails its checksum/);
        return true;
      });
      assert.equal(reopened.stats().corruptBatchReads, 1);
      assert.deepEqual((await again.read(10n, 4 << 20)).map(labelOf), names.slice(10));
      await reopened.close();
    }));

  it('refuses to open over corruption inside acknowledged WAL data', () =>
    withTempDir(async (dataDir) => {
      const first = await LogStorage.open({ dataDir });
      await first.createTopic({ name: 't', partitionCount: 1 });
      const log = requirePartition(first, 't');
      for (let i = 0; i < 10; i++) await produce(log, `k${i}`);
      await first.close();
      // The oldest segment: the WAL also keeps its next segment ready (header only).
      const [segment] = (await readdir(join(dataDir, 'wal'))).toSorted();
      assert.ok(segment !== undefined);
      const handle = await open(join(dataDir, 'wal', segment), 'r+');
      await handle.write(Buffer.from([0xee]), 0, 1, 60);
      await handle.close();
      await assert.rejects(LogStorage.open({ dataDir }), isCode('CORRUPT_DATA'));
    }));

  it('collects the objects of a deleted topic', () =>
    withTempDir(async (dataDir) => {
      const storage = await LogStorage.open({ dataDir, walSegmentMaxBytes: 1024 });
      await storage.createTopic({ name: 'gone', partitionCount: 1 });
      const log = requirePartition(storage, 'gone');
      for (let i = 0; i < 20; i++) await produce(log, `g${i}`, 1);
      await storage.sealActiveSegment();
      assert.ok(storage.stats().objectCount > 0);
      await storage.deleteTopic('gone');
      await storage.runRetention();
      assert.equal(storage.stats().objectCount, 0);
      assert.deepEqual(await readdir(join(dataDir, 'objects')), []);
      await storage.close();
    }));

  it('applies retention.ms against batch max timestamps with the injected clock', async () => {
    let now = 1_000_000;
    const storage = await LogStorage.open({ inMemory: true, now: () => now });
    await storage.createTopic({ name: 't', partitionCount: 1, configs: { 'retention.ms': '500' } });
    const log = requirePartition(storage, 't');
    await produce(log, 'old', 1, 999_000n);
    await produce(log, 'new', 1, 999_900n);
    await storage.runRetention();
    assert.equal(log.logStartOffset, 1n);
    now += 1000;
    await storage.runRetention();
    assert.equal(log.logStartOffset, 2n);
    await storage.close();
  });
});

function components() {
  const segments = new MemorySegmentFiles();
  const store = new MemoryObjectStore();
  const metadata = new MemoryMetadataStore();
  const options = (): StorageOptions => ({
    inMemory: true,
    walSegmentMaxBytes: 400,
    tailCacheMaxBytes: 0,
    writeAheadLog: new MemoryWriteAheadLog({ segmentMaxBytes: 400 }, segments),
    objectStore: store,
    metadataStore: metadata,
  });
  return { segments, store, metadata, options };
}

describe('LogStorage crash windows (memory components, no close)', () => {
  it('recovers when the hand-off to the object store failed after the metadata commit', async () => {
    const { store, options } = components();
    const storage = await LogStorage.open(options());
    await storage.createTopic({ name: 't', partitionCount: 1 });
    const log = requirePartition(storage, 't');
    const put = store.put.bind(store);
    store.put = () => Promise.reject(new Error('injected put failure'));
    for (let i = 0; i < 30; i++) await produce(log, `c${i}`);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(storage.stats().pendingSegments > 0, 'the hand-off is stuck');
    store.put = put;
    // "Crash": abandon the instance and reopen over the same durable state.
    const reopened = await LogStorage.open(options());
    const again = requirePartition(reopened, 't');
    assert.equal(again.highWatermark, 30n);
    assert.deepEqual(
      await labels(again, 0n),
      Array.from({ length: 30 }, (_, i) => `c${i}`),
    );
    await reopened.sealActiveSegment();
    assert.ok(reopened.stats().objectCount > 0);
    await reopened.close();
    await storage.close().catch(() => undefined);
  });

  it('recovers when the metadata commit failed after the trailer was written', async () => {
    const { metadata, options } = components();
    const storage = await LogStorage.open(options());
    await storage.createTopic({ name: 't', partitionCount: 1 });
    const log = requirePartition(storage, 't');
    const addObject = metadata.addObject.bind(metadata);
    metadata.addObject = () => Promise.reject(new Error('injected commit failure'));
    for (let i = 0; i < 30; i++) await produce(log, `d${i}`);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(storage.stats().pendingSegments > 0, 'the metadata commit is stuck');
    assert.equal(storage.stats().objectCount, 0);
    metadata.addObject = addObject;
    const reopened = await LogStorage.open(options());
    const again = requirePartition(reopened, 't');
    assert.deepEqual(
      await labels(again, 0n),
      Array.from({ length: 30 }, (_, i) => `d${i}`),
    );
    assert.equal(await produce(again, 'next'), 30n);
    await reopened.sealActiveSegment();
    assert.deepEqual((await labels(again, 28n)).length, 3);
    await reopened.close();
    await storage.close().catch(() => undefined);
  });
});

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}
