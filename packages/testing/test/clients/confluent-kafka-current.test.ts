// The current confluent-kafka from PyPI, on the librdkafka its wheel bundles (2.16), through the
// line driver in the virtualenv (scripts/build-python-drivers.sh): every scenario of the full
// client scenario, consumer groups with both the classic protocol and KIP-848
// (group.protocol=consumer).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  confluentKafkaLineDriverCommand,
  LineClientDriver,
  RestartableBroker,
  tempDir,
  type TempDir,
} from '../../src/index.ts';
import { fullClientScenario } from './full-scenario.ts';

fullClientScenario({
  label: 'confluent-kafka (Python)',
  driver: confluentKafkaLineDriverCommand,
  groupProtocols: ['classic', 'consumer'],
});

// Found with this client: DeleteRecords whose offset falls inside a batch (librdkafka sends both
// records below as one batch) moves the log start into that batch; the broker must still start
// on that data dir and serve the partition from the new log start.
describe('confluent-kafka (Python): DeleteRecords inside a batch, then a restart', () => {
  let dir: TempDir | undefined;
  let broker: RestartableBroker | undefined;
  let client: LineClientDriver | undefined;
  after(async () => {
    await client?.close();
    await broker?.current.stop().catch(() => undefined);
    await dir?.remove();
  });

  test('the broker restarts and reads from the new log start', { timeout: 180_000 }, async () => {
    dir = await tempDir('delete-records-restart');
    broker = new RestartableBroker({ dataDir: dir.path });
    await broker.start();
    client = await LineClientDriver.start({
      bootstrap: broker.bootstrap,
      driver: confluentKafkaLineDriverCommand(),
      label: 'confluent-kafka (Python)',
    });
    const topic = 'delete-inside-batch';
    await client.createTopic(topic, 1);
    const records = ['first', 'second'].map((value) => ({
      partition: 0,
      key: Buffer.from('k'),
      value: Buffer.from(value),
      headers: [],
    }));
    const offsets = await client.produceWithOffsets(topic, records, { compression: 'none' });
    assert.deepEqual(
      offsets.map((o) => o.offset),
      [0, 1],
    );
    assert.equal(await client.deleteRecords(topic, 0, 1), 1n, 'low watermark inside the batch');
    await broker.current.stop();
    await broker.start();
    assert.equal(await client.listOffsets(topic, 0, 'earliest'), 1n);
    const read = await client.consumeAll(topic, 1, 1);
    assert.deepEqual(
      read.map((r) => [r.offset, r.value?.toString()]),
      [[1n, 'second']],
    );
  });
});
