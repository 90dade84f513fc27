/**
 * Helpers shared by the cluster fault and scale tests: Metadata and FindCoordinator over a raw
 * connection, bounded polling (`eventually`), topic creation that waits for every partition to be
 * led, a paced kcat producer, a read of a whole topic with kcat, the exactly-once check of an
 * acknowledged set, and a listing of the cluster's objects in the bucket.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { KafkaConnection } from '@tributary/cli';
import { createTopicsApi, ErrorCode, findCoordinatorApi, metadataApi } from '@tributary/protocol';
import { kcatPath, runCommand, type TestCluster } from '@tributary/testing';

export interface Lease {
  readonly leader: number;
  readonly epoch: number;
}

export interface ClusterMetadata {
  brokers: { nodeId: number; host: string; port: number; rack: string | null }[];
  /** `<topic>-<partition>` to its leader and leader epoch. */
  leaders: Map<string, Lease>;
  /** Topic name to topic id. */
  topicIds: Map<string, string>;
}

function firstAddress(bootstrap: string): { host: string; port: number } {
  const [host = '', port = '0'] = bootstrap.split(',')[0]?.split(':') ?? [];
  return { host, port: Number(port) };
}

export async function metadataFrom(
  bootstrap: string,
  topics: string[] | null,
): Promise<ClusterMetadata> {
  const connection = await KafkaConnection.connect(firstAddress(bootstrap));
  try {
    const response = await connection.request(metadataApi, 12, {
      topics: topics === null ? null : topics.map((name) => ({ name })),
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    const leaders = new Map<string, Lease>();
    const topicIds = new Map<string, string>();
    for (const topic of response.topics) {
      if (topic.name !== null) topicIds.set(topic.name, topic.topicId);
      for (const partition of topic.partitions) {
        leaders.set(`${topic.name}-${partition.partitionIndex}`, {
          leader: partition.leaderId,
          epoch: partition.leaderEpoch,
        });
      }
    }
    return { brokers: response.brokers, leaders, topicIds };
  } finally {
    connection.close();
  }
}

/** The node the cluster names as coordinator of `key` (keyType 0 group, 1 transaction). */
export async function coordinatorOf(
  bootstrap: string,
  key: string,
  keyType: number,
): Promise<number> {
  const connection = await KafkaConnection.connect(firstAddress(bootstrap));
  try {
    const response = await connection.request(findCoordinatorApi, 4, {
      keyType,
      coordinatorKeys: [key],
    });
    const found = response.coordinators[0];
    return found?.errorCode === ErrorCode.NONE ? found.nodeId : -1;
  } finally {
    connection.close();
  }
}

/** Polls `check` every 200 ms until it returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error: unknown) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms`, { cause: last });
    await sleep(200);
  }
}

/** Every partition of `topic` has a live leader; resolves with the metadata. */
export function allLed(
  cluster: TestCluster,
  topic: string,
  partitions: number,
  timeoutMs = 20_000,
): Promise<ClusterMetadata> {
  return eventually(`${topic} fully led`, timeoutMs, async () => {
    const metadata = await metadataFrom(cluster.bootstrap(), [topic]);
    const led = [...Array(partitions).keys()].every(
      (p) => (metadata.leaders.get(`${topic}-${p}`)?.leader ?? -1) >= 0,
    );
    return led ? metadata : undefined;
  });
}

/** CreateTopics v7 for one topic over `connection` (closed after); asserts it was created. */
export async function createTopicVia(
  connection: KafkaConnection,
  name: string,
  partitions = 1,
): Promise<void> {
  try {
    const response = await connection.request(createTopicsApi, 7, {
      topics: [
        { name, numPartitions: partitions, replicationFactor: -1, assignments: [], configs: [] },
      ],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    assert.equal(response.topics[0]?.errorCode, ErrorCode.NONE);
  } finally {
    connection.close();
  }
}

export async function createTopic(
  cluster: TestCluster,
  name: string,
  partitions: number,
): Promise<void> {
  const first = [...cluster.brokers.values()][0];
  assert.ok(first !== undefined);
  const connection = await KafkaConnection.connect({ host: first.host, port: first.port });
  await createTopicVia(connection, name, partitions);
  await allLed(cluster, name, partitions);
}

export interface PacedProducer {
  /** Writes `key:value` lines to kcat's stdin. */
  write(lines: readonly string[]): void;
  /** Closes stdin; resolves once kcat has delivered (or given up on) everything. */
  end(): Promise<{ code: number | null; stderr: string }>;
}

/** An idempotent acks=all kcat producer fed `key:value` lines. */
export function pacedProducer(bootstrap: string, topic: string): PacedProducer {
  const child = spawn(
    kcatPath,
    ['-P', '-b', bootstrap, '-t', topic, '-K', ':'].concat(
      ['-X', 'enable.idempotence=true', '-X', 'acks=all', '-X', 'linger.ms=5'],
      ['-X', 'topic.metadata.refresh.interval.ms=1000', '-X', 'message.timeout.ms=120000'],
    ),
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.once('close', (code) => resolve({ code, stderr }));
  });
  return {
    write: (lines) => {
      child.stdin.write(`${lines.join('\n')}\n`);
    },
    end: () => {
      child.stdin.end();
      return exited;
    },
  };
}

/** kcat succeeded and reported no record it failed to deliver. */
export function assertDelivered(result: { code: number | null; stderr: string }): void {
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /Delivery failed|failed to deliver/i);
}

/** kcat -G: a consumer group member that reads `topic` from the start, adding each value to `seen`. */
export function groupConsumer(bootstrap: string, group: string, topic: string, seen: Set<string>) {
  const child = spawn(
    kcatPath,
    // -u: unbuffered; stdout is a pipe, so kcat would otherwise hold the latest records back.
    ['-b', bootstrap, '-G', group, '-q', '-u', '-f', '%p %o %k %s\n'].concat(
      ['-X', 'auto.offset.reset=earliest', '-X', 'topic.metadata.refresh.interval.ms=1000'],
      [topic],
    ),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-16_384);
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    for (const record of parseRecordLines(line)) seen.add(record.value);
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    stderr: () => stderr,
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface LogRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly value: string;
}

/** `partition offset key value` lines (kcat's `%p %o %k %s\n`) as records. */
export function parseRecordLines(text: string): LogRecord[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [partition = '', offset = '', key = '', value = ''] = line.split(' ');
      return { partition: Number(partition), offset: Number(offset), key, value };
    });
}

/** Reads `topic` from the beginning to its end with kcat until at least `expected` records. */
export function consumeAll(
  bootstrap: string,
  topic: string,
  expected: number,
  timeoutMs = 60_000,
): Promise<LogRecord[]> {
  return eventually(`${expected} records of ${topic} consumed`, timeoutMs, async () => {
    const result = await runCommand(
      kcatPath,
      ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p %o %k %s\n'],
      { timeoutMs: 30_000 },
    );
    if (result.code !== 0) return undefined;
    const records = parseRecordLines(result.stdout);
    return records.length >= expected ? records : undefined;
  });
}

/** The number at the end of a value such as `c-12` or `12`. */
export function sequenceOf(value: string): number {
  return Number(/(\d+)$/.exec(value)?.[1] ?? Number.NaN);
}

/**
 * The log holds every `acked` value exactly once, every `unsure` value (sent, never acknowledged)
 * at most once and nothing else; within each key, values appear in the order they were sent
 * (their sequence number grows with the offset).
 */
export function checkExactlyOnce(
  records: readonly LogRecord[],
  acked: ReadonlySet<string>,
  unsure: ReadonlySet<string> = new Set(),
): void {
  const counts = new Map<string, number>();
  for (const record of records) counts.set(record.value, (counts.get(record.value) ?? 0) + 1);
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([value]) => value);
  const missing = [...acked].filter((value) => !counts.has(value));
  const unknown = [...counts.keys()].filter((value) => !acked.has(value) && !unsure.has(value));
  assert.deepEqual(duplicated.slice(0, 20), [], `${duplicated.length} values duplicated`);
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} acknowledged values missing`);
  assert.deepEqual(unknown.slice(0, 20), [], `${unknown.length} values never sent`);
  const lastByKey = new Map<string, number>();
  const inLogOrder = records.toSorted((a, b) => a.partition - b.partition || a.offset - b.offset);
  for (const record of inLogOrder) {
    const last = lastByKey.get(record.key) ?? -1;
    const sequence = sequenceOf(record.value);
    assert.ok(sequence > last, `key ${record.key}: ${record.value} after sequence ${last}`);
    lastByKey.set(record.key, sequence);
  }
}

export interface BucketListing {
  /** Object name to size in bytes. */
  readonly objects: ReadonlyMap<string, number>;
  readonly bytes: number;
}

/** Every object under the cluster's prefix in its bucket (ListObjectsV2, paged). */
export async function listClusterObjects(cluster: TestCluster): Promise<BucketListing> {
  const url = new URL(cluster.objectStoreUrl);
  const prefix = url.pathname.replace(/^\/+/, '');
  const client = bucketClient(cluster);
  try {
    const objects = new Map<string, number>();
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: url.hostname,
          Prefix: prefix,
          ContinuationToken: token,
        }),
      );
      for (const entry of page.Contents ?? []) objects.set(entry.Key ?? '', entry.Size ?? 0);
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    let bytes = 0;
    for (const size of objects.values()) bytes += size;
    return { objects, bytes };
  } finally {
    client.destroy();
  }
}

/** An S3 client for the cluster's bucket (path-style, the test server's credentials). */
export function bucketClient(cluster: TestCluster): S3Client {
  return new S3Client({
    endpoint: cluster.s3.endpoint,
    region: cluster.s3.region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: cluster.s3.accessKeyId,
      secretAccessKey: cluster.s3.secretAccessKey,
    },
  });
}

/** A loopback port free right now (for a broker's --metrics-listen). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
