// KIP-848 consumer groups (ConsumerGroupHeartbeat) with @platformatic/kafka 2.12 sending
// group.protocol=consumer: server-side assignment, incremental rebalances on join and leave,
// committed offsets and group state across a broker crash, and `tributary groups` showing the
// group with its member epochs and assignments.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Consumer, stringDeserializers } from '@platformatic/kafka';
import { startBroker } from '@tributary/broker';
import {
  clientCell,
  cliMainPath,
  compatibilityScenarios,
  recordStep,
  RestartableBroker,
  runCommand,
  tempDir,
} from '../../src/index.ts';
import { platformaticConsumeInto, produceValues } from './group-helpers.ts';
import { waitUntil } from './live-group-member.ts';

const cell = () => clientCell('platformatic', compatibilityScenarios.consumerGroup);

function member(
  bootstrap: string,
  name: string,
  groupId: string,
  extra: { groupInstanceId?: string; groupRemoteAssignor?: string } = {},
) {
  return new Consumer({
    clientId: name,
    groupId,
    groupProtocol: 'consumer',
    bootstrapBrokers: [bootstrap],
    deserializers: stringDeserializers,
    ...extra,
  });
}

type Member = ReturnType<typeof member>;

function owned(consumer: Member): number[] {
  return (consumer.assignments ?? []).flatMap((a) => a.partitions).toSorted((a, b) => a - b);
}

test('two consumer-protocol members share six partitions and rebalance on join and leave', (t) =>
  recordStep(t, cell, async () => {
    const broker = await startBroker({
      port: 0,
      quiet: true,
      inMemory: true,
      groups: { consumerHeartbeatIntervalMs: 200 },
    });
    try {
      const values = Array.from({ length: 60 }, (_, i) => `m${i}`);
      await produceValues(broker.bootstrap, 'kip848', 6, values);
      const seen = new Set<string>();
      const first = member(broker.bootstrap, 'kip848-a', 'g-kip848');
      const firstStream = await platformaticConsumeInto(first, 'kip848', seen);
      await waitUntil(() => owned(first).length === 6, 20_000, 'the first member to own all six');
      const second = member(broker.bootstrap, 'kip848-b', 'g-kip848');
      const secondStream = await platformaticConsumeInto(second, 'kip848', seen);
      await waitUntil(
        () => owned(first).length === 3 && owned(second).length === 3,
        20_000,
        'three partitions each',
      );
      assert.deepEqual(
        [...owned(first), ...owned(second)].toSorted((a, b) => a - b),
        [0, 1, 2, 3, 4, 5],
      );
      await waitUntil(() => seen.size === values.length, 30_000, 'every record');
      await secondStream.close();
      await second.close();
      await waitUntil(
        () => owned(first).length === 6,
        20_000,
        'the partitions back after the leave',
      );
      await firstStream.close();
      await first.close();
    } finally {
      await broker.close();
    }
  }));

test('static members with the range assignor get contiguous ranges', (t) =>
  recordStep(t, cell, async () => {
    const broker = await startBroker({
      port: 0,
      quiet: true,
      inMemory: true,
      groups: { consumerHeartbeatIntervalMs: 200 },
    });
    try {
      await produceValues(broker.bootstrap, 'kip848-range', 6, ['x']);
      const members = ['pod-1', 'pod-2'].map((instance) =>
        member(broker.bootstrap, instance, 'g-kip848-range', {
          groupInstanceId: instance,
          groupRemoteAssignor: 'range',
        }),
      );
      const streams = await Promise.all(
        members.map((consumer) => platformaticConsumeInto(consumer, 'kip848-range', new Set())),
      );
      await waitUntil(
        () => members.every((consumer) => owned(consumer).length === 3),
        20_000,
        'three partitions each',
      );
      const ranges = members.map(owned).toSorted((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
      assert.deepEqual(ranges, [
        [0, 1, 2],
        [3, 4, 5],
      ]);
      const described = await groupsCli(broker.bootstrap, 'describe', 'g-kip848-range');
      assert.match(described, /ASSIGNOR range/);
      assert.match(described, /\spod-1\s/);
      await Promise.all(streams.map((stream) => stream.close()));
      await Promise.all(members.map((consumer) => consumer.close()));
    } finally {
      await broker.close();
    }
  }));

async function groupsCli(bootstrap: string, ...args: string[]): Promise<string> {
  const result = await runCommand(
    process.execPath,
    [cliMainPath, 'groups', ...args, '--bootstrap', bootstrap],
    { timeoutMs: 20_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

test('committed offsets and the group survive a broker crash; the CLI shows the group', (t) =>
  recordStep(t, cell, async () => {
    const dir = await tempDir('kip848-restart');
    const broker = new RestartableBroker({ dataDir: dir.path });
    await broker.start();
    try {
      const values = Array.from({ length: 12 }, (_, i) => `before${i}`);
      await produceValues(broker.bootstrap, 'kip848-resume', 6, values);
      const seen = new Set<string>();
      const first = member(broker.bootstrap, 'kip848-first', 'g-kip848-resume');
      const stream = await platformaticConsumeInto(first, 'kip848-resume', seen);
      await waitUntil(() => seen.size === values.length, 30_000, 'the first records');
      await new Promise((resolve) => setTimeout(resolve, 500)); // let autocommit run

      const listed = await groupsCli(broker.bootstrap, 'list');
      assert.match(listed, /^GROUP\s+TYPE\s+STATE\s+PROTOCOL-TYPE/m);
      assert.match(listed, /^g-kip848-resume\s+consumer\s+Stable\s+consumer\s*$/m);
      const described = await groupsCli(broker.bootstrap, 'describe', 'g-kip848-resume');
      assert.match(
        described,
        /TYPE consumer {2}STATE Stable {2}GROUP-EPOCH 1 {2}ASSIGNMENT-EPOCH 1/,
      );
      assert.match(described, /ASSIGNOR uniform/);
      const memberLine = described.split('\n').find((line) => line.includes('kip848-first'));
      assert.match(
        memberLine ?? '',
        /\s1\s+kip848-first\s.*kip848-resume:0,1,2,3,4,5\s+kip848-resume:0,1,2,3,4,5/,
      );

      await stream.close();
      await first.close();
      await broker.kill();
      await broker.start();

      const more = Array.from({ length: 6 }, (_, i) => `after${i}`);
      await produceValues(broker.bootstrap, 'kip848-resume', 6, more, false);
      const later = new Set<string>();
      const resumed = member(broker.bootstrap, 'kip848-resumed', 'g-kip848-resume');
      const again = await platformaticConsumeInto(resumed, 'kip848-resume', later);
      await waitUntil(() => later.size >= more.length, 30_000, 'the records after the restart');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual([...later].toSorted(), more.toSorted(), 'resumed from the commits');
      const after = await groupsCli(broker.bootstrap, 'describe', 'g-kip848-resume');
      assert.match(after, /GROUP-EPOCH 3/, 'epochs continue after the restart (leave, join)');
      await again.close();
      await resumed.close();
    } finally {
      await broker.current.stop();
      await dir.remove();
    }
  }));
