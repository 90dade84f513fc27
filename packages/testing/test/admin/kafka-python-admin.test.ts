/**
 * The "admin (offsets, records, groups)" column for kafka-python 2.0.2, as full-scenario.ts's
 * adminScenario checks the line-driver clients, through drivers/kafka_python_driver.py (one
 * process per operation): a topic created with configs, ListOffsets earliest/latest (its
 * KafkaConsumer's beginning_offsets/end_offsets: KafkaAdminClient 2.0.2 has no list_offsets),
 * and a group listed, described and its offsets fetched with KafkaAdminClient while a kafka-python
 * member is in it; DeleteGroups is refused with NON_EMPTY_GROUP then, and accepted once the member
 * left. KafkaAdminClient 2.0.2 has no delete_records: that part is recorded as unsupported.
 * Steps share the broker and run in order: the first failure is the one to read.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RunningBroker } from '@tributary/broker';
import {
  clientCell,
  compatibilityScenarios,
  createKafkaPythonDriver,
  recordStep,
  recordUnsupported,
  runPythonDriver,
  tempDir,
  type TempDir,
} from '../../src/index.ts';
import {
  groupConsume,
  startGroupBroker,
  type GroupConsumeResult,
} from '../groups/group-helpers.ts';
import { waitUntil } from '../groups/live-group-member.ts';

const topic = 'kafka-python-admin';
const groupId = 'kafka-python-admin-group';
const recordCount = 100;
const operationTimeoutMs = 60_000;
const convergeTimeoutMs = 60_000;
const cellOf = clientCell('kafkaPython', compatibilityScenarios.groupAdmin);
const cell = () => cellOf;

let broker: RunningBroker;
let barrier: TempDir;

before(async () => {
  broker = await startGroupBroker();
  barrier = await tempDir('kafka-python-admin-barrier');
});

after(async () => {
  await broker.close();
  await barrier.remove();
});

recordUnsupported(
  cellOf,
  'DeleteRecords moves the log start',
  'KafkaAdminClient of kafka-python 2.0.2 has no delete_records (DeleteRecords)',
);

function kafkaPython(op: string, fields: Record<string, unknown> = {}): Promise<unknown> {
  const command = { op, bootstrap: broker.bootstrap, ...fields };
  return runPythonDriver('kafka_python_driver.py', command, operationTimeoutMs);
}

async function listOffset(spec: 'earliest' | 'latest'): Promise<number> {
  return (await kafkaPython('list_offsets', { topic, partition: 0, spec })) as number;
}

async function groupIds(): Promise<string[]> {
  const groups = (await kafkaPython('list_groups')) as { group_id: string }[];
  return groups.map((group) => group.group_id);
}

async function committedOffsets(): Promise<[number, number][]> {
  const offsets = (await kafkaPython('group_offsets', { group: groupId })) as {
    partition: number;
    offset: number;
  }[];
  return offsets.map((entry) => [entry.partition, entry.offset]);
}

test('creates a topic with configs and describes them', (t) =>
  recordStep(t, cell, async () => {
    await kafkaPython('create_topic', {
      topic,
      partitions: 2,
      configs: { 'retention.ms': '3600000' },
    });
    const configs = (await kafkaPython('describe_configs', { topic })) as Record<string, string>;
    assert.equal(configs['retention.ms'], '3600000');
  }));

test('ListOffsets earliest/latest', (t) =>
  recordStep(t, cell, async () => {
    const driver = await createKafkaPythonDriver({ bootstrap: broker.bootstrap });
    const records = Array.from({ length: recordCount }, (_, index) => ({
      partition: index % 2,
      key: Buffer.from(`k${index % 17}`),
      value: Buffer.from(`admin-${index}`),
      headers: [],
    }));
    await driver.produce(topic, records, { compression: 'none' });
    assert.equal(await listOffset('earliest'), 0);
    assert.equal(await listOffset('latest'), recordCount / 2);
  }));

test('groups listed and described; DeleteGroups refused while a member is in the group', (t) =>
  recordStep(t, cell, async () => {
    // The member (kafka-python's KafkaConsumer, auto-commit every 200 ms) writes its barrier file
    // once assigned, then stays in the group until a second file appears there.
    const memberFile = join(barrier.path, 'member');
    let finished: GroupConsumeResult | undefined;
    const member = groupConsume({
      bootstrap: broker.bootstrap,
      group: groupId,
      topic,
      name: 'member',
      barrierDir: barrier.path,
      members: 2,
      idleMs: 1000,
      client: 'kafka-python',
      timeoutMs: 120_000,
    }).then((result) => {
      finished = result;
      return result;
    });
    try {
      await waitUntil(
        () => existsSync(memberFile) || finished !== undefined,
        convergeTimeoutMs,
        'the kafka-python member to be assigned',
      );
      assert.equal(finished, undefined, 'the member left before the admin steps');
      const everyPartitionAtItsEnd: [number, number][] = [
        [0, recordCount / 2],
        [1, recordCount / 2],
      ];
      const deadline = Date.now() + convergeTimeoutMs;
      let committed = await committedOffsets();
      while (JSON.stringify(committed) !== JSON.stringify(everyPartitionAtItsEnd)) {
        assert.ok(Date.now() < deadline, `committed offsets ${JSON.stringify(committed)}`);
        committed = await committedOffsets();
      }
      assert.ok((await groupIds()).includes(groupId), 'listed while the member is in');
      const described = (await kafkaPython('describe_group', { group: groupId })) as {
        state: string;
        members: { partitions: number[] }[];
      };
      assert.equal(described.state, 'Stable');
      assert.deepEqual(
        described.members.map((m) => m.partitions),
        [[0, 1]],
        'one member owning both partitions',
      );
      await assert.rejects(kafkaPython('delete_group', { group: groupId }), /NonEmptyGroupError/);
    } finally {
      writeFileSync(join(barrier.path, 'test'), '');
    }
    const result = await member;
    assert.equal(result.records.length, recordCount, 'the member read every record');
    await kafkaPython('delete_group', { group: groupId });
    assert.ok(!(await groupIds()).includes(groupId), 'group gone after DeleteGroups');
    await kafkaPython('delete_topic', { topic });
  }));
