/**
 * The transactional outbox against real PostgreSQL and a broker process: a state change and its
 * event commit together (a rolled-back transaction publishes nothing), and a relay killed with
 * SIGKILL mid-way and started again publishes every event, in order per key; services sharing a
 * database, each in its own schema, each relay their own outbox.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer } from '@platformatic/kafka';
import pg from 'pg';
import { RestartableBroker, tempDir } from '@tributary/testing';
import {
  createOutboxTable,
  ensureTopics,
  EventProducer,
  EventValidationError,
  Outbox,
  OutboxRelay,
  outboxTable,
} from '../src/index.ts';
import { orderPlacedContract, sampleOrder } from './contracts.ts';
import { uniqueTopic, useSdkBrokerAndPostgres, waitFor } from './sdk-test-broker.ts';

const fixture = useSdkBrokerAndPostgres({
  poolMax: 4,
  ready: async (pool) => {
    await createOutboxTable(pool);
    await pool.query('CREATE TABLE orders (id text PRIMARY KEY, seq int NOT NULL)');
  },
});

const relayScript = fileURLToPath(new URL('./outbox-relay-process.ts', import.meta.url));

function startRelay(batchSize: number, bootstrap = fixture.broker.bootstrap) {
  const child = spawn(process.execPath, [relayScript], {
    env: {
      ...process.env,
      SDK_BOOTSTRAP: bootstrap,
      SDK_DATABASE_URL: fixture.postgres.url,
      SDK_BATCH_SIZE: String(batchSize),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, exited, stderr: () => stderr };
}

async function unsentCount(): Promise<number> {
  const result = await fixture.pool.query(
    `SELECT count(*)::int AS n FROM ${outboxTable} WHERE sent_at IS NULL`,
  );
  return Number(result.rows[0].n);
}

/** Every record of `topic` until `expected` distinct event ids were seen. */
async function readEvents(topic: string, expected: number, bootstrap = fixture.broker.bootstrap) {
  const consumer = new Consumer({
    clientId: 'sdk-test-outbox',
    groupId: `read-${topic}`,
    bootstrapBrokers: [bootstrap],
  });
  const records: { key: string; id: string; seq: number }[] = [];
  const ids = new Set<string>();
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', maxWaitTime: 200 });
    for await (const message of stream) {
      let eventId = '';
      for (const [name, value] of message.headers) {
        if (name.toString() === 'ce_id') eventId = value.toString();
      }
      const order = JSON.parse(message.value.toString()) as { totalCents: number };
      records.push({ key: message.key.toString(), id: eventId, seq: order.totalCents });
      ids.add(eventId);
      if (ids.size >= expected) break;
    }
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return records;
}

test('the event commits with the state change, or neither does', async () => {
  const topic = uniqueTopic('outbox-tx');
  const contract = orderPlacedContract(topic);
  const producer = new EventProducer({ bootstrap: fixture.broker.bootstrap, source: 'urn:test' });
  const outbox = new Outbox(producer);
  const client = await fixture.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("INSERT INTO orders VALUES ('tx-1', 1)");
    await outbox.add(client, contract, sampleOrder('tx-1'));
    await client.query('ROLLBACK');
    await client.query('BEGIN');
    await client.query("INSERT INTO orders VALUES ('tx-2', 1)");
    const added = await outbox.add(client, contract, sampleOrder('tx-2'));
    await client.query('COMMIT');
    await assert.rejects(
      outbox.add(client, contract, { ...sampleOrder('tx-3'), items: 'none' } as never),
      EventValidationError,
    );
    const rows = await fixture.pool.query(`SELECT event_id FROM ${outboxTable} WHERE topic = $1`, [
      topic,
    ]);
    assert.deepEqual(
      rows.rows.map((row: { event_id: string }) => row.event_id),
      [added.id],
    );
  } finally {
    client.release();
    await producer.close();
  }
  await fixture.pool.query(`DELETE FROM ${outboxTable}`);
});

test('a relay killed mid-way and restarted publishes every event, in order per key', async () => {
  const topic = uniqueTopic('outbox-crash');
  await ensureTopics({ bootstrap: fixture.broker.bootstrap }, [topic], { partitions: 3 });
  const keys = 20;
  const perKey = 60;
  const total = keys * perKey;
  await fillOutbox(topic, keys, perKey, fixture.broker.bootstrap);
  assert.equal(await unsentCount(), total);

  const first = startRelay(25);
  await waitFor(async () => (await unsentCount()) <= total - 200, 'the first relay to send some');
  first.child.kill('SIGKILL');
  await first.exited;
  const left = await unsentCount();
  assert.ok(left > 0, `the relay was killed before it finished (${left} left)`);

  const second = startRelay(25);
  try {
    await waitFor(async () => (await unsentCount()) === 0, 'the restarted relay to finish');
  } finally {
    second.child.kill('SIGTERM');
    await second.exited;
  }

  assertInOrderPerKey(await readEvents(topic, total), keys, perKey);
});

/** At-least-once: a re-sent batch repeats what it held, but no event of a key comes before an
 * earlier one of that key was published, and every one arrives. */
function assertInOrderPerKey(
  records: readonly { key: string; seq: number }[],
  keys: number,
  perKey: number,
): void {
  const published = new Map<string, number[]>();
  for (const record of records) {
    const list = published.get(record.key) ?? [];
    list.push(record.seq);
    published.set(record.key, list);
  }
  assert.equal(published.size, keys);
  for (const [key, seqs] of published) {
    let highest = 0;
    for (const seq of seqs) {
      assert.ok(seq <= highest + 1, `${key}: ${seq} published before ${highest + 1}`);
      highest = Math.max(highest, seq);
    }
    assert.equal(highest, perKey, `${key}: every event published`);
  }
}

async function fillOutbox(topic: string, keys: number, perKey: number, bootstrap: string) {
  const contract = orderPlacedContract(topic);
  const producer = new EventProducer({ bootstrap, source: 'urn:test' });
  const outbox = new Outbox(producer);
  try {
    // Each event in its own transaction; totalCents carries the per-key sequence number.
    for (let seq = 1; seq <= perKey; seq++) {
      await Promise.all(
        Array.from({ length: keys }, async (_, k) => {
          const client = await fixture.pool.connect();
          try {
            await client.query('BEGIN');
            await outbox.add(client, contract, sampleOrder(`key-${k}`, seq));
            await client.query('COMMIT');
          } finally {
            client.release();
          }
        }),
      );
    }
  } finally {
    await producer.close();
  }
}

test('a broker killed with SIGKILL under the relay loses nothing, order kept', async () => {
  const dataDir = await tempDir('sdk-outbox-broker');
  const restartable = new RestartableBroker({ dataDir: dataDir.path });
  await restartable.start();
  const relay = startRelay(25, restartable.bootstrap);
  try {
    const topic = uniqueTopic('outbox-broker-crash');
    await ensureTopics({ bootstrap: restartable.bootstrap }, [topic], { partitions: 3 });
    const keys = 10;
    const perKey = 60;
    await fillOutbox(topic, keys, perKey, restartable.bootstrap);
    await waitFor(async () => (await unsentCount()) <= keys * perKey - 100, 'some sent');
    await restartable.kill();
    const left = await unsentCount();
    assert.ok(left > 0, `the broker was killed before the relay finished (${left} left)`);
    await restartable.start();
    await waitFor(async () => (await unsentCount()) === 0, 'the relay to finish');
    assertInOrderPerKey(
      await readEvents(topic, keys * perKey, restartable.bootstrap),
      keys,
      perKey,
    );
  } finally {
    relay.child.kill('SIGKILL');
    await relay.exited;
    await restartable.kill();
    await dataDir.remove();
  }
});

test('services in schemas of one database each relay their own outbox at once', async () => {
  const topic = uniqueTopic('outbox-schemas');
  await ensureTopics({ bootstrap: fixture.broker.bootstrap }, [topic], { partitions: 1 });
  const contract = orderPlacedContract(topic);
  const services = ['svc_a', 'svc_b'].map((schema) => {
    const servicePool = new pg.Pool({
      connectionString: fixture.postgres.url,
      max: 2,
      options: `-c search_path=${schema}`,
    });
    servicePool.on('error', () => undefined);
    const producer = new EventProducer({
      bootstrap: fixture.broker.bootstrap,
      source: `urn:${schema}`,
    });
    return {
      schema,
      pool: servicePool,
      producer,
      relay: new OutboxRelay({ pool: servicePool, producer }),
    };
  });
  try {
    const ids: string[] = [];
    for (const service of services) {
      await fixture.pool.query(`CREATE SCHEMA ${service.schema}`);
      await createOutboxTable(service.pool);
      const client = await service.pool.connect();
      try {
        ids.push(
          (await new Outbox(service.producer).add(client, contract, sampleOrder(service.schema)))
            .id,
        );
      } finally {
        client.release();
      }
      service.relay.start();
    }
    // One advisory lock per database would leave one of the two relays waiting forever.
    const gaveUp = new AbortController();
    const records = await Promise.race([
      readEvents(topic, ids.length),
      sleep(30_000, undefined, { signal: gaveUp.signal }).then(() =>
        assert.fail('one of the relays never published'),
      ),
    ]).finally(() => gaveUp.abort());
    assert.deepEqual(new Set(records.map((record) => record.id)), new Set(ids));
  } finally {
    for (const service of services) {
      await service.relay.stop();
      await service.producer.close();
      await service.pool.end();
    }
  }
});
