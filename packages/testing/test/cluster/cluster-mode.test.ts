/**
 * Cluster mode end to end: broker processes over a real PostgreSQL and a real S3 server, driven
 * by kcat (librdkafka). Membership and racks in Metadata/DescribeCluster, leases spread over the
 * brokers, a kill -9 under an idempotent producer (every acknowledged record is there exactly
 * once, in order per key), and scale out/in by moving leases only.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaConnection } from '@tributary/cli';
import { createTopicsApi, describeClusterApi, ErrorCode, metadataApi } from '@tributary/protocol';
import { kcatPath, runCommand, startTestCluster, type TestCluster } from '@tributary/testing';

const leaseMs = 3000;
let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster({ brokers: 3, leaseMs });
});

after(async () => {
  await cluster?.stop();
});

interface ClusterMetadata {
  brokers: { nodeId: number; host: string; port: number; rack: string | null }[];
  leaders: Map<string, { leader: number; epoch: number }>;
}

async function metadataFrom(bootstrap: string, topics: string[] | null): Promise<ClusterMetadata> {
  const [host = '', port = '0'] = bootstrap.split(',')[0]?.split(':') ?? [];
  const connection = await KafkaConnection.connect({ host, port: Number(port) });
  try {
    const response = await connection.request(metadataApi, 12, {
      topics: topics === null ? null : topics.map((name) => ({ name })),
      allowAutoTopicCreation: true,
      includeTopicAuthorizedOperations: false,
    });
    const leaders = new Map<string, { leader: number; epoch: number }>();
    for (const topic of response.topics) {
      for (const partition of topic.partitions) {
        leaders.set(`${topic.name}-${partition.partitionIndex}`, {
          leader: partition.leaderId,
          epoch: partition.leaderEpoch,
        });
      }
    }
    return { brokers: response.brokers, leaders };
  } finally {
    connection.close();
  }
}

/** Polls `check` every 200 ms until it returns a value, or fails after `timeoutMs`. */
async function eventually<T>(
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
function allLed(topic: string, partitions: number): Promise<ClusterMetadata> {
  return eventually(`${topic} fully led`, 20_000, async () => {
    const metadata = await metadataFrom(cluster.bootstrap(), [topic]);
    const led = [...Array(partitions).keys()].every(
      (p) => (metadata.leaders.get(`${topic}-${p}`)?.leader ?? -1) >= 0,
    );
    return led ? metadata : undefined;
  });
}

async function createTopic(name: string, partitions: number): Promise<void> {
  const first = [...cluster.brokers.values()][0];
  assert.ok(first !== undefined);
  const connection = await KafkaConnection.connect({ host: first.host, port: first.port });
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
  await allLed(name, partitions);
}

test('brokers form one cluster: every live broker and its rack are listed by all', async () => {
  const nodes = [...cluster.brokers.keys()];
  for (const broker of cluster.brokers.values()) {
    const metadata = await eventually('all brokers listed', 15_000, async () => {
      const found = await metadataFrom(broker.bootstrap, []);
      return found.brokers.length === nodes.length ? found : undefined;
    });
    assert.deepEqual(
      metadata.brokers.map((entry) => [entry.nodeId, entry.rack]),
      nodes.map((nodeId) => [nodeId, cluster.rackOf(nodeId)]),
    );
    const connection = await KafkaConnection.connect({ host: broker.host, port: broker.port });
    try {
      const described = await connection.request(describeClusterApi, 1, {
        includeClusterAuthorizedOperations: false,
        endpointType: 1,
      });
      assert.equal(described.errorCode, ErrorCode.NONE);
      assert.deepEqual(
        described.brokers.map((entry) => [entry.brokerId, entry.rack, entry.port]),
        nodes.map((nodeId) => [nodeId, cluster.rackOf(nodeId), cluster.brokers.get(nodeId)?.port]),
      );
    } finally {
      connection.close();
    }
  }
});

test('leases spread partitions over the brokers, each led by exactly one at an epoch', async () => {
  await createTopic('spread', 10);
  const nodes = [...cluster.brokers.keys()];
  // 12 partitions (10 + the two internal ones) over 3 brokers: 4 each once the passes settle.
  const counts = await eventually('an even spread', 20_000, async () => {
    const metadata = await metadataFrom(cluster.bootstrap(), null);
    const byNode = new Map<number, number>();
    for (const { leader, epoch } of metadata.leaders.values()) {
      assert.ok(epoch >= 1, 'a lease epoch starts at 1');
      byNode.set(leader, (byNode.get(leader) ?? 0) + 1);
    }
    return nodes.every((node) => byNode.get(node) === 4) ? byNode : undefined;
  });
  assert.equal(
    [...counts.values()].reduce((a, b) => a + b, 0),
    12,
  );
});

/** Runs a kcat producer fed line by line; resolves with its exit and stderr once it ends. */
function pacedProducer(topic: string) {
  const child = spawn(
    kcatPath,
    ['-P', '-b', cluster.bootstrap(), '-t', topic, '-K', ':'].concat(
      ['-X', 'enable.idempotence=true', '-X', 'acks=all', '-X', 'linger.ms=5'],
      ['-X', 'topic.metadata.refresh.interval.ms=1000', '-X', 'message.timeout.ms=120000'],
    ),
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.once('close', (code) => resolve({ code, stderr }));
  });
  return {
    write: (lines: string[]) => child.stdin.write(`${lines.join('\n')}\n`),
    end: () => {
      child.stdin.end();
      return exited;
    },
  };
}

async function consumeAll(topic: string, bootstrap: string, expected: number) {
  return eventually('every record consumed', 60_000, async () => {
    const result = await runCommand(
      kcatPath,
      ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p %o %k %s\n'],
      { timeoutMs: 30_000 },
    );
    if (result.code !== 0) return undefined;
    const records = result.stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const [partition = '', offset = '', key = '', value = ''] = line.split(' ');
        return { partition: Number(partition), offset: Number(offset), key, value: Number(value) };
      });
    return records.length >= expected ? records : undefined;
  });
}

/**
 * Feeds an idempotent acks=all kcat producer `rounds` x `perRound` keyed records, 100 ms apart,
 * calling `onRound` after each round (the fault goes there); checks that kcat delivered them
 * all (every record acknowledged) and returns how many there were.
 */
async function produceThrough(
  topic: string,
  rounds: number,
  onRound: (round: number) => Promise<void>,
): Promise<number> {
  const perRound = 50;
  const keys = 24;
  const producer = pacedProducer(topic);
  let next = 0;
  for (let round = 0; round < rounds; round++) {
    const lines: string[] = [];
    for (let i = 0; i < perRound; i++, next++) lines.push(`k${next % keys}:${next}`);
    producer.write(lines);
    await onRound(round);
    await sleep(100);
  }
  const { code, stderr } = await producer.end();
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /Delivery failed|failed to deliver/i);
  return next;
}

/** The log of `topic` holds records 0 .. count-1 exactly once, in order per key. */
async function checkExactlyOnce(topic: string, count: number): Promise<void> {
  const records = await consumeAll(topic, cluster.bootstrap(), count);
  const values = records.map((record) => record.value).toSorted((a, b) => a - b);
  assert.equal(values.length, count, 'no record lost or duplicated');
  assert.deepEqual(values, [...Array(count).keys()]);
  const lastByKey = new Map<string, number>();
  const inLogOrder = records.toSorted((a, b) => a.partition - b.partition || a.offset - b.offset);
  for (const record of inLogOrder) {
    const last = lastByKey.get(record.key) ?? -1;
    assert.ok(record.value > last, `key ${record.key}: ${record.value} after ${last}`);
    lastByKey.set(record.key, record.value);
  }
}

/** The partitions `node` led in `before` are led elsewhere now, under a newer epoch. */
async function checkMovedAway(topic: string, before: ClusterMetadata['leaders'], node: number) {
  const now = (await metadataFrom(cluster.bootstrap(), [topic])).leaders;
  const moved = [...before].filter(([, lease]) => lease.leader === node);
  assert.ok(moved.length > 0, `node ${node} led some partitions`);
  for (const [partition, lease] of moved) {
    const current = now.get(partition);
    assert.ok(current !== undefined && current.leader >= 0, partition);
    assert.ok(
      current.epoch > lease.epoch,
      `${partition}: epoch ${current.epoch} after ${lease.epoch}`,
    );
  }
}

test('kill -9 of a broker: its partitions move and every acked record is there once', async () => {
  const topic = 'failover';
  await createTopic(topic, 6);
  const before = (await metadataFrom(cluster.bootstrap(), [topic])).leaders;
  const victim = 2;
  const count = await produceThrough(topic, 60, async (round) => {
    if (round === 20) await cluster.killBroker(victim);
  });
  await checkExactlyOnce(topic, count);
  await checkMovedAway(topic, before, victim);
  await cluster.startBroker(victim);
});

test('a paused leader (SIGSTOP past its lease) is fenced when it wakes: nothing lost', async () => {
  const topic = 'zombie';
  await createTopic(topic, 6);
  const before = (await metadataFrom(cluster.bootstrap(), [topic])).leaders;
  const zombie = before.get(`${topic}-0`)?.leader ?? 1;
  const pid = cluster.brokers.get(zombie)?.pid ?? 0;
  const count = await produceThrough(topic, 100, async (round) => {
    if (round === 10) process.kill(pid, 'SIGSTOP');
    if (round === 10 + (leaseMs * 2) / 100) process.kill(pid, 'SIGCONT');
  });
  await checkExactlyOnce(topic, count);
  await checkMovedAway(topic, before, zombie);
  const broker = cluster.brokers.get(zombie);
  assert.match(
    `${broker?.stdout()}${broker?.stderr()}`,
    /lease lost/,
    'the zombie saw it was fenced',
  );
});

test('the S3 server paused for 5 s: produce waits or retries, nothing acked is lost', async () => {
  const topic = 's3-pause';
  await createTopic(topic, 6);
  const count = await produceThrough(topic, 100, async (round) => {
    if (round === 10) process.kill(cluster.s3.pid, 'SIGSTOP');
    if (round === 60) process.kill(cluster.s3.pid, 'SIGCONT');
  });
  await checkExactlyOnce(topic, count);
});
