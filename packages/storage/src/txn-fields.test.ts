/**
 * Transaction flags (BatchMeta.txn) are stored with each batch and come back after a restart,
 * from WAL segments and from object indexes; batches appended without them, and data written
 * before they existed (frame version 1, or version 2 with the bytes still reserved), read back
 * as "not recorded".
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import { FrameType } from './frame.ts';
import { LogStorage, type StorageOptions } from './log-storage.ts';
import type { PartitionLog } from './partition-log.ts';
import { segmentFileName } from './segment-format.ts';
import { fakeBatch, labelOf, metaOf } from './testing/fake-batch.ts';
import { describeRecords, keyedBatch, keyedCompactor } from './testing/keyed-batch.ts';
import { topicIdToBytes, type TopicId, type TxnFields } from './types.ts';

async function withTempDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-txn-'));
  try {
    await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function partitionOf(storage: LogStorage, name: string): PartitionLog {
  const topic = storage.getTopic(name);
  assert.ok(topic !== undefined);
  const log = storage.partition(topic.topicId, 0);
  assert.ok(log !== undefined);
  return log;
}

const data: TxnFields = { transactional: true, control: false, controlType: -1 };
const commit: TxnFields = { transactional: true, control: true, controlType: 1 };
const abort: TxnFields = { transactional: true, control: true, controlType: 0 };
const plain: TxnFields = { transactional: false, control: false, controlType: -1 };
/** A control batch whose type storage cannot keep in its byte: read back as -1. */
const oddControl: TxnFields = { transactional: false, control: true, controlType: 4000 };

async function append(log: PartitionLog, label: string, txn?: TxnFields): Promise<void> {
  const batch = fakeBatch(label, 1);
  const producer = { producerId: 7n, producerEpoch: 0, baseSequence: -1 };
  await log.append(batch, { ...metaOf(batch), producer, ...(txn === undefined ? {} : { txn }) });
}

function flagsOf(log: PartitionLog): (TxnFields | undefined)[] {
  return log.batches.map((entry) => (entry.txn === undefined ? undefined : { ...entry.txn }));
}

/** A frame as version 1 wrote it. */
function frame(type: number, body: Buffer): Buffer {
  const covered = Buffer.concat([Buffer.from([1, type]), body]);
  const prefix = Buffer.alloc(8);
  prefix.writeUInt32BE(covered.length, 0);
  prefix.writeUInt32BE(crc32c(covered) >>> 0, 4);
  return Buffer.concat([prefix, covered]);
}

/** A version-1 WAL segment holding one entry (48-byte entry header, no later fields). */
function segmentV1(segmentId: number, topicId: TopicId, baseOffset: bigint, batch: Buffer) {
  const header = Buffer.alloc(20);
  header.write('TRBW', 0, 'latin1');
  header.writeBigUInt64BE(BigInt(segmentId), 4);
  const entry = Buffer.alloc(48);
  topicIdToBytes(topicId).copy(entry, 0);
  entry.writeBigInt64BE(baseOffset, 20);
  entry.writeInt32BE(1, 40);
  const first = frame(FrameType.segmentHeader, header);
  entry.writeUInt32BE(first.length, 44);
  batch.writeBigInt64BE(baseOffset, 0);
  return Buffer.concat([first, frame(FrameType.walEntry, Buffer.concat([entry, batch]))]);
}

describe('transaction flags in storage', () => {
  it('come back after a restart from objects and from the WAL', () =>
    withTempDir(async (dataDir) => {
      const options: StorageOptions = { dataDir, tailCacheMaxBytes: 0 };
      const first = await LogStorage.open(options);
      await first.createTopic({ name: 't', partitionCount: 1, configs: {} });
      const log = partitionOf(first, 't');
      await append(log, 'a', data);
      await append(log, 'b', abort);
      await append(log, 'c');
      await first.sealActiveSegment();
      await append(log, 'd', data);
      await append(log, 'e', commit);
      await append(log, 'f', plain);
      await append(log, 'g', oddControl);
      const written = flagsOf(log);
      await first.close();

      const expected = [
        data,
        abort,
        undefined,
        data,
        commit,
        plain,
        { ...oddControl, controlType: -1 },
      ];
      const second = await LogStorage.open(options);
      const reopened = partitionOf(second, 't');
      assert.deepEqual(flagsOf(reopened), expected);
      assert.deepEqual(written.slice(0, 6), expected.slice(0, 6));
      await second.sealActiveSegment();
      await second.close();

      // Now every batch comes from an object index.
      const third = await LogStorage.open(options);
      assert.ok(third.stats().objectCount >= 2);
      const again = partitionOf(third, 't');
      assert.deepEqual(flagsOf(again), expected);
      const labels = (await again.read(0n, 1 << 20)).map(labelOf);
      assert.deepEqual(labels, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
      await third.close();
    }));

  it('are "not recorded" for frame version 1 data, in a segment and once sealed', () =>
    withTempDir(async (dataDir) => {
      const first = await LogStorage.open({ dataDir });
      await first.createTopic({ name: 'old', partitionCount: 1, configs: {} });
      const topicId = first.getTopic('old')?.topicId;
      assert.ok(topicId !== undefined);
      await append(partitionOf(first, 'old'), 'new', commit);
      await first.close();
      const walDir = join(dataDir, 'wal');
      const ids = (await readdir(walDir)).map((name) => Number.parseInt(name, 10));
      const nextId = Math.max(...ids) + 1;
      const v1 = segmentV1(nextId, topicId, 1n, fakeBatch('old-format', 1));
      await writeFile(join(walDir, segmentFileName(nextId, '.wal')), v1);

      const second = await LogStorage.open({ dataDir, tailCacheMaxBytes: 0 });
      assert.deepEqual(flagsOf(partitionOf(second, 'old')), [commit, undefined]);
      await second.sealActiveSegment();
      await second.close();

      const third = await LogStorage.open({ dataDir, tailCacheMaxBytes: 0 });
      const log = partitionOf(third, 'old');
      assert.deepEqual(flagsOf(log), [commit, undefined]);
      assert.deepEqual((await log.read(0n, 1 << 20)).map(labelOf), ['new', 'old-format']);
      await third.close();
    }));

  it('are kept by compaction for the batches it rewrites', () =>
    withTempDir(async (dataDir) => {
      const options: StorageOptions = { dataDir, compactor: keyedCompactor };
      const first = await LogStorage.open(options);
      await first.createTopic({
        name: 'c',
        partitionCount: 1,
        configs: { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0' },
      });
      const log = partitionOf(first, 'c');
      for (const [key, txn] of [
        ['a', data],
        ['a', plain],
        ['b', undefined],
      ] as const) {
        const { batch, meta } = keyedBatch([{ key, timestamp: 0n }]);
        await log.append(batch, txn === undefined ? meta : { ...meta, txn });
      }
      await first.sealActiveSegment();
      await first.runRetention();
      assert.deepEqual(describeRecords(await log.read(0n, 1 << 20)), ['a@1', 'b@2']);
      assert.deepEqual(flagsOf(log), [plain, undefined]);
      await first.close();

      const second = await LogStorage.open(options);
      assert.deepEqual(flagsOf(partitionOf(second, 'c')), [plain, undefined]);
      await second.close();
    }));
});
