/**
 * Replay into a read model with a new group while a live consumer keeps going: from the start
 * of history (totals match what was published, progress reported up to done) and from a time
 * (only what was published after it). Graceful shutdown: the read model's group is left with
 * its offsets committed, so a restarted replay resumes rather than starts over.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureTopics, EventConsumer, EventProducer, type ReplayProgress } from '../src/index.ts';
import { orderPlacedContract, sampleOrder } from './contracts.ts';
import { startSdkTestBroker, uniqueTopic, type SdkTestBroker } from './sdk-test-broker.ts';

let broker: SdkTestBroker;
before(async () => {
  broker = await startSdkTestBroker();
});
after(() => broker.stop());

test('a new group rebuilds a read model from history, or from a time, with progress', async () => {
  const topic = uniqueTopic('replay');
  const contract = orderPlacedContract(topic);
  const connection = { bootstrap: broker.bootstrap };
  await ensureTopics(connection, [topic], { partitions: 3 });
  const producer = new EventProducer({ ...connection, source: 'urn:test' });
  let liveCount = 0;
  const live = new EventConsumer({ ...connection, groupId: `live-${topic}`, retryDelaysMs: [] });
  live.on(contract, async () => {
    liveCount += 1;
  });
  const replays: EventConsumer[] = [];
  const replay = (groupId: string, startFrom: Date | 'earliest', model: Map<string, number>) => {
    const consumer = new EventConsumer({ ...connection, groupId, retryDelaysMs: [], startFrom });
    consumer.on(contract, async (event) => {
      model.set(event.data.orderId, event.data.totalCents);
    });
    replays.push(consumer);
    return consumer;
  };
  await live.start();
  try {
    let earlierTotal = 0;
    for (let i = 0; i < 150; i++) {
      await producer.publish(contract, sampleOrder(`o-${i}`, i));
      earlierTotal += i;
    }
    const cut = Date.now();
    while (Date.now() <= cut) await new Promise((resolve) => setTimeout(resolve, 1));
    let laterTotal = 0;
    for (let i = 150; i < 180; i++) {
      await producer.publish(contract, sampleOrder(`o-${i}`, i));
      laterTotal += i;
    }

    const readModel = new Map<string, number>();
    const rebuild = replay(`report-${topic}`, 'earliest', readModel);
    const reports: ReplayProgress[] = [];
    await rebuild.start();
    const final = await rebuild.caughtUp({ intervalMs: 100, onProgress: (p) => reports.push(p) });
    assert.deepEqual([final.done, final.total, final.handled], [true, 180, 180]);
    assert.equal(readModel.size, 180);
    assert.equal(sum(readModel), earlierTotal + laterTotal);
    for (let i = 1; i < reports.length; i++) {
      assert.ok((reports[i]?.handled ?? 0) >= (reports[i - 1]?.handled ?? 0), 'progress grows');
    }

    const recent = new Map<string, number>();
    const fromTime = replay(`recent-${topic}`, new Date(cut + 1), recent);
    await fromTime.start();
    const progress = await fromTime.caughtUp({ intervalMs: 100 });
    assert.equal(progress.total, 30);
    assert.equal(recent.size, 30);
    assert.equal(sum(recent), laterTotal);

    // The live consumer was not disturbed by either replay.
    await live.caughtUp({ intervalMs: 100 });
    assert.equal(liveCount, 180);
    assert.equal((await live.health()).totalLag, 0);
  } finally {
    await Promise.all([live, ...replays].map((consumer) => consumer.close()));
    await producer.close();
  }
});

function sum(model: ReadonlyMap<string, number>): number {
  return [...model.values()].reduce((a, b) => a + b, 0);
}
