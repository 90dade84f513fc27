/**
 * Cluster mode end to end: broker processes over a real PostgreSQL and a real S3 server, driven
 * by kcat (librdkafka). Membership and racks in Metadata/DescribeCluster, leases spread over the
 * brokers, a kill -9 under an idempotent producer (every acknowledged record is there exactly
 * once, in order per key), a paused (zombie) leader fenced, and the S3 server paused.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaConnection } from '@tributary/cli';
import {
  describeClusterApi,
  ErrorCode,
  buildRecordBatch,
  fetchApi,
  offsetForLeaderEpochApi,
  produceApi,
  readBatchHeader,
} from '@tributary/protocol';
import { startTestCluster, type TestCluster } from '@tributary/testing';
import {
  allLed,
  assertDelivered,
  checkExactlyOnce,
  consumeAll,
  createTopic,
  eventually,
  metadataFrom,
  pacedProducer,
  type ClusterMetadata,
} from './cluster-helpers.ts';

const leaseMs = 3000;
let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster({ brokers: 3, leaseMs });
});

after(async () => {
  await cluster?.stop();
});

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
  await createTopic(cluster, 'spread', 10);
  const nodes = [...cluster.brokers.keys()];
  // 13 partitions (10 + the three internal ones: group offsets, transaction state, audit log)
  // over 3 brokers: 4 or 5 each once the passes settle.
  const counts = await eventually('an even spread', 20_000, async () => {
    const metadata = await metadataFrom(cluster.bootstrap(), null);
    const byNode = new Map<number, number>();
    for (const { leader, epoch } of metadata.leaders.values()) {
      assert.ok(epoch >= 1, 'a lease epoch starts at 1');
      byNode.set(leader, (byNode.get(leader) ?? 0) + 1);
    }
    const led = nodes.map((node) => byNode.get(node) ?? 0);
    return Math.max(...led) - Math.min(...led) <= 1 && Math.min(...led) >= 4 ? byNode : undefined;
  });
  assert.equal(
    [...counts.values()].reduce((a, b) => a + b, 0),
    13,
  );
});

/**
 * Feeds an idempotent acks=all kcat producer `rounds` x `perRound` keyed records, 100 ms apart,
 * calling `onRound` after each round (the fault goes there); checks that kcat delivered them
 * all (every record acknowledged) and returns how many there were.
 */
async function produceThrough(
  topic: string,
  rounds: number,
  onRound: (round: number) => Promise<void>,
): Promise<Set<string>> {
  const perRound = 50;
  const keys = 24;
  const producer = pacedProducer(cluster.bootstrap(), topic);
  const sent = new Set<string>();
  let next = 0;
  for (let round = 0; round < rounds; round++) {
    const lines: string[] = [];
    for (let i = 0; i < perRound; i++, next++) {
      lines.push(`k${next % keys}:${next}`);
      sent.add(`${next}`);
    }
    producer.write(lines);
    await onRound(round);
    await sleep(100);
  }
  assertDelivered(await producer.end());
  return sent;
}

/** The log of `topic` holds every acked value exactly once, in order per key. */
async function assertExactlyOnce(topic: string, sent: ReadonlySet<string>): Promise<void> {
  checkExactlyOnce(await consumeAll(cluster.bootstrap(), topic, sent.size), sent);
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
  await createTopic(cluster, topic, 6);
  const before = (await metadataFrom(cluster.bootstrap(), [topic])).leaders;
  const victim = 2;
  const sent = await produceThrough(topic, 60, async (round) => {
    if (round === 20) await cluster.killBroker(victim);
  });
  await assertExactlyOnce(topic, sent);
  await checkMovedAway(topic, before, victim);
  await cluster.startBroker(victim);
});

/** A connection to the live broker `node`. */
function connectTo(node: number): Promise<KafkaConnection> {
  const broker = cluster.brokers.get(node);
  assert.ok(broker !== undefined, `node ${node} is live`);
  return KafkaConnection.connect({ host: broker.host, port: broker.port });
}

/** Every batch of a partition as (leader epoch stamped in it, last offset), read with Fetch. */
async function stampedBatches(topic: string, partition: number, node: number) {
  const connection = await connectTo(node);
  try {
    const found: { epoch: number; lastOffset: bigint }[] = [];
    for (let offset = 0n; ;) {
      const response = await connection.request(fetchApi, 12, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        topics: [
          { topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 1 << 20 }] },
        ],
      });
      const partitionData = response.responses[0]?.partitions[0];
      assert.equal(partitionData?.errorCode, ErrorCode.NONE);
      const records = partitionData?.records ?? Buffer.alloc(0);
      // Whole batches only: the last one of a response may be cut at the size limit (KIP-74).
      let position = 0;
      const before = found.length;
      while (position + 12 <= records.length) {
        const end = position + 12 + records.readInt32BE(position + 8);
        if (end > records.length) break;
        const header = readBatchHeader(records.subarray(position, end));
        const lastOffset = header.baseOffset + BigInt(header.lastOffsetDelta);
        found.push({ epoch: header.partitionLeaderEpoch, lastOffset });
        offset = lastOffset + 1n;
        position = end;
      }
      if (found.length === before) return found;
    }
  } finally {
    connection.close();
  }
}

test('OffsetForLeaderEpoch after the failover agrees with the epoch every batch carries', async () => {
  const topic = 'failover';
  // The previous test restarted the killed broker: until the leases settle a partition may be
  // shown without a leader (-1), so wait until all six are led.
  const { leaders } = await allLed(cluster, topic, 6);
  // A partition whose log holds batches of two epochs or more: one the killed broker led.
  let chosen;
  for (const [name, lease] of leaders) {
    const partition = Number(name.slice(topic.length + 1));
    const batches = await stampedBatches(topic, partition, lease.leader);
    const epochs = new Set(batches.map((batch) => batch.epoch));
    if (epochs.size >= 2) {
      chosen = { partition, lease, batches, epochs };
      break;
    }
  }
  assert.ok(chosen !== undefined, 'a partition holds batches of two leader epochs');
  const { partition, lease, batches, epochs } = chosen;
  const connection = await connectTo(lease.leader);
  const ask = async (currentLeaderEpoch: number, leaderEpoch: number) => {
    const response = await connection.request(offsetForLeaderEpochApi, 4, {
      replicaId: -1,
      topics: [{ topic, partitions: [{ partition, currentLeaderEpoch, leaderEpoch }] }],
    });
    const answer = response.topics[0]?.partitions[0];
    assert.ok(answer !== undefined);
    return answer;
  };
  try {
    const logEnd = (batches.at(-1)?.lastOffset ?? -1n) + 1n;
    const current = await ask(lease.epoch, lease.epoch);
    assert.deepEqual(
      [current.errorCode, current.leaderEpoch, current.endOffset],
      [0, lease.epoch, logEnd],
    );
    // A consumer that read a batch of epoch E asks where E ended: never below that batch's end,
    // or it would see a truncation that did not happen.
    for (const epoch of epochs) {
      const answer = await ask(lease.epoch, epoch);
      assert.equal(answer.errorCode, ErrorCode.NONE);
      assert.equal(answer.leaderEpoch, epoch, `epoch ${epoch} is in the history`);
      const lastOfEpoch = batches.filter((batch) => batch.epoch === epoch).at(-1)?.lastOffset ?? 0n;
      const firstLater = batches.find((batch) => batch.epoch > epoch);
      assert.ok(answer.endOffset > lastOfEpoch, `epoch ${epoch} ends after its last batch`);
      if (firstLater !== undefined) {
        assert.ok(answer.endOffset <= firstLater.lastOffset, `epoch ${epoch} ends before the next`);
      }
    }
    assert.equal(
      (await ask(lease.epoch - 1, lease.epoch)).errorCode,
      ErrorCode.FENCED_LEADER_EPOCH,
    );
    assert.equal(
      (await ask(lease.epoch + 1, lease.epoch)).errorCode,
      ErrorCode.UNKNOWN_LEADER_EPOCH,
    );
    const future = await ask(-1, lease.epoch + 5);
    assert.deepEqual([future.leaderEpoch, future.endOffset], [-1, -1n]);
  } finally {
    connection.close();
  }
});

test('NOT_LEADER_OR_FOLLOWER and FENCED_LEADER_EPOCH name the new leader (KIP-951)', async () => {
  const topic = 'failover';
  // The kill test restarted a broker, which then takes its share of leases back: wait until the
  // leases stop moving, so the leader named below is still the leader when the broker answers.
  const { leaders, topicIds } = await eventually('leases settled', 30_000, async () => {
    const first = await metadataFrom(cluster.bootstrap(), [topic]);
    await sleep(leaseMs);
    const second = await metadataFrom(cluster.bootstrap(), [topic]);
    const same = JSON.stringify([...first.leaders]) === JSON.stringify([...second.leaders]);
    return same ? second : undefined;
  });
  const [name, lease] = [...leaders][0] ?? [];
  assert.ok(name !== undefined && lease !== undefined);
  const partition = Number(name.slice(topic.length + 1));
  const other = [...cluster.brokers.keys()].find((node) => node !== lease.leader) ?? -1;
  const leader = cluster.brokers.get(lease.leader);
  assert.ok(leader !== undefined);
  const expectedEndpoint = [{ nodeId: lease.leader, host: leader.host, port: leader.port }];
  const connection = await connectTo(other);
  try {
    const records = buildRecordBatch({ records: [{ key: null, value: Buffer.from('hint') }] });
    const produced = await connection.request(produceApi, 11, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
    });
    const answer = produced.responses[0]?.partitionResponses[0];
    assert.equal(answer?.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.deepEqual(answer?.currentLeader, { leaderId: lease.leader, leaderEpoch: lease.epoch });
    assert.deepEqual(
      produced.nodeEndpoints.map(({ nodeId, host, port }) => ({ nodeId, host, port })),
      expectedEndpoint,
    );
    const fetched = await connection.request(fetchApi, 16, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [
        {
          topicId: topicIds.get(topic) ?? '',
          partitions: [{ partition, fetchOffset: 0n, currentLeaderEpoch: lease.epoch - 1 }],
        },
      ],
    });
    const fenced = fetched.responses[0]?.partitions[0];
    assert.equal(fenced?.errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    assert.deepEqual(fenced?.currentLeader, { leaderId: lease.leader, leaderEpoch: lease.epoch });
    assert.deepEqual(
      fetched.nodeEndpoints.map(({ nodeId, host, port }) => ({ nodeId, host, port })),
      expectedEndpoint,
    );
  } finally {
    connection.close();
  }
});

test('a paused leader (SIGSTOP past its lease) is fenced when it wakes: nothing lost', async () => {
  const topic = 'zombie';
  await createTopic(cluster, topic, 6);
  const before = (await metadataFrom(cluster.bootstrap(), [topic])).leaders;
  const zombie = before.get(`${topic}-0`)?.leader ?? 1;
  const pid = cluster.brokers.get(zombie)?.pid ?? 0;
  const sent = await produceThrough(topic, 100, async (round) => {
    if (round === 10) process.kill(pid, 'SIGSTOP');
    if (round === 10 + (leaseMs * 2) / 100) process.kill(pid, 'SIGCONT');
  });
  await assertExactlyOnce(topic, sent);
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
  await createTopic(cluster, topic, 6);
  const sent = await produceThrough(topic, 100, async (round) => {
    if (round === 10) process.kill(cluster.s3.pid, 'SIGSTOP');
    if (round === 60) process.kill(cluster.s3.pid, 'SIGCONT');
  });
  await assertExactlyOnce(topic, sent);
});
