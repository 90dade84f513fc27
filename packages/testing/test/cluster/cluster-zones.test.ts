/**
 * Zone routing: brokers in racks a and b, and clients in both zones that say so (zone=<rack> in
 * client.id, client.rack for consumers). Each client is shown leaders in its own zone; a broker
 * taking a produce for a partition led in the other zone writes the batch to the bucket itself
 * and hands the leader only its location. Every broker's Prometheus counters of record bytes
 * exchanged with clients of another zone must stay 0 while every record arrives exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KafkaConnection } from '@tributary/cli';
import { createTopicsApi, ErrorCode, metadataApi } from '@tributary/protocol';
import {
  kcatPath,
  runCommand,
  scrapeMetric,
  startTestCluster,
  type TestCluster,
} from '@tributary/testing';
import { freePort } from './cluster-helpers.ts';

const racks = ['a', 'b', 'a'];
const metricsPorts = new Map<number, number>();
let cluster: TestCluster;

before(async () => {
  for (const nodeId of [1, 2, 3]) metricsPorts.set(nodeId, await freePort());
  cluster = await startTestCluster({
    brokers: 3,
    racks,
    brokerArgs: (nodeId) => ['--metrics-listen', `127.0.0.1:${metricsPorts.get(nodeId)}`],
  });
});

after(async () => {
  await cluster?.stop();
});

async function request<T>(work: (connection: KafkaConnection) => Promise<T>, clientId: string) {
  const first = [...cluster.brokers.values()][0];
  assert.ok(first !== undefined);
  const connection = await KafkaConnection.connect(
    { host: first.host, port: first.port },
    { clientId },
  );
  try {
    return await work(connection);
  } finally {
    connection.close();
  }
}

/** Leaders of `topic` as a client with `clientId` is shown them. */
function shownLeaders(topic: string, clientId: string): Promise<number[]> {
  return request(async (connection) => {
    const response = await connection.request(metadataApi, 12, {
      topics: [{ name: topic }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    return (response.topics[0]?.partitions ?? [])
      .toSorted((a, b) => a.partitionIndex - b.partitionIndex)
      .map((partition) => partition.leaderId);
  }, clientId);
}

async function metricOf(nodeId: number, name: string): Promise<number> {
  const url = `http://127.0.0.1:${metricsPorts.get(nodeId)}/metrics`;
  const value = await scrapeMetric(url, name);
  assert.ok(value !== undefined, `${name} on node ${nodeId}`);
  return value;
}

async function produce(topic: string, zone: string, values: string[]) {
  const result = await runCommand(
    kcatPath,
    ['-P', '-b', cluster.bootstrap(), '-t', topic, '-K', ':'].concat(
      ['-X', `client.id=orders,zone=${zone}`, '-X', 'enable.idempotence=true'],
      ['-X', 'acks=all', '-X', 'partitioner=murmur2_random'],
    ),
    { input: `${values.map((value) => `${value}:${value}`).join('\n')}\n`, timeoutMs: 60_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /Delivery failed/i);
}

async function consume(topic: string, zone: string): Promise<string[]> {
  const result = await runCommand(
    kcatPath,
    ['-C', '-b', cluster.bootstrap(), '-t', topic, '-o', 'beginning', '-e', '-q'].concat([
      '-X',
      `client.id=reader,zone=${zone}`,
      '-X',
      `client.rack=${zone}`,
      '-f',
      '%s\n',
    ]),
    { timeoutMs: 60_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.split('\n').filter((line) => line !== '');
}

test('clients in two zones exchange no record bytes with brokers of the other zone', async () => {
  const topic = 'zoned';
  await request(async (connection) => {
    const response = await connection.request(createTopicsApi, 7, {
      topics: [
        { name: topic, numPartitions: 6, replicationFactor: -1, assignments: [], configs: [] },
      ],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    assert.equal(response.topics[0]?.errorCode, ErrorCode.NONE);
  }, 'admin');
  // Wait until every partition has a leader, then check what each zone is shown.
  let real: number[] = [];
  for (let i = 0; i < 100; i++) {
    real = await shownLeaders(topic, 'admin');
    if (real.every((leader) => leader > 0)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const rackOf = (nodeId: number): string => racks[nodeId - 1] ?? '';
  assert.ok(new Set(real.map(rackOf)).size === 2, `leaders in both zones: ${real}`);
  for (const zone of ['a', 'b']) {
    const shown = await shownLeaders(topic, `orders,zone=${zone}`);
    assert.deepEqual(
      shown.map(rackOf),
      shown.map(() => zone),
      `zone ${zone} sees ${shown}`,
    );
  }

  const fromA = Array.from({ length: 300 }, (_, n) => `a-${n}`);
  const fromB = Array.from({ length: 300 }, (_, n) => `b-${n}`);
  await Promise.all([produce(topic, 'a', fromA), produce(topic, 'b', fromB)]);
  for (const zone of ['a', 'b']) {
    const values = await consume(topic, zone);
    assert.equal(values.length, fromA.length + fromB.length, `zone ${zone} read every record once`);
    assert.deepEqual(new Set(values), new Set([...fromA, ...fromB]));
  }

  let forwarded = 0;
  for (const nodeId of [1, 2, 3]) {
    assert.equal(await metricOf(nodeId, 'tributary_cross_zone_produce_bytes_total'), 0);
    assert.equal(await metricOf(nodeId, 'tributary_cross_zone_fetch_bytes_total'), 0);
    forwarded += await metricOf(nodeId, 'tributary_zone_forwarded_batches_total');
  }
  assert.ok(forwarded > 0, 'some batches were stored in-zone and committed by the leader');
});
