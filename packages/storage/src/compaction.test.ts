import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LogStorage, type StorageOptions } from './log-storage.ts';
import type { PartitionLog } from './partition-log.ts';
import {
  type KeyedRecord,
  describeRecords,
  keyedBatch,
  keyedCompactor,
} from './testing/keyed-batch.ts';

async function append(log: PartitionLog, records: KeyedRecord[]): Promise<void> {
  const { batch, meta } = keyedBatch(records);
  await log.append(batch, meta);
}

describe('log compaction (cleanup.policy=compact)', () => {
  it('keeps the latest record per key, drops old tombstones, keeps offsets, survives restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tributary-compact-'));
    let now = 1_000_100;
    const options: StorageOptions = {
      dataDir,
      compactor: keyedCompactor,
      walSegmentMaxBytes: 200,
      now: () => now,
    };
    try {
      const storage = await LogStorage.open(options);
      const topic = await storage.createTopic({
        name: 'state',
        partitionCount: 1,
        configs: { 'cleanup.policy': 'compact', 'delete.retention.ms': '1000' },
      });
      await storage.createTopic({ name: 'plain', partitionCount: 1 });
      const log = storage.partition(topic.topicId, 0);
      assert.ok(log !== undefined);
      const plainTopic = storage.getTopic('plain');
      const plain = plainTopic && storage.partition(plainTopic.topicId, 0);
      assert.ok(plain !== undefined);
      const t = 999_000n;
      await append(log, [
        { key: 'a', timestamp: t },
        { key: 'b', timestamp: t },
      ]); // 0, 1
      await append(plain, [{ key: 'p', timestamp: t }]);
      await append(log, [
        { key: 'a', timestamp: t },
        { key: null, timestamp: t },
      ]); // 2, 3
      await append(log, [{ key: 'c', timestamp: t }]); // 4
      await append(log, [{ key: 'b', timestamp: t, tombstone: true }]); // 5
      await append(log, [{ key: 'c', timestamp: t + 500n, tombstone: true }]); // 6
      await append(log, [{ key: 'd', timestamp: t + 500n }]); // 7
      await storage.sealActiveSegment();
      await append(log, [{ key: 'd', timestamp: t + 900n }]); // 8, in the active segment
      await storage.runRetention();
      const expected = ['a@2', 'null@3', '~c@6', 'd@8'];
      assert.deepEqual(describeRecords(await log.read(0n, 1 << 20)), expected);
      assert.equal(log.highWatermark, 9n);
      assert.equal((await log.read(5n, 1 << 20))[0]?.readBigInt64BE(0), 6n, 'gaps skip ahead');
      assert.deepEqual(describeRecords(await plain.read(0n, 1 << 20)), ['p@0']);

      now += 2000; // the tombstone for c is now older than delete.retention.ms
      await storage.sealActiveSegment();
      await storage.alterTopicConfigs('state', { 'min.cleanable.dirty.ratio': '0' });
      await storage.runRetention();
      assert.deepEqual(describeRecords(await log.read(0n, 1 << 20)), ['a@2', 'null@3', 'd@8']);
      await storage.close();

      const reopened = await LogStorage.open(options);
      const again = reopened.partition(topic.topicId, 0);
      assert.ok(again !== undefined);
      assert.deepEqual(describeRecords(await again.read(0n, 1 << 20)), ['a@2', 'null@3', 'd@8']);
      const plainAgain = reopened.partition(plainTopic?.topicId ?? topic.topicId, 0);
      assert.deepEqual(describeRecords(await (plainAgain?.read(0n, 1 << 20) ?? [])), ['p@0']);
      const { batch, meta } = keyedBatch([{ key: 'e', timestamp: t }]);
      assert.equal((await again.append(batch, meta)).baseOffset, 9n);
      await reopened.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
