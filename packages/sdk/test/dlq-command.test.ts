/**
 * `tributary dlq list | show | redrive` as a process against a broker process: dead letters an
 * EventConsumer wrote are listed with their origin and reason, shown in full, and redriven to
 * their original topic, where the consumer (now fixed) handles them; a second redrive of
 * "all" sends nothing, since the first one recorded its progress.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Admin, Producer } from '@platformatic/kafka';
import { cliMainPath, runCommand } from '@tributary/testing';
import { ensureTopics, EventConsumer, EventProducer, readDeadLetters } from '../src/index.ts';
import { orderPlacedContract, sampleOrder } from './contracts.ts';
import { startSdkTestBroker, uniqueTopic, waitFor, type SdkTestBroker } from './sdk-test-broker.ts';

let broker: SdkTestBroker;
before(async () => {
  broker = await startSdkTestBroker();
});
after(() => broker.stop());

function dlq(...args: string[]) {
  return runCommand(
    process.execPath,
    [cliMainPath, 'dlq', ...args, '--bootstrap', broker.bootstrap],
    {
      timeoutMs: 60_000,
    },
  );
}

test('tributary dlq lists, shows and redrives what a consumer dead-lettered', async () => {
  const topic = uniqueTopic('dlq-cli');
  const contract = orderPlacedContract(topic);
  const connection = { bootstrap: broker.bootstrap };
  await ensureTopics(connection, [topic], { partitions: 2 });
  const producer = new EventProducer({ ...connection, source: 'urn:test' });
  let broken = true;
  const handled: string[] = [];
  const consumer = new EventConsumer({ ...connection, groupId: `g-${topic}`, retryDelaysMs: [] });
  consumer.on(contract, async (event) => {
    if (broken) throw new RangeError(`no stock for ${event.data.orderId}`);
    handled.push(event.data.orderId);
  });
  await consumer.start();
  try {
    await producer.publish(contract, sampleOrder('o-1'));
    await producer.publish(contract, sampleOrder('o-2'));
    await waitFor(async () => (await consumer.health()).counts.deadLettered === 2, 'dead letters');

    const list = await dlq('list', topic);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^PARTITION:OFFSET\s+TIME\s+ORIGIN\s+TYPE\s+ATTEMPTS\s+REASON$/);
    assert.equal(lines.length, 3);
    assert.match(list.stdout, /no stock for o-1/);
    assert.match(list.stdout, new RegExp(`${topic}/\\d@\\d+\\s+order\\.placed\\s+1`));

    const place = /^(\d+:\d+)/.exec(lines[1] ?? '')?.[1] ?? '';
    const show = await dlq('show', `${topic}.dlq`, place);
    assert.equal(show.code, 0, show.stderr);
    const shown = JSON.parse(show.stdout) as Record<string, unknown>;
    assert.equal(shown.error, 'RangeError');
    assert.equal((shown.origin as { topic: string }).topic, topic);
    assert.equal((shown.headers as Record<string, string>).ce_type, 'order.placed');
    assert.equal((await dlq('show', topic, '9:999')).code, 1);
    assert.equal((await dlq('show', topic)).code, 2);
    assert.equal((await dlq('frobnicate', topic)).code, 2);

    broken = false;
    const redrive = await dlq('redrive', topic);
    assert.equal(redrive.code, 0, redrive.stderr);
    assert.match(redrive.stdout, /2 dead letter\(s\) redriven/);
    await waitFor(() => handled.length === 2, 'the redriven events handled');
    assert.deepEqual(handled.toSorted(), ['o-1', 'o-2']);
    const again = await dlq('redrive', topic);
    assert.match(again.stdout, /0 dead letter\(s\) redriven/);
  } finally {
    await consumer.close();
    await producer.close();
  }
});

test("the broker's own validation dead letters read the same way", async () => {
  const topic = uniqueTopic('validated');
  const admin = new Admin({ clientId: 'sdk-test-admin', bootstrapBrokers: [broker.bootstrap] });
  const producer = new Producer({ clientId: 'sdk-test-raw', bootstrapBrokers: [broker.bootstrap] });
  try {
    await admin.createTopics({
      topics: [topic],
      partitions: 1,
      replicas: 1,
      configs: [
        { name: 'tributary.cloudevents.required', value: 'true' },
        { name: 'tributary.validation.policy', value: 'dlq' },
      ],
    });
    await producer.send({
      messages: [{ topic, key: Buffer.from('k'), value: Buffer.from('not an event') }],
      acks: -1,
    });
    const letters = await readDeadLetters({ bootstrap: broker.bootstrap }, `${topic}.dlq`);
    assert.equal(letters.length, 1);
    assert.equal(letters[0]?.originalTopic, topic);
    assert.equal(letters[0]?.originalPartition, 0);
    assert.match(letters[0]?.reason ?? '', /CloudEvent/);
    const list = await dlq('list', topic);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${topic}/0@\\?`));
  } finally {
    await Promise.allSettled([admin.close(), producer.close()]);
  }
});
