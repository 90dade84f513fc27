/**
 * Log compaction in cluster mode, end to end: three broker processes (racks a, b, c) over a real
 * PostgreSQL and a real S3 server, with short compaction and collection intervals.
 *
 * - A cleanup.policy=compact topic gets many updates per key. Its leaders compact it: the
 *   topic's index rows and live bytes drop, the replaced objects leave the bucket after the
 *   grace delay, and a consumer reading from each broker in turn (client.rack and a zone in its
 *   client.id point it at its own rack's broker) sees every key's latest value, offsets
 *   increasing with gaps.
 * - A consumer group committing after every message fills `__consumer_offsets`; its leader
 *   compacts it; then that broker (the group coordinator) is killed, the new coordinator replays
 *   the compacted log, and the group's committed offset is still there: a new member resumes
 *   exactly at it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { kcatPath, runCommand, startTestCluster, type TestCluster } from '@tributary/testing';
import kafkajs, { type Admin, type Producer } from 'kafkajs';
import {
  allLed,
  coordinatorOf,
  eventually,
  listClusterObjects,
  parseRecordLines,
  type LogRecord,
} from './cluster-helpers.ts';

/** Short settings so the test sees compaction and collection; defaults are 30 s and minutes. */
const compactionIntervalMs = 500;
const deleteDelayMs = 2_000;
const gcIntervalMs = 500;
/** Bound on waiting for compaction to show: far above a few passes. */
const compactedWithinMs = 60_000;

const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;

let cluster: TestCluster;
let kafka: InstanceType<typeof Kafka>;
let admin: Admin;
let producer: Producer;

function override(setting: string): string[] {
  return ['--override', setting];
}

before(async () => {
  cluster = await startTestCluster({
    brokers: 3,
    args: [
      ...override(`cluster.compaction.interval.ms=${compactionIntervalMs}`),
      ...override(`cluster.object.delete.delay.ms=${deleteDelayMs}`),
      ...override(`cluster.object.gc.interval.ms=${gcIntervalMs}`),
    ],
  });
  kafka = new Kafka({
    clientId: 'compaction-test',
    brokers: cluster.bootstrap().split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 10 },
  });
  admin = kafka.admin();
  producer = kafka.producer();
  await Promise.all([admin.connect(), producer.connect()]);
});

after(async () => {
  await producer?.disconnect().catch(() => undefined);
  await admin?.disconnect().catch(() => undefined);
  await cluster?.stop();
});

function database(): string {
  return new URL(cluster.postgres.url).pathname.slice(1);
}

/** The index rows of `topic` and the bytes of the batches they point at. */
async function indexOf(topic: string): Promise<{ rows: number; bytes: number }> {
  const output = await cluster.postgres.psql(
    database(),
    'SELECT count(*), coalesce(sum(b.size_bytes), 0) FROM log_batches b ' +
      `JOIN topics t ON t.topic_id = b.topic_id WHERE t.name = '${topic}'`,
  );
  const [rows = '0', bytes = '0'] = output.trim().split('|');
  return { rows: Number(rows), bytes: Number(bytes) };
}

/** Records ever written to `topic` (its partitions' next offsets). */
async function writtenTo(topic: string): Promise<number> {
  const output = await cluster.postgres.psql(
    database(),
    'SELECT coalesce(sum(l.next_offset), 0) FROM partition_leases l ' +
      `JOIN topics t ON t.topic_id = l.topic_id WHERE t.name = '${topic}'`,
  );
  return Number(output.trim());
}

/** `compacted` lines the brokers logged so far. */
function compactionLog(): string[] {
  return [...cluster.brokers.values()].flatMap((broker) =>
    broker
      .stderr()
      .split('\n')
      .filter((line) => line.includes('cluster: compacted')),
  );
}

/** The whole topic read with kcat by a client of `rack`, so it fetches from that rack's broker. */
async function readFromRack(topic: string, rack: string): Promise<LogRecord[]> {
  const result = await runCommand(
    kcatPath,
    ['-C', '-b', cluster.bootstrap(), '-t', topic, '-o', 'beginning', '-e', '-q'].concat(
      ['-X', `client.rack=${rack}`, '-X', `client.id=compaction-reader,zone=${rack}`],
      ['-f', '%p %o %k %s\n'],
    ),
    { timeoutMs: 30_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  return parseRecordLines(result.stdout);
}

/** Per partition, offsets increase; per key, the last value read is the latest written. */
function checkLatest(records: readonly LogRecord[], latest: ReadonlyMap<string, string>): void {
  const lastOffset = new Map<number, number>();
  const lastValue = new Map<string, string>();
  for (const record of records) {
    const previous = lastOffset.get(record.partition) ?? -1;
    assert.ok(record.offset > previous, `partition ${record.partition}: ${record.offset}`);
    lastOffset.set(record.partition, record.offset);
    lastValue.set(record.key, record.value.replace(/\.+$/, ''));
  }
  assert.deepEqual(new Map([...lastValue].toSorted()), new Map([...latest].toSorted()));
}

test('a compacted topic shrinks and reads back each key latest value from every broker', async () => {
  const topic = 'compacted-keys';
  const keys = 20;
  const updates = 40;
  await admin.createTopics({
    topics: [
      {
        topic,
        numPartitions: 2,
        // The lag holds compaction off while the test measures the uncompacted index.
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'min.compaction.lag.ms', value: '3600000' },
        ],
      },
    ],
  });
  await allLed(cluster, topic, 2);
  const latest = new Map<string, string>();
  for (let round = 0; round < updates; round++) {
    const messages = [...Array(keys).keys()].map((k) => {
      const value = `v${round}-k${k}`;
      latest.set(`k${k}`, value);
      return { key: `k${k}`, value: value.padEnd(500, '.') };
    });
    await producer.send({ topic, messages });
  }
  const uncompacted = await indexOf(topic);
  const bucketBefore = (await listClusterObjects(cluster)).bytes;
  process.stdout.write(
    `# before: ${uncompacted.rows} rows, ${uncompacted.bytes} live bytes, bucket ${bucketBefore} bytes\n`,
  );
  // Every batch is past the lag now: the leaders compact the topic.
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: ConfigResourceTypes.TOPIC,
        name: topic,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'min.compaction.lag.ms', value: '0' },
        ],
      },
    ],
  });
  const compacted = await eventually('the topic compacted', compactedWithinMs, async () => {
    const now = await indexOf(topic);
    return now.bytes * 5 < uncompacted.bytes && now.rows * 2 < uncompacted.rows ? now : undefined;
  });
  const bucketAfter = await eventually('old objects collected', compactedWithinMs, async () => {
    const bytes = (await listClusterObjects(cluster)).bytes;
    return bytes * 2 < bucketBefore ? bytes : undefined;
  });
  process.stdout.write(
    `# after: ${compacted.rows} rows, ${compacted.bytes} live bytes, bucket ${bucketAfter} bytes\n`,
  );
  for (const line of compactionLog().slice(0, 4)) process.stdout.write(`# ${line}\n`);
  for (const rack of ['a', 'b', 'c']) {
    const records = await readFromRack(topic, rack);
    checkLatest(records, latest);
    assert.ok(records.length < (keys * updates) / 4, `rack ${rack}: ${records.length} records`);
    // Offsets kept their values: fewer records than offsets up to the last one.
    const offsets = records.filter((r) => r.partition === 0).map((r) => r.offset);
    assert.ok(offsets.length < (offsets.at(-1) ?? 0) + 1, `rack ${rack}: offsets with gaps`);
  }
});

test('__consumer_offsets is compacted; the group resumes at its offsets after a kill', async () => {
  const topic = 'compaction-work';
  const group = 'compaction-group';
  const total = 300;
  const committedAt = 200;
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await allLed(cluster, topic, 1);
  await producer.send({
    topic,
    messages: [...Array(total).keys()].map((i) => ({ key: `w${i}`, value: `work-${i}` })),
  });
  const writtenBefore = await writtenTo('__consumer_offsets');
  // One commit per message: ~200 batches in __consumer_offsets for one key.
  const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const { promise: reached, resolve: done } = Promise.withResolvers<void>();
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const next = Number(message.offset) + 1;
      if (next > committedAt) return;
      await consumer.commitOffsets([{ topic, partition, offset: String(next) }]);
      if (next === committedAt) done();
    },
  });
  await reached;
  await consumer.disconnect();
  // Each commit is one batch of one record: at least `committedAt` records were written.
  const written = await writtenTo('__consumer_offsets');
  assert.ok(written - writtenBefore >= committedAt, `${written - writtenBefore} records`);
  const compacted = await eventually(
    '__consumer_offsets compacted',
    compactedWithinMs,
    async () => {
      const now = await indexOf('__consumer_offsets');
      return now.rows * 4 < written ? now : undefined;
    },
  );
  process.stdout.write(
    `# __consumer_offsets: ${written} records written, ` +
      `${compacted.rows} rows / ${compacted.bytes} bytes left\n`,
  );
  const offsetsTopic = await cluster.postgres.psql(
    database(),
    "SELECT topic_id FROM topics WHERE name = '__consumer_offsets'",
  );
  const lines = compactionLog().filter((line) => line.includes(offsetsTopic.trim()));
  for (const line of lines.slice(0, 3)) process.stdout.write(`# ${line}\n`);
  assert.ok(lines.length > 0, 'its leader logged its compactions');
  const coordinator = await coordinatorOf(cluster.bootstrap(), group, 0);
  assert.ok(coordinator > 0, 'a coordinator');
  await cluster.killBroker(coordinator);
  const successor = await eventually('a new coordinator', 60_000, async () => {
    const node = await coordinatorOf(cluster.bootstrap(), group, 0);
    return node > 0 && node !== coordinator ? node : undefined;
  });
  process.stdout.write(`# coordinator ${coordinator} killed, ${successor} took over\n`);
  const fresh = new Kafka({
    clientId: 'compaction-test-2',
    brokers: cluster.bootstrap().split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 10 },
  });
  const check = fresh.admin();
  await check.connect();
  try {
    const offsets = await eventually('the committed offset read back', 60_000, async () => {
      const answer = await check.fetchOffsets({ groupId: group, topics: [topic] });
      return answer[0]?.partitions[0]?.offset;
    });
    assert.equal(offsets, String(committedAt));
  } finally {
    await check.disconnect();
  }
  const resumed = fresh.consumer({ groupId: group, maxWaitTimeInMs: 200 });
  await resumed.connect();
  await resumed.subscribe({ topic, fromBeginning: true });
  const first = await new Promise<string>((resolve) => {
    void resumed.run({ eachMessage: async ({ message }) => resolve(message.offset) });
  });
  await resumed.disconnect();
  assert.equal(first, String(committedAt), 'the group resumes at its committed offset');
});
