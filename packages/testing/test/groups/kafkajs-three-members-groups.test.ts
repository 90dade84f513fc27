// kafkajs 2.2.4: three members of one group share six partitions (two each, once the group is
// stable) and together read every record, those written before they joined and after.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs, { type Consumer } from 'kafkajs';
import { clientCell, compatibilityScenarios, recordStep } from '../../src/index.ts';
import { produceValues, startGroupBroker } from './group-helpers.ts';
import { waitUntil } from './live-group-member.ts';

const { Kafka, logLevel } = kafkajs;
const cell = () => clientCell('kafkajs', compatibilityScenarios.classicGroup);

interface Member {
  readonly consumer: Consumer;
  /** value -> partition it was read from. */
  readonly read: Map<string, number>;
  assignment: number[];
}

async function startMember(consumer: Consumer, topic: string): Promise<Member> {
  const member: Member = { consumer, read: new Map(), assignment: [] };
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    const partitions = event.payload.memberAssignment[topic] ?? [];
    member.assignment = partitions.toSorted((a, b) => a - b);
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      member.read.set(message.value?.toString() ?? '', partition);
    },
  });
  return member;
}

test('three kafkajs members share six partitions and read every record', (t) =>
  recordStep(t, cell, async () => {
    const broker = await startGroupBroker();
    const kafka = new Kafka({
      clientId: 'groups-kafkajs-three',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    const consumers = [1, 2, 3].map(() =>
      kafka.consumer({ groupId: 'g-kjs3', sessionTimeout: 10_000, heartbeatInterval: 500 }),
    );
    t.after(async () => {
      await Promise.all(consumers.map((consumer) => consumer.disconnect()));
      await broker.close();
    });
    const first = Array.from({ length: 30 }, (_, i) => `first-${i}`);
    await produceValues(broker.bootstrap, 'kjs3', 6, first);
    const members = await Promise.all(consumers.map((consumer) => startMember(consumer, 'kjs3')));
    const describe = (): string =>
      members.map((m) => `${JSON.stringify(m.assignment)} read ${m.read.size}`).join('; ');
    await waitUntil(
      () => members.every((m) => m.assignment.length === 2),
      30_000,
      () => `two partitions per member: ${describe()}`,
    );
    assert.deepEqual(members.flatMap((m) => m.assignment).toSorted(), [0, 1, 2, 3, 4, 5]);
    const second = Array.from({ length: 30 }, (_, i) => `second-${i}`);
    await produceValues(broker.bootstrap, 'kjs3', 6, second, false);
    const everything = [...first, ...second].toSorted();
    const seen = (): Set<string> => new Set(members.flatMap((m) => [...m.read.keys()]));
    await waitUntil(
      () => seen().size === everything.length,
      20_000,
      () => `every record: ${describe()}`,
    );
    assert.deepEqual([...seen()].toSorted(), everything);
    // Records written after the group settled are read by the member that owns their partition.
    for (const member of members) {
      const fresh = [...member.read].filter(([value]) => value.startsWith('second-'));
      assert.equal(fresh.length, 10, describe());
      for (const [, partition] of fresh) assert.ok(member.assignment.includes(partition));
    }
  }));
