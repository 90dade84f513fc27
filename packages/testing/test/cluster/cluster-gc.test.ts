/**
 * Object garbage collection in cluster mode, end to end: two broker processes over a real
 * PostgreSQL and a real S3 server, with a short grace delay and orphan age. Records are written
 * so that WAL objects hold batches of several partitions; DeleteRecords moves some partitions'
 * log starts past everything they hold and a topic is deleted. The objects that held only those
 * batches leave the bucket; objects still holding a live batch of another partition stay, and
 * every live record reads back. Objects planted under the cluster's prefix with no index row
 * (orphans) are collected; an object outside the prefix is left alone. At the end every object
 * the index references is still in the bucket.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { scrapeMetric, startTestCluster, type TestCluster } from '@tributary/testing';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import {
  consumeAll,
  createTopic,
  eventually,
  listClusterObjects,
  metadataFrom,
  bucketClient,
  freePort,
} from './cluster-helpers.ts';

/** Short settings so the test sees collection happen; production defaults are minutes/hours. */
const deleteDelayMs = 2_000;
const orphanMinAgeMs = 3_000;
const gcIntervalMs = 500;
/** Bound on waiting for the collector: far above delay + age + a few passes. */
const collectedWithinMs = 60_000;

const metricsPorts = new Map<number, number>();
let cluster: TestCluster;
let admin: Admin;
let producer: Producer;
/** Producers that send at once, so that windows hold batches of several partitions. */
let producers: Producer[] = [];

function override(setting: string): string[] {
  return ['--override', setting];
}

before(async () => {
  for (const nodeId of [1, 2]) metricsPorts.set(nodeId, await freePort());
  cluster = await startTestCluster({
    brokers: 2,
    args: [
      ...override(`cluster.object.delete.delay.ms=${deleteDelayMs}`),
      ...override(`cluster.orphan.object.min.age.ms=${orphanMinAgeMs}`),
      ...override(`cluster.object.gc.interval.ms=${gcIntervalMs}`),
      ...override('cluster.object.gc.max.objects.per.pass=50'),
    ],
    brokerArgs: (nodeId) => ['--metrics-listen', `127.0.0.1:${metricsPorts.get(nodeId)}`],
  });
  const kafka = new Kafka({
    clientId: 'gc-test',
    brokers: cluster.bootstrap().split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 10 },
  });
  admin = kafka.admin();
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  producers = [...Array(4).keys()].map(() =>
    kafka.producer({ idempotent: true, maxInFlightRequests: 1 }),
  );
  await Promise.all([
    admin.connect(),
    producer.connect(),
    ...producers.map((one) => one.connect()),
  ]);
});

after(async () => {
  await producer?.disconnect().catch(() => undefined);
  for (const one of producers) await one.disconnect().catch(() => undefined);
  await admin?.disconnect().catch(() => undefined);
  await cluster?.stop();
});

/** The metadata database's name (the last segment of its URL). */
function database(): string {
  return new URL(cluster.postgres.url).pathname.slice(1);
}

/** Object names (relative to the store prefix) referenced by batches of `topic`, by partition. */
async function objectsByPartition(topic: string): Promise<Map<number, Set<string>>> {
  const output = await cluster.postgres.psql(
    database(),
    'SELECT DISTINCT b.partition, o.name FROM log_batches b ' +
      'JOIN log_objects o ON o.object_id = b.object_id ' +
      `JOIN topics t ON t.topic_id = b.topic_id WHERE t.name = '${topic}'`,
  );
  const byPartition = new Map<number, Set<string>>();
  for (const line of output.split('\n').filter((entry) => entry !== '')) {
    const [partition = '', name = ''] = line.split('|');
    const names = byPartition.get(Number(partition)) ?? new Set<string>();
    names.add(name);
    byPartition.set(Number(partition), names);
  }
  return byPartition;
}

/** Every object name the index references (batches at or past their partition's log start). */
async function referencedObjects(): Promise<string[]> {
  const output = await cluster.postgres.psql(
    database(),
    'SELECT DISTINCT o.name FROM log_batches b JOIN log_objects o ON o.object_id = b.object_id ' +
      'JOIN partitions p ON p.topic_id = b.topic_id AND p.partition = b.partition ' +
      'WHERE b.last_offset >= p.log_start_offset',
  );
  return output.split('\n').filter((entry) => entry !== '');
}

/** Bucket listing as names relative to the store prefix (what log_objects.name holds). */
async function bucketNames(): Promise<Map<string, number>> {
  const prefix = `${new URL(cluster.objectStoreUrl).pathname.replace(/^\/+/, '')}/`;
  const listing = await listClusterObjects(cluster);
  return new Map([...listing.objects].map(([key, size]) => [key.slice(prefix.length), size]));
}

async function putObject(name: string, body: string): Promise<void> {
  const url = new URL(cluster.objectStoreUrl);
  const client = bucketClient(cluster);
  try {
    const key = `${url.pathname.replace(/^\/+/, '')}/${name}`;
    await client.send(new PutObjectCommand({ Bucket: url.hostname, Key: key, Body: body }));
  } finally {
    client.destroy();
  }
}

async function metricOf(nodeId: number, name: string): Promise<number> {
  const url = `http://127.0.0.1:${metricsPorts.get(nodeId)}/metrics`;
  const value = await scrapeMetric(url, name);
  assert.ok(value !== undefined, `${name} on node ${nodeId}`);
  return value;
}

async function metricTotal(name: string): Promise<number> {
  let total = 0;
  for (const nodeId of cluster.brokers.keys()) total += await metricOf(nodeId, name);
  return total;
}

/** Two partitions of `topic` led by one broker (so its windows hold both) and one led elsewhere. */
async function partitionsByLeader(topic: string, partitions: number) {
  const metadata = await metadataFrom(cluster.bootstrap(), [topic]);
  const leaderOf = (p: number): number => metadata.leaders.get(`${topic}-${p}`)?.leader ?? -1;
  for (let first = 0; first < partitions; first++) {
    for (let second = first + 1; second < partitions; second++) {
      if (leaderOf(first) !== leaderOf(second)) continue;
      const other = [...Array(partitions).keys()].find((p) => leaderOf(p) !== leaderOf(first));
      if (other !== undefined) return { dropped: first, kept: second, alone: other };
    }
  }
  throw new Error(`no two partitions of ${topic} share a leader with a third elsewhere`);
}

test('objects leave the bucket once no live batch is in them, and only then', async () => {
  const topic = 'gc-records';
  const partitions = 6;
  await createTopic(cluster, topic, partitions);
  const { dropped, kept, alone } = await partitionsByLeader(topic, partitions);
  // Producers sending at once: what arrives while a window is in flight forms the next one, so
  // windows (objects) of their leader hold batches of both `dropped` and `kept`; `alone` is led
  // by the other broker and gets objects of its own.
  const values = new Map<number, string[]>([
    [dropped, []],
    [kept, []],
    [alone, []],
  ]);
  await Promise.all(
    producers.map(async (one, index) => {
      for (let round = 0; round < 10; round++) {
        const messages = [dropped, kept, alone].flatMap((partition) =>
          [...Array(5).keys()].map((i) => {
            const value = `p${partition}-w${index}-r${round}-${i}`;
            values.get(partition)?.push(value);
            return { partition, key: `k${partition}`, value: value.padEnd(200, '.') };
          }),
        );
        await one.send({ topic, acks: -1, messages });
      }
    }),
  );
  // A topic that will be deleted whole.
  await createTopic(cluster, 'gc-dropped-topic', 1);
  for (let round = 0; round < 4; round++) {
    await producer.send({
      topic: 'gc-dropped-topic',
      acks: -1,
      messages: [...Array(20).keys()].map((i) => ({ value: `d-${round}-${i}`.padEnd(500, '.') })),
    });
  }
  const initial = await bucketNames();
  const byPartition = await objectsByPartition(topic);
  const droppedTopicObjects = [...((await objectsByPartition('gc-dropped-topic')).get(0) ?? [])];
  const keptObjects = byPartition.get(kept) ?? new Set<string>();
  const shared = [...(byPartition.get(dropped) ?? [])].filter((name) => keptObjects.has(name));
  assert.ok(shared.length > 0, 'some objects hold batches of both dropped and kept');
  const onlyDead = [
    ...[...(byPartition.get(dropped) ?? [])].filter((name) => !keptObjects.has(name)),
    ...(byPartition.get(alone) ?? []),
    ...droppedTopicObjects,
  ];
  assert.ok(onlyDead.length > 0);
  for (const name of [...keptObjects, ...onlyDead]) assert.ok(initial.has(name), name);

  // Every record of `dropped` and `alone` falls below its log start; the other topic goes.
  await admin.fetchTopicMetadata({ topics: [topic] });
  await admin.deleteTopicRecords({
    topic,
    partitions: [
      { partition: dropped, offset: '-1' },
      { partition: alone, offset: '-1' },
    ],
  });
  await admin.deleteTopics({ topics: ['gc-dropped-topic'] });

  const remaining = await eventually('the dead objects collected', collectedWithinMs, async () => {
    const listing = await bucketNames();
    return onlyDead.every((name) => !listing.has(name)) ? listing : undefined;
  });
  for (const name of keptObjects) assert.ok(remaining.has(name), `${name} holds live batches`);
  const freedBytes = onlyDead.reduce((sum, name) => sum + (initial.get(name) ?? 0), 0);
  process.stdout.write(
    `# collected ${onlyDead.length} objects (${freedBytes} bytes); kept ${keptObjects.size} ` +
      `(${shared.length} shared with a dropped partition); bucket ${initial.size} -> ${remaining.size}\n`,
  );

  // Every live record reads back: all of `kept`, nothing of the dropped partitions.
  const keptValues = values.get(kept) ?? [];
  const records = await consumeAll(cluster.bootstrap(), topic, keptValues.length);
  assert.deepEqual(
    records.map((record) => record.value.replace(/\.+$/, '')).toSorted(),
    keptValues.toSorted(),
  );
  assert.ok(records.every((record) => record.partition === kept));
  const deleted = await eventually('the collector counted', 10_000, async () => {
    const total = await metricTotal('tributary_cluster_objects_deleted_total');
    return total >= onlyDead.length ? total : undefined;
  });
  const bytes = await metricTotal('tributary_cluster_object_bytes_deleted_total');
  process.stdout.write(`# metrics: ${deleted} objects deleted, ${bytes} bytes\n`);
  await checkReferencedPresent();
});

test('orphans under the cluster prefix are collected; other objects are not', async () => {
  const names = await bucketNames();
  const clusterId = [...names.keys()][0]?.split('/')[0];
  assert.ok(clusterId !== undefined, 'the cluster wrote objects');
  // An upload whose commit never came (a window object's name), and a stray object.
  const orphans = [`${clusterId}/9/planted-incarnation/000000999999`, `${clusterId}/stray`];
  const foreign = 'not-this-cluster/object';
  for (const name of [...orphans, foreign]) await putObject(name, `orphan ${name}`);
  const adoptedBefore = await metricTotal('tributary_cluster_orphan_objects_total');
  await eventually('the orphans collected', collectedWithinMs, async () => {
    const listing = await bucketNames();
    return orphans.every((name) => !listing.has(name)) ? true : undefined;
  });
  assert.ok((await bucketNames()).has(foreign), 'outside the cluster prefix: left alone');
  const adopted = (await metricTotal('tributary_cluster_orphan_objects_total')) - adoptedBefore;
  assert.ok(adopted >= orphans.length, `${adopted} orphans counted`);
  await checkReferencedPresent();
});

test('writes keep working while the collector runs; nothing live is ever deleted', async () => {
  const topic = 'gc-busy';
  await createTopic(cluster, topic, 4);
  await admin.fetchTopicMetadata({ topics: [topic] });
  const sent: string[] = [];
  for (let round = 0; round < 20; round++) {
    const messages = [...Array(10).keys()].map((i) => {
      const value = `b-${round}-${i}`;
      sent.push(value);
      return { partition: (round + i) % 4, key: `k${i}`, value };
    });
    await producer.send({ topic, acks: -1, messages });
    if (round % 5 === 4) {
      // Trim a partition as we go, so the collector has work between writes.
      await admin.deleteTopicRecords({
        topic,
        partitions: [{ partition: round % 4, offset: '-1' }],
      });
    }
  }
  await new Promise((resolve) => setTimeout(resolve, deleteDelayMs + 4 * gcIntervalMs));
  await checkReferencedPresent();
  const offsets = await admin.fetchTopicOffsets(topic);
  const live = offsets.reduce((sum, entry) => sum + Number(entry.high) - Number(entry.low), 0);
  const records = await consumeAll(cluster.bootstrap(), topic, live);
  assert.equal(records.length, live);
  const sentSet = new Set(sent);
  assert.ok(records.every((record) => sentSet.has(record.value)));
});

/** Every object a live batch points at is in the bucket. */
async function checkReferencedPresent(): Promise<void> {
  const listing = await bucketNames();
  const missing = (await referencedObjects()).filter((name) => !listing.has(name));
  assert.deepEqual(missing, [], 'objects of live batches missing from the bucket');
}
