/**
 * A consumer outlives a broker outage longer than its Kafka client's retries: the broker process
 * is killed with SIGKILL and started again on its data dir and port after several seconds. The
 * client gives up fetching and destroys its stream; the consumer rejoins as a new member and
 * handles the events published after the restart.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RestartableBroker, tempDir, type TempDir } from '@tributary/testing';
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
