// Consumer groups with kafkajs 2.2.4 (JoinGroup v5, SyncGroup v3, OffsetCommit v5, OffsetFetch
// v4 ...): two members of one group read every record between them, and a later member of the
// same group resumes after their commits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs, { type Consumer } from 'kafkajs';
import { clientCell, compatibilityScenarios, recordStep } from '../../src/index.ts';
import { produceValues, startGroupBroker } from './group-helpers.ts';
import { waitUntil } from './live-group-member.ts';

const { Kafka, logLevel } = kafkajs;
const cell = () => clientCell('kafkajs', compatibilityScenarios.classicGroup);

async function consumeInto(
  consumer: Consumer,
  topic: string,
  sink: Map<string, string>,
): Promise<void> {
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      sink.set(message.value?.toString() ?? '', `${partition}`);
    },
  });
}

test('kafkajs consumers share a group, read everything and resume after commits', (t) =>
  recordStep(t, cell, async () => {
    const broker = await startGroupBroker();
    const kafka = new Kafka({
      clientId: 'groups-kafkajs',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    try {
      const values = Array.from({ length: 60 }, (_, i) => `k${i}`);
      await produceValues(broker.bootstrap, 'kjs', 4, values);
      const seen = new Map<string, string>();
      const members = [1, 2].map(() =>
        kafka.consumer({ groupId: 'g-kjs', sessionTimeout: 10_000, heartbeatInterval: 500 }),
      );
      await Promise.all(members.map((consumer) => consumeInto(consumer, 'kjs', seen)));
      await waitUntil(
        () => seen.size === values.length,
        30_000,
        () => 'every record',
      );
      assert.deepEqual([...seen.keys()].toSorted(), values.toSorted());
      await Promise.all(members.map((consumer) => consumer.disconnect()));

      const more = Array.from({ length: 8 }, (_, i) => `more${i}`);
      await produceValues(broker.bootstrap, 'kjs', 4, more, false);
      const later = new Map<string, string>();
      const resumed = kafka.consumer({ groupId: 'g-kjs', sessionTimeout: 10_000 });
      await consumeInto(resumed, 'kjs', later);
      await waitUntil(
        () => later.size >= more.length,
        30_000,
        () => 'the new records',
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      await resumed.disconnect();
      assert.deepEqual([...later.keys()].toSorted(), more.toSorted());
    } finally {
      await broker.close();
    }
  }));
