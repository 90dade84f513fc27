/**
 * The SDK is not Tributary-specific: the same flows against Apache Kafka itself (one KRaft node
 * from the benchmarks' Kafka jars, packages/bench/.cache; skipped when they were never fetched:
 * `npm run bench -- kafka` fetches them). Publish and consume with a retry tier and a dead
 * letter, an outbox relay, replay from the start, and an exactly-once transform.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { Admin } from '@platformatic/kafka';
import pg from 'pg';
import { kafkaVersion, startKafka, type BrokerChild } from '@tributary/bench';
import type { PostgresServer } from '@tributary/testing';
import {
  createOutboxTable,
  defineEvent,
  ensureTopics,
  EventConsumer,
  EventProducer,
  EventTransformer,
  Outbox,
  OutboxRelay,
  readDeadLetters,
} from '../src/index.ts';
import { orderPlacedContract, sampleOrder } from './contracts.ts';
import { startSdkTestPostgres, uniqueTopic, waitFor } from './sdk-test-broker.ts';

const jars = fileURLToPath(
  new URL(`../../bench/.cache/kafka-${kafkaVersion}/lib`, import.meta.url),
);
const skip = existsSync(jars) ? false : `no Kafka ${kafkaVersion} jars in ${jars}`;

let kafka: BrokerChild | undefined;
let postgres: PostgresServer | undefined;
let pool: pg.Pool | undefined;
before(async () => {
  if (skip !== false) return;
  [kafka, postgres] = await Promise.all([
    startKafka(tmpdir(), 'durable', () => undefined),
    startSdkTestPostgres(),
  ]);
  pool = new pg.Pool({ connectionString: postgres.url, max: 4 });
  pool.on('error', () => undefined);
  await createOutboxTable(pool);
  await groupCoordinatorReady(kafka.bootstrap);
});

/**
 * A fresh Kafka node creates __consumer_offsets on the first FindCoordinator and answers
 * COORDINATOR_NOT_AVAILABLE until it is loaded; a consumer started in that window gave up
 * after six refused JoinGroups. Describing a group goes through FindCoordinator, so once it
 * answers the coordinator is there.
 */
async function groupCoordinatorReady(bootstrap: string): Promise<void> {
  const admin = new Admin({ clientId: 'coordinator-probe', bootstrapBrokers: [bootstrap] });
  try {
    await waitFor(async () => {
      try {
        await admin.describeGroups({ groups: ['coordinator-probe'] });
        return true;
      } catch {
        return false;
      }
    }, "Kafka's group coordinator");
  } finally {
    await admin.close();
  }
}
after(async () => {
  await pool?.end();
  await Promise.all([kafka?.stop(), postgres?.stop()]);
});

test(
  'Apache Kafka: outbox, handlers with a retry tier and a dead letter, replay',
  { skip },
  async () => {
    assert.ok(kafka && pool);
    const connection = { bootstrap: kafka.bootstrap };
    const topic = uniqueTopic('kafka-orders');
    const contract = orderPlacedContract(topic);
    await ensureTopics(connection, [topic], { partitions: 3 });
    const producer = new EventProducer({ ...connection, source: 'urn:test' });
    const outbox = new Outbox(producer);
    const relay = new OutboxRelay({ pool, producer, pollIntervalMs: 50 });
    const handled: string[] = [];
    const consumer = new EventConsumer({
      ...connection,
      groupId: `g-${topic}`,
      retryDelaysMs: [100],
    });
    consumer.on(contract, async (event, { attempt }) => {
      if (event.data.orderId === 'bad') throw new Error('always fails');
      if (event.data.orderId === 'flaky' && attempt === 1) throw new Error('once');
      handled.push(event.data.orderId);
    });
    await consumer.start();
    relay.start();
    try {
      const db = await pool.connect();
      try {
        await db.query('BEGIN');
        for (let i = 0; i < 20; i++) await outbox.add(db, contract, sampleOrder(`o-${i}`, i));
        await outbox.add(db, contract, sampleOrder('bad'));
        await outbox.add(db, contract, sampleOrder('flaky'));
        await db.query('COMMIT');
      } finally {
        db.release();
      }
      await waitFor(() => handled.length === 21, 'every good event');
      await waitFor(
        async () => (await consumer.health()).counts.deadLettered === 1,
        'the dead letter',
      );
      const letters = await readDeadLetters(connection, `${topic}.dlq`);
      assert.deepEqual(
        letters.map((letter) => [letter.key?.toString(), letter.attempts, letter.originalTopic]),
        [['bad', 2, topic]],
      );

      const rebuilt: string[] = [];
      const replay = new EventConsumer({ ...connection, groupId: `r-${topic}`, retryDelaysMs: [] });
      replay.on(contract, async (event) => {
        rebuilt.push(event.data.orderId);
      });
      await replay.start();
      try {
        const progress = await replay.caughtUp({ intervalMs: 100 });
        assert.equal(progress.total, 22);
        assert.equal(rebuilt.length, 22);
      } finally {
        await replay.close();
      }
    } finally {
      await relay.stop();
      await consumer.close();
      await producer.close();
    }
  },
);

test('Apache Kafka: exactly-once transform', { skip }, async () => {
  assert.ok(kafka);
  const connection = { bootstrap: kafka.bootstrap };
  const input = uniqueTopic('kafka-eos-in');
  const output = uniqueTopic('kafka-eos-out');
  const orders = orderPlacedContract(input);
  const receipts = defineEvent<{ orderId: string }>({
    type: 'receipt.sent',
    version: 1,
    topic: output,
    aggregateId: (receipt) => receipt.orderId,
    schema: { type: 'object', required: ['orderId'], properties: { orderId: { type: 'string' } } },
  });
  await ensureTopics(connection, [input, output], { partitions: 2 });
  const producer = new EventProducer({ ...connection, source: 'urn:test' });
  const transformer = new EventTransformer({
    ...connection,
    groupId: `t-${input}`,
    transactionalId: `t-${input}-0`,
    source: 'urn:test:receipts',
  }).on(orders, async (event, { emit }) => {
    await emit(receipts, { orderId: event.data.orderId });
  });
  const outputs: string[] = [];
  const reader = new EventConsumer({ ...connection, groupId: `read-${output}`, retryDelaysMs: [] });
  reader.on(receipts, async (event) => {
    outputs.push(event.data.orderId);
  });
  await Promise.all([transformer.start(), reader.start()]);
  try {
    for (let i = 0; i < 10; i++) await producer.publish(orders, sampleOrder(`o-${i}`));
    await waitFor(() => outputs.length === 10, 'every receipt');
    const progress = await reader.caughtUp({ intervalMs: 100 });
    assert.equal(progress.done, true);
    assert.deepEqual(outputs.toSorted(), Array.from({ length: 10 }, (_, i) => `o-${i}`).toSorted());
  } finally {
    await Promise.all([transformer.close(), reader.close()]);
    await producer.close();
  }
});
