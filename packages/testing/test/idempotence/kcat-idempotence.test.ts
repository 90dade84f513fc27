/**
 * The "idempotent producer" column for kcat 1.7.1 (librdkafka 2.0.2, `-X enable.idempotence=true`),
 * as full-scenario.ts's idempotenceScenario checks the line-driver clients: rounds of records, the
 * broker SIGKILLed between rounds, written by one kcat process that stays up the whole time (one
 * producer session across the kills). The kill comes once half a round reached the log, with the
 * rest of it queued or in flight (kcat-producer.ts: kcat holds back the last lines until more
 * input), so kcat retries against the restarted broker what it had sent and gets no answer for.
 * Every record must be there once, each partition's offsets contiguous, and DescribeProducers must
 * show kcat's producer. kcat has no admin API: the topic is created with python3-confluent-kafka (the
 * same librdkafka); every produce and read is kcat's.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { describeProducersApi } from '@tributary/protocol';
import { KafkaConnection } from '@tributary/cli';
import {
  RestartableBroker,
  clientCell,
  compatibilityScenarios,
  createConfluentKafkaDriver,
  recordStep,
  tempDir,
  type TempDir,
} from '../../src/index.ts';
import {
  kcatReadAll,
  startKcatProducer,
  waitForRecords,
  type KcatProducer,
} from './kcat-producer.ts';

const topic = 'kcat-idempotent';
const partitions = 3;
const rounds = 3;
const perRound = 300;
const cell = () => clientCell('kcat', compatibilityScenarios.idempotence);

let dir: TempDir | undefined;
let broker: RestartableBroker | undefined;
let producer: KcatProducer | undefined;

after(async () => {
  producer?.kill();
  await broker?.current.stop().catch(() => undefined);
  await dir?.remove();
});

/** The producer ids DescribeProducers lists as active on the topic's partitions. */
async function activeProducerIds(bootstrap: string): Promise<Set<bigint>> {
  const [host = '', port = ''] = bootstrap.split(':');
  const connection = await KafkaConnection.connect({ host, port: Number(port) });
  try {
    const response = await connection.request(describeProducersApi, 0, {
      topics: [{ name: topic, partitionIndexes: [...Array(partitions).keys()] }],
    });
    const described = response.topics.flatMap((t) => t.partitions);
    for (const partition of described) assert.equal(partition.errorCode, 0);
    return new Set(described.flatMap((p) => p.activeProducers.map((a) => a.producerId)));
  } finally {
    connection.close();
  }
}

test('rounds across broker kills: contiguous, no duplicate, a producer id', (t) =>
  recordStep(t, cell, async () => {
    dir = await tempDir('kcat-idempotent');
    broker = new RestartableBroker({ dataDir: dir.path });
    await broker.start();
    const bootstrap = broker.bootstrap;
    const admin = createConfluentKafkaDriver({ bootstrap });
    await admin.createTopic(topic, partitions);
    await admin.close();

    producer = startKcatProducer(bootstrap, topic, {
      'enable.idempotence': 'true',
      acks: 'all',
      'compression.codec': 'lz4',
      'linger.ms': '5',
      'reconnect.backoff.max.ms': '500',
    });
    for (let round = 0; round < rounds; round++) {
      // Keys spread the records over the partitions (librdkafka's key hash).
      const lines = Array.from(
        { length: perRound },
        (_, i) => [`k${i % 17}`, `round${round}-${i}`] as const,
      );
      producer.write(lines);
      if (round < rounds - 1) {
        const reached = round * perRound + perRound / 2;
        await waitForRecords(bootstrap, topic, partitions, reached, producer);
        await broker.kill();
        await broker.start();
      }
    }
    const exit = await producer.end();
    assert.equal(exit.code, 0, `kcat exit\n${exit.stderr}`);

    const read = await kcatReadAll(bootstrap, topic, 'read_uncommitted');
    assert.equal(read.length, rounds * perRound, 'every record once');
    assert.equal(new Set(read.map((r) => r.value)).size, rounds * perRound, 'no duplicate');
    for (let partition = 0; partition < partitions; partition++) {
      const offsets = read.filter((r) => r.partition === partition).map((r) => r.offset);
      assert.ok(offsets.length > 0, `partition ${partition} has records`);
      assert.deepEqual(
        offsets,
        offsets.map((_, i) => BigInt(i)),
        `partition ${partition}`,
      );
    }
    const producerIds = await activeProducerIds(bootstrap);
    assert.equal(producerIds.size, 1, `one kcat producer across the kills: ${[...producerIds]}`);
  }));
