/**
 * Idempotent consumption across crashes: a consumer process killed with SIGKILL twice while
 * events flow, and started again each time. Events whose database transaction committed before
 * the crash but whose offset did not are delivered again; the processed-events table makes the
 * redelivery a no-op, so every event's side effect exists exactly once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Consumer } from '@platformatic/kafka';
import { ensureTopics, EventProducer } from '../src/index.ts';
import { orderPlacedContract, sampleOrder } from './contracts.ts';
import { uniqueTopic, useSdkBrokerAndPostgres, waitFor } from './sdk-test-broker.ts';

const fixture = useSdkBrokerAndPostgres({
  poolMax: 2,
  ready: async (pool) => {
    await pool.query('CREATE TABLE effects (id bigserial, event_id text, order_id text, seq int)');
  },
});

const script = fileURLToPath(new URL('./consumer-process.ts', import.meta.url));

function startConsumer(topic: string, group: string) {
  const child = spawn(process.execPath, [script], {
    env: {
      ...process.env,
      SDK_BOOTSTRAP: fixture.broker.bootstrap,
      SDK_DATABASE_URL: fixture.postgres.url,
      SDK_TOPIC: topic,
      SDK_GROUP: group,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function effects(): Promise<{ total: number; distinct: number }> {
  const result = await fixture.pool.query(
    'SELECT count(*)::int AS total, count(DISTINCT event_id)::int AS distinct FROM effects',
  );
  return result.rows[0] as { total: number; distinct: number };
}

/** Whether `group` has committed the end of every partition of `topic`. */
async function committedToEnd(topic: string, group: string): Promise<boolean> {
  const consumer = new Consumer({
    clientId: 'sdk-test-offsets',
    groupId: group,
    bootstrapBrokers: [fixture.broker.bootstrap],
  });
  try {
    const ends = (await consumer.listOffsets({ topics: [topic] })).get(topic) ?? [];
    const committed = await consumer.listCommittedOffsets({
      topics: [{ topic, partitions: ends.map((_, index) => index) }],
    });
    return ends.every((end, partition) => (committed.get(topic)?.[partition] ?? -1n) >= end);
  } finally {
    await consumer.close();
  }
}

test('a consumer killed with SIGKILL mid-stream leaves each side effect exactly once', async () => {
  const topic = uniqueTopic('crash-consume');
  const group = `effects-${topic}`;
  const contract = orderPlacedContract(topic);
  await ensureTopics({ bootstrap: fixture.broker.bootstrap }, [topic], { partitions: 3 });
  const producer = new EventProducer({ bootstrap: fixture.broker.bootstrap, source: 'urn:test' });
  const total = 600;
  try {
    for (let seq = 1; seq <= total / 20; seq++) {
      await Promise.all(
        Array.from({ length: 20 }, (_, k) =>
          producer.publish(contract, sampleOrder(`k-${k}`, seq)),
        ),
      );
    }
  } finally {
    await producer.close();
  }
  for (const threshold of [100, 300]) {
    const consumer = startConsumer(topic, group);
    await waitFor(async () => (await effects()).distinct >= threshold, `${threshold} effects`);
    await consumer.kill();
  }
  const last = startConsumer(topic, group);
  try {
    await waitFor(async () => (await effects()).distinct === total, 'every effect');
    await waitFor(() => committedToEnd(topic, group), 'the group to commit the end');
  } finally {
    await last.kill();
  }
  assert.deepEqual(await effects(), { total, distinct: total }, 'no side effect twice');
  const order = await fixture.pool.query(
    'SELECT order_id, array_agg(seq ORDER BY id) AS seqs FROM effects GROUP BY order_id',
  );
  for (const row of order.rows as { order_id: string; seqs: number[] }[]) {
    assert.deepEqual(
      row.seqs,
      Array.from({ length: total / 20 }, (_, i) => i + 1),
      `${row.order_id} in order`,
    );
  }
});
