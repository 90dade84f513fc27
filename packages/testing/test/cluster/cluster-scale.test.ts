/**
 * Scale out and in by moving leases only (issue 12, "Tests"): three brokers over PostgreSQL and
 * S3, then a 4th joins and takes its share of the partition leases, with the bucket holding the
 * very same objects and bytes before and after (zero bytes copied); then two brokers stop
 * cleanly (SIGTERM) one after the other, each handing its leases off at once instead of letting
 * them expire, the bucket again unchanged; then 2 -> 4 -> 2, one broker at a time, under an
 * idempotent kcat load, after which every acknowledged record is in the log exactly once, in
 * order per key.
 */
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestCluster, type TestCluster } from '@tributary/testing';
import {
  assertDelivered,
  checkExactlyOnce,
  consumeAll,
  createTopic,
  eventually,
  listClusterObjects,
  metadataFrom,
  pacedProducer,
  type BucketListing,
  type ClusterMetadata,
} from './cluster-helpers.ts';

// Kafka's default lease: long enough that a lease taken by expiry is told apart from a hand-off.
const leaseMs = 10_000;
const keys = 24;

let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster({ brokers: 3, leaseMs });
});

after(async () => {
  await cluster?.stop();
});

/** Leases per node over every partition of the cluster (internal topics included). */
function leaseCounts(metadata: ClusterMetadata): Map<number, number> {
  const counts = new Map<number, number>();
  for (const { leader } of metadata.leaders.values()) {
    counts.set(leader, (counts.get(leader) ?? 0) + 1);
  }
  return counts;
}

/** Waits until every partition is led by a live broker and the leases are spread evenly. */
function evenSpread(timeoutMs: number): Promise<ClusterMetadata> {
  return eventually('an even spread of leases', timeoutMs, async () => {
    const metadata = await metadataFrom(cluster.bootstrap(), null);
    const live = [...cluster.brokers.keys()];
    const counts = leaseCounts(metadata);
    const total = metadata.leaders.size;
    // The transaction coordinator's partition follows the group coordinator's: one short.
    const fair = Math.max(1, Math.floor(total / live.length) - 1);
    const spread =
      [...counts.keys()].every((node) => live.includes(node)) &&
      live.every((node) => (counts.get(node) ?? 0) >= fair);
    return spread ? metadata : undefined;
  });
}

/** Two listings 2 s apart that agree: nothing is being written to the bucket. */
function quietBucket(): Promise<BucketListing> {
  return eventually('a quiet bucket', 30_000, async () => {
    const first = await listClusterObjects(cluster);
    await sleep(2000);
    const second = await listClusterObjects(cluster);
    return sameObjects(first, second) ? second : undefined;
  });
}

function sameObjects(a: BucketListing, b: BucketListing): boolean {
  return (
    a.objects.size === b.objects.size && [...a.objects].every(([k, n]) => b.objects.get(k) === n)
  );
}

function assertBucketUnchanged(
  t: TestContext,
  what: string,
  from: BucketListing,
  to: BucketListing,
) {
  t.diagnostic(
    `${what}: bucket before ${from.objects.size} objects / ${from.bytes} bytes, ` +
      `after ${to.objects.size} objects / ${to.bytes} bytes`,
  );
  assert.deepEqual([...to.objects].toSorted(), [...from.objects].toSorted(), what);
  const copied = to.bytes - from.bytes;
  t.diagnostic(`${what}: bytes copied by the move: ${copied}`);
  assert.equal(copied, 0);
}

/**
 * SIGTERMs `node` and checks its leases were handed off, not left to expire: every partition it
 * led is led by another live broker under a newer epoch well within the lease time.
 */
async function stopCleanly(t: TestContext, node: number): Promise<void> {
  const leases = await metadataFrom(cluster.bootstrap(), null);
  const held = [...leases.leaders].filter(([, lease]) => lease.leader === node);
  assert.ok(held.length > 0, `node ${node} leads some partitions`);
  const broker = cluster.brokers.get(node);
  const stoppedAt = Date.now();
  await cluster.stopBroker(node);
  assert.match(`${broker?.stdout()}${broker?.stderr()}`, /leases handed off/);
  await eventually(`node ${node}'s leases taken over`, leaseMs / 2, async () => {
    const now = (await metadataFrom(cluster.bootstrap(), null)).leaders;
    const moved = held.every(([partition, lease]) => {
      const current = now.get(partition);
      return (
        current !== undefined &&
        current.leader >= 0 &&
        current.leader !== node &&
        current.epoch > lease.epoch
      );
    });
    return moved ? true : undefined;
  });
  t.diagnostic(
    `node ${node} stopped: its ${held.length} leases moved ${Date.now() - stoppedAt} ms ` +
      `after the SIGTERM (lease time ${leaseMs} ms)`,
  );
}

/** Writes `rounds` x 20 `k:s-<n>` records to kcat, 100 ms apart; all must be delivered. */
async function produce(topic: string, bootstrap: string, rounds: number, first = 0) {
  const producer = pacedProducer(bootstrap, topic);
  const sent = new Set<string>();
  let next = first;
  for (let round = 0; round < rounds; round++) {
    const lines: string[] = [];
    for (let i = 0; i < 20; i++, next++) {
      lines.push(`k${next % keys}:s-${next}`);
      sent.add(`s-${next}`);
    }
    producer.write(lines);
    await sleep(100);
  }
  assertDelivered(await producer.end());
  return sent;
}

test('3 -> 4 -> 2 brokers with no load: leases move, not one byte in the bucket', async (t) => {
  const topic = 'scale';
  await createTopic(cluster, topic, 10);
  const written = await produce(topic, cluster.bootstrap(), 50);
  await evenSpread(30_000);
  const initial = await quietBucket();
  assert.ok(initial.objects.size > 0, 'the records are in the bucket');

  const joinedAt = Date.now();
  await cluster.startBroker(4);
  const spread = await evenSpread(4 * leaseMs);
  const share = leaseCounts(spread).get(4) ?? 0;
  t.diagnostic(
    `node 4 leads ${share} of ${spread.leaders.size} partitions ` +
      `${Date.now() - joinedAt} ms after its start`,
  );
  assert.ok(share >= 2, `node 4 got a share (${share})`);
  assertBucketUnchanged(t, '3 -> 4', initial, await quietBucket());

  await stopCleanly(t, 4);
  await stopCleanly(t, 3);
  await evenSpread(2 * leaseMs);
  assertBucketUnchanged(t, '4 -> 2', initial, await quietBucket());
  checkExactlyOnce(await consumeAll(cluster.bootstrap(), topic, written.size), written);
});

test('2 -> 3 -> 4 -> 3 -> 2 brokers under an idempotent kcat load: every acked record once', async (t) => {
  const topic = 'scale-load';
  await createTopic(cluster, topic, 10);
  // Nodes 1 and 2 stay up all along, so the producer's bootstrap stays valid.
  const bootstrap = cluster.bootstrap();
  const moves: string[] = [];
  let producing = true;
  const membership = (async () => {
    for (const [action, node] of [
      ['start', 3],
      ['start', 4],
      ['stop', 4],
      ['stop', 3],
    ] as const) {
      await sleep(5000);
      if (!producing) break;
      if (action === 'start') await cluster.startBroker(node);
      else await stopCleanly(t, node);
      moves.push(`${action} ${node}: ${[...cluster.brokers.keys()].join(',')} live`);
    }
  })();
  const sent = await produce(topic, bootstrap, 450).finally(() => (producing = false));
  await membership;
  t.diagnostic(`moves: ${moves.join('; ')}`);
  assert.equal(moves.length, 4, 'every membership change ran under load');
  const records = await consumeAll(cluster.bootstrap(), topic, sent.size);
  checkExactlyOnce(records, sent);
  t.diagnostic(`${sent.size} records acked, each in the log once`);
});
