/**
 * PartitionSizes against a broker's real storage: the carried-forward sum equals a full count of
 * the stored batches after appends (counted incrementally) and after DeleteRecords moves the log
 * start offset (counted afresh).
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { buildRecordBatch } from '@tributary/protocol';
import type { PartitionLog } from '@tributary/storage';
import { startBroker, type RunningBroker } from '../broker.ts';
import { PartitionSizes } from './partition-sizes.ts';

let broker: RunningBroker;
let log: PartitionLog;

before(async () => {
  broker = await startBroker({ inMemory: true, port: 0, host: '127.0.0.1', quiet: true });
  const topic = await broker.storage.createTopic({ name: 'sizes', partitionCount: 1 });
  const partition = broker.storage.partition(topic.topicId, 0);
  assert.ok(partition !== undefined);
  log = partition;
});

after(() => broker.close());

async function append(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const records = Array.from({ length: 1 + (i % 3) }, (_, r) => ({
      value: Buffer.alloc(20 + i * 7 + r, 'x'),
    }));
    const batch = buildRecordBatch({ records });
    await log.append(batch, {
      lastOffsetDelta: records.length - 1,
      maxTimestamp: 0n,
      recordCount: records.length,
    });
  }
}

function counted(): number {
  return [...log.entries()].reduce((total, entry) => total + entry.sizeBytes, 0);
}

it('sums the stored batches, incrementally and after the log start moves', async () => {
  const sizes = new PartitionSizes();
  assert.equal(sizes.sizeOf(log), 0);
  await append(5);
  assert.ok(counted() > 0);
  assert.equal(sizes.sizeOf(log), counted());
  await append(4);
  assert.equal(sizes.sizeOf(log), counted(), 'after more appends');
  assert.equal(sizes.sizeOf(log), counted(), 'asked again with nothing new');
  await log.deleteRecordsBefore(6n);
  assert.equal(sizes.sizeOf(log), counted(), 'after DeleteRecords');
  await append(2);
  assert.equal(sizes.sizeOf(log), counted(), 'appends after the deletion');
});
