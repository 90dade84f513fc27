/**
 * A consumer outlives a broker outage longer than its Kafka client's retries: the broker process
 * is killed with SIGKILL and started again on its data dir and port after several seconds. The
 * client gives up fetching and destroys its stream; the consumer rejoins as a new member and
 * handles the events published after the restart. A consumer started while the broker is down
 * waits for it rather than fail its service's start.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MultipleErrors, NetworkError, ProtocolError, UserError } from '@platformatic/kafka';
import { RestartableBroker, tempDir, type TempDir } from '@tributary/testing';
import { ConsumerLoop, isTransient } from '../src/consumer-loop.ts';
import { ensureTopics, EventConsumer, EventProducer } from '../src/index.ts';
import { orderPlacedContract, sampleOrder } from './contracts.ts';
import { uniqueTopic } from './sdk-test-broker.ts';

/** Longer than the client's retries (5 x 250 ms plus connect timeouts of refused ports). */
const outageMs = 8_000;

let dataDir: TempDir;
let broker: RestartableBroker;
before(async () => {
  dataDir = await tempDir('sdk-outage');
  broker = new RestartableBroker({ dataDir: dataDir.path });
  await broker.start();
});
after(async () => {
  await broker.current.stop();
  await dataDir.remove();
});

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let round = 0; round < 1200; round++) {
    if (check()) return;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function publish(topic: string, from: number, count: number): Promise<void> {
  const producer = new EventProducer({ bootstrap: broker.bootstrap, source: 'urn:test' });
  try {
    const contract = orderPlacedContract(topic);
    for (let seq = from; seq < from + count; seq++) {
      await producer.publish(contract, sampleOrder(`o-${seq}`, seq));
    }
  } finally {
    await producer.close();
  }
}

test('a consumer handles events again after a broker outage longer than its retries', async () => {
  const topic = uniqueTopic('outage');
  await ensureTopics({ bootstrap: broker.bootstrap }, [topic], { partitions: 2 });
  const handled = new Set<number>();
  const errors: unknown[] = [];
  const consumer = new EventConsumer({
    bootstrap: broker.bootstrap,
    groupId: `outage-${topic}`,
    retryDelaysMs: [],
    sessionTimeoutMs: 6_000,
    onError: (error) => errors.push(error),
  });
  consumer.on(orderPlacedContract(topic), async (event) => {
    handled.add(event.data.totalCents);
  });
  await consumer.start();
  try {
    await publish(topic, 1, 10);
    await waitFor(() => handled.size === 10, 'the first ten');
    await broker.kill();
    await sleep(outageMs);
    await broker.start();
    await publish(topic, 11, 10);
    await waitFor(() => handled.size === 20, 'the ten published after the restart');
    assert.ok(errors.length > 0, 'the outage was noticed (the client gave up fetching)');
  } finally {
    await consumer.close();
  }
});

test('a consumer started while its broker is down joins once the broker is back', async () => {
  const topic = uniqueTopic('start-outage');
  await ensureTopics({ bootstrap: broker.bootstrap }, [topic], { partitions: 2 });
  await publish(topic, 1, 5);
  const handled = new Set<string>();
  const errors: unknown[] = [];
  const loop = new ConsumerLoop({
    connection: { bootstrap: broker.bootstrap },
    groupId: `start-outage-${topic}`,
    topics: [topic],
    startFrom: 'earliest',
    maxQueuedPerPartition: 100,
    handle: async (record) => {
      handled.add(`${record.partition}/${record.offset}`);
    },
    sessionTimeoutMs: 6_000,
    onError: (error) => errors.push(error),
  });
  await broker.kill();
  let settled: string | undefined;
  const started = loop.start().then(
    () => (settled = 'resolved'),
    (error: unknown) => (settled = `rejected: ${String(error)}`),
  );
  try {
    await waitFor(() => errors.length >= 2 || settled !== undefined, 'two failed attempts');
    assert.equal(settled, undefined, 'start waits through the outage');
    assert.ok(errors.every(isTransient), 'each attempt failed on the unreachable broker');
    await broker.start();
    await started;
    assert.equal(settled, 'resolved');
    await publish(topic, 6, 5);
    await waitFor(() => handled.size === 10, 'the events published before and after');
  } finally {
    await broker.start().catch(() => undefined);
    await loop.close();
  }
});

test('only network failures and retriable Kafka errors count as transient', () => {
  const refused = new NetworkError('Connection to 127.0.0.1:1 failed.');
  const loading = new ProtocolError('COORDINATOR_LOAD_IN_PROGRESS');
  const denied = new ProtocolError('GROUP_AUTHORIZATION_FAILED');
  assert.equal(isTransient(refused), true);
  assert.equal(isTransient(loading), true);
  assert.equal(
    isTransient(new MultipleErrors('joinGroup failed 3 times.', [refused, loading])),
    true,
  );
  assert.equal(isTransient(denied), false);
  assert.equal(isTransient(new MultipleErrors('mixed', [refused, denied])), false);
  assert.equal(isTransient(new UserError('bad option')), false);
  assert.equal(isTransient(new TypeError('bug')), false);
  assert.equal(isTransient('text'), false);
});
