/**
 * The "admin (offsets, records, groups)" column for @platformatic/kafka 2.12, through its own
 * Admin (flexible versions), as full-scenario.ts's adminScenario checks the line-driver clients:
 * a topic created with configs, ListOffsets earliest/latest, DeleteRecords moving the log start,
 * and a group listed, described and its offsets fetched; DeleteGroups is refused with
 * NON_EMPTY_GROUP while a @platformatic/kafka member is in the group and accepted once it left.
 * Steps share the broker and run in order: the first failure is the one to read.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  Admin,
  ConfigResourceTypes,
  Consumer,
  ListOffsetTimestamps,
  MessagesStreamModes,
  Producer,
  stringDeserializers,
  stringSerializers,
  type MessagesStream,
} from '@platformatic/kafka';
import type { RunningBroker } from '@tributary/broker';
import { clientCell, compatibilityScenarios, recordStep } from '../../src/index.ts';
import { startGroupBroker } from '../groups/group-helpers.ts';
import { waitUntil } from '../groups/live-group-member.ts';

const topic = 'plt-admin';
const groupId = 'plt-admin-group';
const recordCount = 100;
const deleteBefore = 40n;
const convergeTimeoutMs = 30_000;
const cell = () => clientCell('platformatic', compatibilityScenarios.groupAdmin);

let broker: RunningBroker;
let admin: Admin;

before(async () => {
  broker = await startGroupBroker();
  admin = new Admin({ clientId: 'plt-admin', bootstrapBrokers: [broker.bootstrap] });
});

after(async () => {
  await admin.close().catch(() => undefined);
  await broker.close();
});

async function listOffset(timestamp: bigint): Promise<bigint | undefined> {
  const [listed] = await admin.listOffsets({
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp }] }],
  });
  return listed?.partitions[0]?.offset;
}

/** The Kafka error names (`apiId`) a @platformatic/kafka error carries, nested or not. */
function kafkaErrorNames(error: unknown): string[] {
  if (error === null || typeof error !== 'object') return [];
  const own = error as { apiId?: unknown; errors?: unknown; cause?: unknown };
  const nested = Array.isArray(own.errors) ? own.errors.flatMap(kafkaErrorNames) : [];
  const name = typeof own.apiId === 'string' ? [own.apiId] : [];
  return [...name, ...nested, ...kafkaErrorNames(own.cause)];
}

function member(group: string, name: string) {
  return new Consumer({
    clientId: name,
    groupId: group,
    bootstrapBrokers: [broker.bootstrap],
    deserializers: stringDeserializers,
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
  });
}

/** `count` records of partition 0 read by a new member of `group` from the earliest offset. */
async function readEarliest(group: string, count: number) {
  const reader = member(group, 'plt-admin-reader');
  try {
    const seen: { offset: bigint; value: string }[] = [];
    const stream = await reader.consume({
      topics: [topic],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false,
    });
    stream.on('data', (message) => {
      if (message.partition === 0) seen.push({ offset: message.offset, value: message.value });
    });
    await waitUntil(() => seen.length >= count, convergeTimeoutMs, `${count} records`);
    await stream.close();
    return seen.toSorted((a, b) => Number(a.offset - b.offset));
  } finally {
    await reader.close(true).catch(() => undefined);
  }
}

test('creates a topic with configs and describes them', (t) =>
  recordStep(t, cell, async () => {
    await admin.createTopics({
      topics: [topic],
      partitions: 2,
      replicas: 1,
      configs: [{ name: 'retention.ms', value: '3600000' }],
    });
    const [description] = await admin.describeConfigs({
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }],
    });
    const retention = description?.configs.find((entry) => entry.name === 'retention.ms');
    assert.equal(retention?.value, '3600000');
  }));

test('ListOffsets earliest/latest and DeleteRecords move the log start', (t) =>
  recordStep(t, cell, async () => {
    const producer = new Producer({
      clientId: 'plt-admin-producer',
      bootstrapBrokers: [broker.bootstrap],
      serializers: stringSerializers,
      autocreateTopics: false,
    });
    try {
      const messages = Array.from({ length: recordCount }, (_, i) => ({
        topic,
        partition: 0,
        key: `k${i % 17}`,
        value: `admin-${i}`,
      }));
      await producer.send({ messages, acks: -1 });
    } finally {
      await producer.close();
    }
    assert.equal(await listOffset(ListOffsetTimestamps.EARLIEST), 0n);
    assert.equal(await listOffset(ListOffsetTimestamps.LATEST), BigInt(recordCount));
    const [deleted] = await admin.deleteRecords({
      topics: [{ name: topic, partitions: [{ partition: 0, offset: deleteBefore }] }],
    });
    assert.equal(deleted?.partitions[0]?.lowWatermark, deleteBefore, 'low watermark');
    assert.equal(await listOffset(ListOffsetTimestamps.EARLIEST), deleteBefore);
    // A reader in a group of its own, from the earliest offset: it must start at the new log start.
    const read = await readEarliest(`${groupId}-reader`, recordCount - Number(deleteBefore));
    assert.equal(read[0]?.offset, deleteBefore, 'reading starts at the new log start');
    assert.deepEqual(
      read.map((message) => message.value),
      Array.from({ length: recordCount - Number(deleteBefore) }, (_, i) => `admin-${i + 40}`),
    );
  }));

test('groups listed and described; DeleteGroups refused while a member is in the group', (t) =>
  recordStep(t, cell, async () => {
    const inGroup = member(groupId, 'plt-admin-member');
    let stream: MessagesStream<string, string, string, string> | undefined;
    try {
      const seen: string[] = [];
      stream = await inGroup.consume({
        topics: [topic],
        mode: MessagesStreamModes.EARLIEST,
        autocommit: 100,
      });
      stream.on('data', (message) => seen.push(message.value));
      const remaining = recordCount - Number(deleteBefore);
      await waitUntil(() => seen.length >= remaining, convergeTimeoutMs, 'the member to read');
      const committedOffset = async (): Promise<bigint | undefined> => {
        const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId] });
        const partitions = group?.topics.find((entry) => entry.name === topic)?.partitions;
        return partitions?.find((p) => p.partitionIndex === 0)?.committedOffset;
      };
      const deadline = Date.now() + convergeTimeoutMs;
      while ((await committedOffset()) !== BigInt(recordCount)) {
        assert.ok(Date.now() < deadline, `committed offset ${await committedOffset()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }

      const listed = await admin.listGroups();
      assert.ok(listed.has(groupId), `listGroups: ${[...listed.keys()]}`);
      const described = (await admin.describeGroups({ groups: [groupId] })).get(groupId);
      assert.equal(described?.members.size, 1, 'one member described');
      assert.equal(described?.state, 'Stable');

      await assert.rejects(admin.deleteGroups({ groups: [groupId] }), (error: unknown) => {
        assert.deepEqual(kafkaErrorNames(error), ['NON_EMPTY_GROUP']);
        return true;
      });
      await stream.close();
      stream = undefined;
      await inGroup.close(true);
      await admin.deleteGroups({ groups: [groupId] });
      assert.ok(!(await admin.listGroups()).has(groupId), 'group gone after DeleteGroups');
      await admin.deleteTopics({ topics: [topic] });
    } finally {
      await stream?.close().catch(() => undefined);
      await inGroup.close(true).catch(() => undefined);
    }
  }));
