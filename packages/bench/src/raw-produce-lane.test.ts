/**
 * The raw Kafka lane against an in-process broker: every paced send is acknowledged once, and
 * the records are in the partition it names, with the stamped payload intact.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type RunningBroker } from '@tributary/broker';
import { decodeRecords } from '@tributary/protocol';
import { runPacedLanes, payloadStamp } from './peer-paced.ts';
import { openRawProduceLane } from './raw-produce-lane.ts';

let broker: RunningBroker;

before(async () => {
  broker = await startBroker({
    port: 0,
    host: '127.0.0.1',
    inMemory: true,
    quiet: true,
  });
  await broker.storage.createTopic({ name: 'raw-lanes', partitionCount: 2 });
});

after(async () => {
  await broker.close();
});

test('paced lanes produce single-record batches, each acked from its intended time', async () => {
  const lanes = await Promise.all([
    openRawProduceLane(broker.bootstrap, 'raw-lanes', 0),
    openRawProduceLane(broker.bootstrap, 'raw-lanes', 1),
  ]);
  try {
    const result = await runPacedLanes(
      lanes.map((lane) => lane.make),
      { ratePerLane: 100, seconds: 0.5, valueBytes: 64 },
    );
    assert.equal(result.sent, 100);
    assert.equal(result.acked, 100);
    assert.equal(result.errors, 0);
    assert.ok(result.ackMs.p50 > 0 && result.ackMs.p50 <= result.ackMs.max);
  } finally {
    await Promise.all(lanes.map((lane) => lane.close()));
  }
  const topic = broker.storage.getTopic('raw-lanes');
  assert.ok(topic !== undefined);
  const log = broker.storage.partition(topic.topicId, 1);
  assert.ok(log !== undefined);
  assert.equal(log.highWatermark, 50n);
  const [first] = await log.read(0n, 1024);
  assert.ok(first !== undefined);
  const records = decodeRecords(first, { maxDecompressedBytes: 1024 });
  assert.equal(records.length, 1, 'one record per request');
  const value = records[0]?.value?.toString() ?? '';
  assert.equal(value.length, 64);
  assert.ok(payloadStamp(value) > 0, value);
});

test('a lane on a partition that does not exist counts failures, not acks', async () => {
  const lane = await openRawProduceLane(broker.bootstrap, 'raw-lanes', 7);
  try {
    const result = await runPacedLanes([lane.make], {
      ratePerLane: 20,
      seconds: 0.2,
      valueBytes: 32,
    });
    assert.equal(result.acked, 0);
    assert.equal(result.errors, result.sent);
    assert.ok(result.sent > 0);
  } finally {
    await lane.close();
  }
});
