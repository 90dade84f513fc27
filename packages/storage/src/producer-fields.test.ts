/**
 * Producer numbers (BatchMeta.producer) are stored with each batch and come back after a
 * restart, from WAL segments and from object indexes; data written in frame version 1 (before
 * they existed) stays readable, with -1 producer numbers.
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LogStorage, type StorageOptions } from './log-storage.ts';
import type { PartitionLog } from './partition-log.ts';
import { segmentFileName } from './segment-format.ts';
import { fakeBatch, labelOf, metaOf } from './testing/fake-batch.ts';
import { requirePartition, segmentV1, withTempDir } from './testing/storage-fixtures.ts';

async function append(log: PartitionLog, label: string, sequence: number): Promise<bigint> {
  const batch = fakeBatch(label, 2);
  const producer = { producerId: 42n, producerEpoch: 3, baseSequence: sequence };
  return (await log.append(batch, { ...metaOf(batch), producer })).baseOffset;
}

function producerNumbers(log: PartitionLog): [bigint, number, number][] {
  return [...log.entries()].map((b) => [b.producerId, b.producerEpoch, b.baseSequence]);
}

describe('producer numbers in storage', () => {
  it('come back after a restart from objects and from the WAL', () =>
    withTempDir(async (dataDir) => {
      const options: StorageOptions = { dataDir, tailCacheMaxBytes: 0 };
      const first = await LogStorage.open(options);
      await first.createTopic({ name: 't', partitionCount: 1, configs: {} });
      const log = requirePartition(first, 't');
      await append(log, 'a', 0);
      await append(log, 'b', 2);
      await first.sealActiveSegment();
      await append(log, 'c', 4);
      const plain = fakeBatch('plain', 1);
      await log.append(plain, metaOf(plain));
      const firstId = await first.allocateProducerId();
      await first.close();

      const second = await LogStorage.open(options);
      const reopened = requirePartition(second, 't');
      assert.deepEqual(producerNumbers(reopened), [
        [42n, 3, 0],
        [42n, 3, 2],
        [42n, 3, 4],
        [-1n, -1, -1],
      ]);
      assert.deepEqual((await reopened.read(0n, 1 << 20)).map(labelOf), ['a', 'b', 'c', 'plain']);
      assert.ok((await second.allocateProducerId()) > firstId, 'producer ids never repeat');
      await second.close();
    }));

  it('reads segments and objects written in frame version 1', () =>
    withTempDir(async (dataDir) => {
      const first = await LogStorage.open({ dataDir });
      await first.createTopic({ name: 'old', partitionCount: 1, configs: {} });
      const topicId = first.getTopic('old')?.topicId;
      assert.ok(topicId !== undefined);
      await append(requirePartition(first, 'old'), 'new', 0);
      await first.close();
      const walDir = join(dataDir, 'wal');
      const ids = (await readdir(walDir)).map((name) => Number.parseInt(name, 10));
      const nextId = Math.max(...ids) + 1;
      const v1 = segmentV1(nextId, topicId, 2n, fakeBatch('old-format', 1));
      await writeFile(join(walDir, segmentFileName(nextId, '.wal')), v1);

      const second = await LogStorage.open({ dataDir, tailCacheMaxBytes: 0 });
      const log = requirePartition(second, 'old');
      assert.deepEqual((await log.read(0n, 1 << 20)).map(labelOf), ['new', 'old-format']);
      assert.deepEqual(producerNumbers(log).at(-1), [-1n, -1, -1]);
      await second.sealActiveSegment();
      await second.close();

      const third = await LogStorage.open({ dataDir, tailCacheMaxBytes: 0 });
      const again = requirePartition(third, 'old');
      assert.deepEqual((await again.read(0n, 1 << 20)).map(labelOf), ['new', 'old-format']);
      assert.ok(third.stats().objectCount >= 1);
      await third.close();
    }));
});
