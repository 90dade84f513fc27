/**
 * Partition limits (docs/adr/0015): a CreateTopics asking for 1,000,000 partitions is refused
 * per topic with INVALID_PARTITIONS (max.partitions.per.topic, default 100000: librdkafka refuses
 * metadata with more), a topic beside it in the same request is still created, and kcat's
 * all-topics metadata keeps working. max.partitions (the total) refuses CreateTopics and
 * CreatePartitions that would pass it with POLICY_VIOLATION, naming the limit and the numbers;
 * both limits are dynamic (IncrementalAlterConfigs on the broker resource).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startBroker, type RunningBroker } from '@tributary/broker';
import { KafkaConnection } from '@tributary/cli';
import {
  createPartitionsApi,
  createTopicsApi,
  ErrorCode,
  incrementalAlterConfigsApi,
} from '@tributary/protocol';
import { kcatPath, runCommand } from '../../src/index.ts';

const commandTimeoutMs = 30_000;
const brokerResourceType = 4;
const setOperation = 0;
const brokers: RunningBroker[] = [];
const connections: KafkaConnection[] = [];
after(async () => {
  for (const connection of connections) connection.close();
  for (const broker of brokers) await broker.close();
});

async function start(settings: Record<string, string> = {}): Promise<KafkaConnection> {
  const broker = await startBroker({
    host: '127.0.0.1',
    port: 0,
    inMemory: true,
    quiet: true,
    settings: new Map(
      Object.entries(settings).map(([name, value]) => [name, { value, origin: 'test' }]),
    ),
  });
  brokers.push(broker);
  const connection = await KafkaConnection.connect({ host: '127.0.0.1', port: broker.port });
  connections.push(connection);
  return connection;
}

function createTopics(connection: KafkaConnection, topics: Record<string, number>) {
  return connection.request(createTopicsApi, 7, {
    topics: Object.entries(topics).map(([name, numPartitions]) => ({
      name,
      numPartitions,
      replicationFactor: -1,
      assignments: [],
      configs: [],
    })),
    timeoutMs: 10_000,
    validateOnly: false,
  });
}

function createPartitions(connection: KafkaConnection, name: string, count: number) {
  return connection.request(createPartitionsApi, 3, {
    topics: [{ name, count, assignments: null }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
}

/** kcat -L (all topics): partitions per topic, as librdkafka parses the metadata. */
async function kcatTopics(bootstrap: string): Promise<Map<string, number>> {
  const run = await runCommand(kcatPath, ['-b', bootstrap, '-L', '-J'], {
    timeoutMs: commandTimeoutMs,
  });
  assert.equal(run.code, 0, run.stderr);
  const metadata = JSON.parse(run.stdout) as { topics: { topic: string; partitions: unknown[] }[] };
  return new Map(metadata.topics.map((entry) => [entry.topic, entry.partitions.length]));
}

test('1,000,000 partitions: INVALID_PARTITIONS; a normal topic is created', async () => {
  const connection = await start();
  const response = await createTopics(connection, { 'huge-topic': 1_000_000, 'normal-topic': 3 });
  const byName = new Map(response.topics.map((topic) => [topic.name, topic]));
  const huge = byName.get('huge-topic');
  assert.equal(huge?.errorCode, ErrorCode.INVALID_PARTITIONS, huge?.errorMessage ?? '');
  assert.match(huge.errorMessage ?? '', /1000000 .*max\.partitions\.per\.topic \(100000\)/);
  assert.equal(byName.get('normal-topic')?.errorCode, ErrorCode.NONE);

  const grow = await createPartitions(connection, 'normal-topic', 1_000_000);
  assert.equal(grow.results[0]?.errorCode, ErrorCode.INVALID_PARTITIONS);
  assert.match(grow.results[0]?.errorMessage ?? '', /max\.partitions\.per\.topic/);
  assert.equal((await createPartitions(connection, 'normal-topic', 5)).results[0]?.errorCode, 0);

  const broker = brokers.at(-1);
  assert.ok(broker !== undefined);
  const topics = await kcatTopics(broker.bootstrap);
  assert.equal(topics.get('normal-topic'), 5, 'librdkafka reads all-topics metadata');
  assert.equal(topics.has('huge-topic'), false);
});

test('max.partitions refuses what would pass the total with POLICY_VIOLATION', async () => {
  const connection = await start({ 'max.partitions.per.topic': '8' });
  const broker = brokers.at(-1);
  assert.ok(broker !== undefined);
  // Internal topics count too; the limit is set live above what they hold.
  const internal = broker.storage.listTopics().reduce((sum, t) => sum + t.partitionCount, 0);
  const maxPartitions = internal + 10;
  await alterBroker(connection, broker.nodeId, 'max.partitions', String(maxPartitions));
  const first = await createTopics(connection, { 'total-a': 6 });
  assert.equal(first.topics[0]?.errorCode, ErrorCode.NONE, first.topics[0]?.errorMessage ?? '');

  const second = await createTopics(connection, { 'total-b': 5, 'total-c': 4 });
  const byName = new Map(second.topics.map((topic) => [topic.name, topic]));
  const refused = byName.get('total-b');
  assert.equal(refused?.errorCode, ErrorCode.POLICY_VIOLATION, refused?.errorMessage ?? '');
  assert.equal(
    refused.errorMessage,
    `5 more partitions would make ${internal + 11}, over max.partitions ` +
      `(${maxPartitions}; ${internal + 6} exist)`,
  );
  assert.equal(byName.get('total-c')?.errorCode, ErrorCode.NONE, 'the one that fits is created');

  const grow = await createPartitions(connection, 'total-a', 7);
  assert.equal(grow.results[0]?.errorCode, ErrorCode.POLICY_VIOLATION);
  assert.match(grow.results[0]?.errorMessage ?? '', /over max\.partitions/);
  const perTopic = await createTopics(connection, { 'total-d': 9 });
  assert.equal(perTopic.topics[0]?.errorCode, ErrorCode.INVALID_PARTITIONS);
});

async function alterBroker(
  connection: KafkaConnection,
  nodeId: number,
  name: string,
  value: string,
): Promise<void> {
  const altered = await connection.request(incrementalAlterConfigsApi, 1, {
    resources: [
      {
        resourceType: brokerResourceType,
        resourceName: String(nodeId),
        configs: [{ name, configOperation: setOperation, value }],
      },
    ],
  });
  const result = altered.responses[0];
  assert.equal(result?.errorCode, ErrorCode.NONE, result?.errorMessage ?? '');
}
