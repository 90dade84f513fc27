// Consumer groups with @platformatic/kafka 2.12 (flexible versions: FindCoordinator v4+ batched
// keys, JoinGroup v6-9, OffsetCommit/OffsetFetch v8-9 with batched groups).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Consumer, stringDeserializers } from '@platformatic/kafka';
import { clientCell, compatibilityScenarios, recordStep } from '../../src/index.ts';
import { platformaticConsumeInto, produceValues, startGroupBroker } from './group-helpers.ts';
import { waitUntil } from './live-group-member.ts';

const cell = () => clientCell('platformatic', compatibilityScenarios.classicGroup);

function member(bootstrap: string, name: string) {
  return new Consumer({
    clientId: name,
    groupId: 'g-plt',
    bootstrapBrokers: [bootstrap],
    deserializers: stringDeserializers,
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
  });
}

test('@platformatic/kafka consumers share a group and resume after commits', (t) =>
  recordStep(t, cell, async () => {
    const broker = await startGroupBroker();
    try {
      const values = Array.from({ length: 40 }, (_, i) => `m${i}`);
      await produceValues(broker.bootstrap, 'plt', 4, values);
      const seen = new Set<string>();
      const members = [member(broker.bootstrap, 'plt-a'), member(broker.bootstrap, 'plt-b')];
      const streams = await Promise.all(
        members.map((consumer) => platformaticConsumeInto(consumer, 'plt', seen)),
      );
      await waitUntil(() => seen.size === values.length, 30_000, 'every record');
      await new Promise((resolve) => setTimeout(resolve, 500)); // let autocommit run
      await Promise.all(streams.map((stream) => stream.close()));
      await Promise.all(members.map((consumer) => consumer.close()));
      assert.deepEqual([...seen].toSorted(), values.toSorted());

      const more = ['n0', 'n1', 'n2', 'n3'];
      await produceValues(broker.bootstrap, 'plt', 4, more, false);
      const later = new Set<string>();
      const resumed = member(broker.bootstrap, 'plt-c');
      const stream = await platformaticConsumeInto(resumed, 'plt', later);
      await waitUntil(() => later.size >= more.length, 30_000, 'the new records');
      await new Promise((resolve) => setTimeout(resolve, 300));
      await stream.close();
      await resumed.close();
      assert.deepEqual([...later].toSorted(), more.toSorted());
    } finally {
      await broker.close();
    }
  }));
