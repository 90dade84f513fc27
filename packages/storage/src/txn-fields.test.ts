/**
 * Transaction flags (BatchMeta.txn) are stored with each batch and come back after a restart,
 * from WAL segments and from object indexes; batches appended without them, and data written
 * before they existed (frame version 1, or version 2 with the bytes still reserved), read back
 * as "not recorded".
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LogStorage, type StorageOptions } from './log-storage.ts';
import type { PartitionLog } from './partition-log.ts';
import { segmentFileName } from './segment-format.ts';
import { fakeBatch, labelOf, metaOf } from './testing/fake-batch.ts';
import { describeRecords, keyedBatch, keyedCompactor } from './testing/keyed-batch.ts';
import { requirePartition, segmentV1, withTempDir } from './testing/storage-fixtures.ts';
import type { TxnFields } from './types.ts';

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
  return [...log.entries()].map((entry) =>
    entry.txn === undefined ? undefined : { ...entry.txn },
  );
}

describe('transaction flags in storage', () => {
  it('come back after a restart from objects and from the WAL', () =>
    withTempDir(async (dataDir) => {
      const options: StorageOptions = { dataDir, tailCacheMaxBytes: 0 };
      const first = await LogStorage.open(options);
      await first.createTopic({ name: 't', partitionCount: 1, configs: {} });
      const log = requirePartition(first, 't');
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
      const reopened = requirePartition(second, 't');
      assert.deepEqual(flagsOf(reopened), expected);
      assert.deepEqual(written.slice(0, 6), expected.slice(0, 6));
      await second.sealActiveSegment();
      await second.close();

      // Now every batch comes from an object index.
      const third = await LogStorage.open(options);
      assert.ok(third.stats().objectCount >= 2);
      const again = requirePartition(third, 't');
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
      await append(requirePartition(first, 'old'), 'new', commit);
      await first.close();
      const walDir = join(dataDir, 'wal');
      const ids = (await readdir(walDir)).map((name) => Number.parseInt(name, 10));
      const nextId = Math.max(...ids) + 1;
      const v1 = segmentV1(nextId, topicId, 1n, fakeBatch('old-format', 1));
      await writeFile(join(walDir, segmentFileName(nextId, '.wal')), v1);

      const second = await LogStorage.open({ dataDir, tailCacheMaxBytes: 0 });
      assert.deepEqual(flagsOf(requirePartition(second, 'old')), [commit, undefined]);
      await second.sealActiveSegment();
      await second.close();

      const third = await LogStorage.open({ dataDir, tailCacheMaxBytes: 0 });
      const log = requirePartition(third, 'old');
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
      const log = requirePartition(first, 'c');
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
      assert.deepEqual(flagsOf(requirePartition(second, 'c')), [plain, undefined]);
      await second.close();
    }));
});
