/**
 * Admin operations the per-client scenario does not cover, through kafkajs 2.2.4's admin client:
 * CreatePartitions, DeleteRecords (log start offset moves, ListOffsets earliest follows),
 * cluster description, and the internal topics' protection.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { startBroker, type RunningBroker } from '@tributary/broker';
import { clientCell, compatibilityScenarios, recordStep } from '../../src/index.ts';

let broker: RunningBroker;
let admin: Admin;
let producer: Producer;
const { topicAdmin, groupAdmin } = compatibilityScenarios;
const cell = (scenario: string) => () => clientCell('kafkajs', scenario);

before(async () => {
  broker = await startBroker({ port: 0, host: '127.0.0.1', inMemory: true, quiet: true });
  const kafka = new Kafka({
    clientId: 'admin-test',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
  });
  admin = kafka.admin();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await admin.connect();
  await producer.connect();
});

after(async () => {
  await producer.disconnect();
  await admin.disconnect();
  await broker.close();
});

test('CreatePartitions grows a topic, and refuses to shrink it', (t) =>
  recordStep(t, cell(topicAdmin), async () => {
    await admin.createTopics({ topics: [{ topic: 'grow', numPartitions: 2 }] });
    await admin.createPartitions({ topicPartitions: [{ topic: 'grow', count: 5 }] });
    const metadata = await admin.fetchTopicMetadata({ topics: ['grow'] });
    assert.equal(metadata.topics[0]?.partitions.length, 5);
    await assert.rejects(
      admin.createPartitions({ topicPartitions: [{ topic: 'grow', count: 3 }] }),
      /partitions/i,
    );
    // The new partitions take writes.
    const [sent] = await producer.send({
      topic: 'grow',
      acks: -1,
      messages: [{ partition: 4, value: 'in a new partition' }],
    });
    assert.equal(sent?.errorCode, 0);
  }));

test('DeleteRecords moves the log start offset, and ListOffsets earliest follows', (t) =>
  recordStep(t, cell(groupAdmin), async () => {
    await admin.createTopics({ topics: [{ topic: 'trim', numPartitions: 1 }] });
    for (let i = 0; i < 10; i++) {
      await producer.send({
        topic: 'trim',
        acks: -1,
        messages: [{ partition: 0, value: `v${i}` }],
      });
    }
    // kafkajs looks the leader up in its metadata cache before it refreshes anything.
    await admin.fetchTopicMetadata({ topics: ['trim'] });
    await admin.deleteTopicRecords({ topic: 'trim', partitions: [{ partition: 0, offset: '6' }] });
    const offsets = await admin.fetchTopicOffsets('trim');
    assert.equal(offsets[0]?.low, '6');
    assert.equal(offsets[0]?.high, '10');
    await assert.rejects(
      admin.deleteTopicRecords({ topic: 'trim', partitions: [{ partition: 0, offset: '99' }] }),
    );
  }));

test('describeCluster names this broker as the only broker and the controller', async () => {
  const cluster = await admin.describeCluster();
  assert.equal(cluster.clusterId, broker.clusterId);
  assert.equal(cluster.brokers.length, 1);
  assert.equal(cluster.brokers[0]?.port, broker.port);
  assert.equal(cluster.controller, broker.nodeId);
});

test('internal topics refuse appends, deletion and DeleteRecords', async () => {
  const internal = ['__consumer_offsets', '__transaction_state'];
  const listed = await admin.listTopics();
  for (const topic of internal) assert.ok(listed.includes(topic), `${topic} exists`);
  await assert.rejects(
    producer.send({ topic: '__consumer_offsets', acks: -1, messages: [{ value: 'forged' }] }),
    /topic/i,
  );
  await assert.rejects(
    admin.deleteTopicRecords({
      topic: '__transaction_state',
      partitions: [{ partition: 0, offset: '-1' }],
    }),
    (error: unknown) =>
      JSON.stringify((error as { cause?: { partitions?: unknown } }).cause?.partitions).includes(
        'INVALID_TOPIC_EXCEPTION',
      ),
  );
  await assert.rejects(admin.deleteTopics({ topics: internal, timeout: 2000 }));
  const [offsets] = await admin.fetchTopicOffsets('__consumer_offsets');
  assert.equal(offsets?.high, offsets?.low, 'nothing was appended to __consumer_offsets');
  assert.deepEqual(
    (await admin.listTopics()).filter((topic) => internal.includes(topic)).toSorted(),
    internal.toSorted(),
  );
});
