/**
 * EventConsumer against a broker process and real PostgreSQL: events handled in order per key,
 * a redelivered event id skipped (recorded in the same transaction as the side effect), a
 * failing handler retried through `<topic>.retry.<n>` and then dead-lettered with its headers
 * while later records of the partition go on, a poison record dead-lettered at once, health and
 * lag, and a redrive of the dead letters back to the topic.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  deadLetterTopic,
  ensureTopics,
  EventConsumer,
  EventProducer,
  readDeadLetters,
  redriveDeadLetters,
} from '../src/index.ts';
import { orderPlacedContract, sampleOrder } from './contracts.ts';
import { uniqueTopic, useSdkBrokerAndPostgres, waitFor } from './sdk-test-broker.ts';

const fixture = useSdkBrokerAndPostgres({
  poolMax: 6,
  ready: async (pool) => {
    await pool.query('CREATE TABLE handled (order_id text, seq int, attempt int)');
  },
});

test('handlers: key order, duplicates skipped, retry tiers, dead letters, redrive', async () => {
  const topic = uniqueTopic('consume');
  const contract = orderPlacedContract(topic);
  const connection = { bootstrap: fixture.broker.bootstrap };
  await ensureTopics(connection, [topic], { partitions: 3 });
  const producer = new EventProducer({ ...connection, source: 'urn:test:cart' });
  const consumer = new EventConsumer({
    ...connection,
    groupId: `svc-${topic}`,
    pool: fixture.pool,
    retryDelaysMs: [100, 300],
  });
  let failOnceSeen = 0;
  consumer.on(contract, async (event, context) => {
    const { orderId, totalCents } = event.data;
    if (orderId === 'always-fails') throw new TypeError(`cannot ship ${orderId}`);
    if (orderId === 'fails-once' && context.attempt === 1) {
      failOnceSeen += 1;
      throw new Error('payment provider timed out');
    }
    await context.db?.query('INSERT INTO handled VALUES ($1, $2, $3)', [
      orderId,
      totalCents,
      context.attempt,
    ]);
  });
  await consumer.start();
  try {
    const perKey = 30;
    for (let seq = 1; seq <= perKey; seq++) {
      await Promise.all(
        ['a', 'b', 'c', 'd'].map((key) => producer.publish(contract, sampleOrder(key, seq))),
      );
    }
    await producer.publish(contract, sampleOrder('always-fails'));
    await producer.publish(contract, sampleOrder('fails-once', 7));
    const duplicate = await producer.publish(contract, sampleOrder('dup', 1));
    await producer.publish(contract, sampleOrder('dup', 1), { id: duplicate.id });
    // A poison record: a CloudEvent whose data is not JSON.
    await producer.send([
      {
        topic,
        key: Buffer.from('poison'),
        value: Buffer.from('{not json'),
        headers: new Map([
          ['ce_specversion', Buffer.from('1.0')],
          ['ce_id', Buffer.from('poison-1')],
          ['ce_source', Buffer.from('urn:test')],
          ['ce_type', Buffer.from('order.placed')],
          ['content-type', Buffer.from('application/json')],
        ]),
      },
    ]);
    await producer.publish(contract, sampleOrder('after-poison', 1));

    const count = async (orderId: string) =>
      Number(
        (
          await fixture.pool.query('SELECT count(*)::int AS n FROM handled WHERE order_id = $1', [
            orderId,
          ])
        ).rows[0].n,
      );
    await waitFor(async () => (await count('fails-once')) === 1, 'the retried event');
    await waitFor(async () => (await count('after-poison')) === 1, 'the event after the poison');
    await waitFor(async () => (await consumer.health()).counts.deadLettered === 2, 'dead letters');
    await waitFor(async () => (await count('d')) === perKey, 'every event of key d');

    for (const key of ['a', 'b', 'c', 'd']) {
      const rows = await fixture.pool.query('SELECT seq FROM handled WHERE order_id = $1', [key]);
      const seqs = rows.rows.map((row: { seq: number }) => row.seq);
      assert.deepEqual(
        seqs,
        Array.from({ length: perKey }, (_, i) => i + 1),
        `order of ${key}`,
      );
    }
    const retried = await fixture.pool.query(
      "SELECT attempt FROM handled WHERE order_id = 'fails-once'",
    );
    assert.deepEqual(retried.rows, [{ attempt: 2 }]);
    assert.equal(failOnceSeen, 1);
    await waitFor(async () => (await consumer.health()).counts.duplicates === 1, 'the duplicate');
    assert.equal(await count('dup'), 1, 'the redelivered event id was skipped');

    const letters = await readDeadLetters(connection, deadLetterTopic(topic));
    assert.equal(letters.length, 2);
    const failed = letters.find((letter) => letter.key?.toString() === 'always-fails');
    assert.ok(failed);
    assert.equal(failed.reason, 'cannot ship always-fails');
    assert.equal(failed.errorName, 'TypeError');
    assert.equal(failed.attempts, 3, 'first delivery and two retry tiers');
    assert.equal(failed.originalTopic, topic);
    assert.equal(typeof failed.originalPartition, 'number');
    assert.equal(typeof failed.originalOffset, 'bigint');
    assert.match(failed.stackDigest ?? '', /^[0-9a-f]{16}$/);
    assert.equal(failed.eventType, 'order.placed');
    const poison = letters.find((letter) => letter.eventId === 'poison-1');
    assert.equal(poison?.attempts, 1, 'a poison record is not retried');
    assert.equal(poison?.errorName, 'SyntaxError');

    const health = await consumer.health();
    assert.equal(health.status, 'running');
    assert.equal(health.healthy, true);
    assert.ok(health.lag.length > 0);
    await waitFor(async () => (await consumer.health()).totalLag === 0, 'no lag');

    // Redrive: the failing event goes back to the topic and fails through the tiers again.
    const redriven = await redriveDeadLetters(connection, deadLetterTopic(topic), {
      only: [`${failed.partition}:${failed.offset}`],
    });
    assert.equal(redriven.length, 1);
    await waitFor(async () => (await consumer.health()).counts.deadLettered === 3, 'redriven');
  } finally {
    await consumer.close();
    await producer.close();
  }
  assert.equal((await consumer.health()).status, 'stopped');
});

test('close finishes the handler in flight, commits it and leaves the group', async () => {
  const topic = uniqueTopic('shutdown');
  const contract = orderPlacedContract(topic);
  const connection = { bootstrap: fixture.broker.bootstrap };
  await ensureTopics(connection, [topic], { partitions: 1 });
  const producer = new EventProducer({ ...connection, source: 'urn:test' });
  const groupId = `svc-${topic}`;
  const { promise: gate, resolve: release } = Promise.withResolvers<void>();
  const seen: string[] = [];
  let finished = 0;
  const first = new EventConsumer({ ...connection, groupId, retryDelaysMs: [] });
  first.on(contract, async (event) => {
    seen.push(event.data.orderId);
    await gate;
    finished += 1;
  });
  await first.start();
  try {
    await producer.publish(contract, sampleOrder('slow-1'));
    await producer.publish(contract, sampleOrder('next-2'));
    await waitFor(() => seen.length === 1, 'the first handler to start');
    const closing = first.close();
    assert.equal((await first.health()).status, 'stopping');
    release();
    await closing;
    assert.equal(finished, 1, 'the handler in flight finished');
    assert.deepEqual(seen, ['slow-1'], 'nothing new started while closing');

    // A new member of the group starts after the committed record: slow-1 is not redelivered.
    const later: string[] = [];
    const second = new EventConsumer({ ...connection, groupId, retryDelaysMs: [] });
    second.on(contract, async (event) => {
      later.push(event.data.orderId);
    });
    await second.start();
    try {
      await waitFor(() => later.length === 1, 'the record after the committed one');
      assert.deepEqual(later, ['next-2']);
    } finally {
      await second.close();
    }
  } finally {
    release();
    await first.close();
    await producer.close();
  }
});
