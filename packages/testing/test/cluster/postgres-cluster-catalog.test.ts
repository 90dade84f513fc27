/**
 * PostgresClusterCatalog against a real PostgreSQL (a private cluster started for this file,
 * a fresh database per test): broker registration and node id conflicts; lease claims that race
 * from two brokers and never overlap; epochs; expiry and release; window commits, fenced by
 * epoch and by next_offset, retried with the same object name; the batch index; notices
 * reaching another broker's listener (also after its connection is killed); object ids; object
 * garbage collection (marks, the grace delay, references racing the collector, orphans);
 * compaction commits (the range swapped in one transaction, a deposed leader's refused).
 * Lease expiry is moved with SQL (the database's clock), never waited for.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import {
  PostgresMetadataStore,
  StorageError,
  newTopicId,
  type AppendNotice,
  type CatalogListener,
  type CommittedBatch,
  type CompactionNotice,
  type PartitionAppend,
  type PostgresClusterCatalog,
  type TopicId,
  type TxnFields,
  type WindowCommit,
} from '@tributary/storage';
import { startPostgresServer } from '../../src/index.ts';

const server = await startPostgresServer();
process.stdout.write(`# PostgreSQL private cluster started in ${server.startMs} ms\n`);

const leaseMs = 60_000;
/** A bound for waits that must end by an event, not a hang; far above any expected delay. */
const eventBoundMs = 30_000;

let databases = 0;
/** Closers of what a test opened, also run at the end so a failed test leaves nothing open. */
const opened: (() => Promise<void>)[] = [];
after(async () => {
  await Promise.all(opened.map((close) => close()));
  await server.stop();
});
interface Cluster {
  database: string;
  stores: PostgresMetadataStore[];
  catalogs: PostgresClusterCatalog[];
  close(): Promise<void>;
}

/** A fresh database with `brokers` stores (one pool each, as separate brokers would have). */
async function freshCluster(purpose: string, brokers = 2): Promise<Cluster> {
  databases += 1;
  const database = `${purpose}_${databases}`;
  const url = await server.createDatabase(database);
  const stores: PostgresMetadataStore[] = [];
  for (let index = 0; index < brokers; index += 1) {
    stores.push(await PostgresMetadataStore.open({ url, poolMaxConnections: 4 }));
  }
  const cluster = {
    database,
    stores,
    catalogs: stores.map((store) => store.clusterCatalog()),
    close: async () => {
      await Promise.all(stores.map((store) => store.close()));
    },
  };
  opened.push(cluster.close);
  return cluster;
}

async function createTopic(
  store: PostgresMetadataStore,
  name: string,
  partitionCount: number,
): Promise<TopicId> {
  const topicId = newTopicId();
  await store.createTopic({ name, topicId, partitionCount, configs: {} });
  return topicId;
}

function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  assert.ok(item !== undefined, `no item ${index}`);
  return item;
}

function batch(
  topicId: TopicId,
  partition: number,
  baseOffset: bigint,
  recordCount: number,
  position: number,
  txn?: TxnFields,
): CommittedBatch {
  return {
    topicId,
    partition,
    baseOffset,
    lastOffset: baseOffset + BigInt(recordCount - 1),
    maxTimestamp: 1_700_000_000_000n + baseOffset,
    recordCount,
    producerId: 42n,
    producerEpoch: 3,
    baseSequence: Number(baseOffset),
    txn,
    entryVersion: 1,
    objectId: 0,
    position,
    sizeBytes: 100,
  };
}

/** A partition append of `counts` batches (records each) from `baseOffset`. */
function append(
  topicId: TopicId,
  partition: number,
  leaderEpoch: number,
  baseOffset: bigint,
  counts: readonly number[],
): PartitionAppend {
  const batches: CommittedBatch[] = [];
  let offset = baseOffset;
  for (const count of counts) {
    batches.push(batch(topicId, partition, offset, count, batches.length * 100));
    offset += BigInt(count);
  }
  return { topicId, partition, leaderEpoch, baseOffset, nextOffset: offset, batches };
}

async function windowOf(
  catalog: PostgresClusterCatalog,
  nodeId: number,
  partitions: PartitionAppend[],
): Promise<WindowCommit> {
  const objectId = await catalog.allocateObjectIds(1);
  return {
    objectId,
    objectName: `c/${nodeId}/inc/${objectId}`,
    sizeBytes: 4096,
    nodeId,
    // The batches live in this window's object.
    partitions: partitions.map((part) => ({
      ...part,
      batches: part.batches.map((row) => ({ ...row, objectId })),
    })),
  };
}

async function leaseOf(catalog: PostgresClusterCatalog, topicId: TopicId, partition: number) {
  const lease = (await catalog.listLeases()).find(
    (candidate) => candidate.topicId === topicId && candidate.partition === partition,
  );
  assert.ok(lease !== undefined, `no lease ${topicId}:${partition}`);
  return lease;
}

/**
 * A TCP proxy in front of the PostgreSQL server that, once armed, breaks the client's connection
 * at its next COMMIT: after passing the COMMIT on (the server commits, the reply is lost) or
 * before (the server never sees it and rolls back).
 */
async function commitBreakingProxy(): Promise<{
  url: (database: string) => string;
  arm: (mode: 'after' | 'before') => void;
  close: () => Promise<void>;
}> {
  let armed: 'after' | 'before' | undefined;
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((client) => {
    const upstream = connect(server.port, server.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    upstream.on('data', (chunk) => client.write(chunk));
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.on('data', (chunk: Buffer) => {
      const mode = armed;
      if (mode === undefined || !chunk.includes('COMMIT\0')) {
        upstream.write(chunk);
        return;
      }
      armed = undefined;
      if (mode === 'after') upstream.write(chunk, () => client.destroy());
      else upstream.destroy();
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    url: (database) => `postgres://tributary@127.0.0.1:${address.port}/${database}`,
    arm: (mode) => {
      armed = mode;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}

/** Records every notice; `until` resolves once a condition holds. */
class Recorder implements CatalogListener {
  readonly appends: AppendNotice[] = [];
  readonly compactions: CompactionNotice[] = [];
  leases = 0;
  topics = 0;
  reconnects = 0;
  readonly #waiters: { check: () => boolean; resolve: () => void }[] = [];

  onAppend(notices: readonly AppendNotice[]): void {
    this.appends.push(...notices);
    this.#wake();
  }
  onCompacted(notice: CompactionNotice): void {
    this.compactions.push(notice);
    this.#wake();
  }
  onLeasesChanged(): void {
    this.leases += 1;
    this.#wake();
  }
  onTopicsChanged(): void {
    this.topics += 1;
    this.#wake();
  }
  onReconnect(): void {
    this.reconnects += 1;
    this.#wake();
  }

  until(check: () => boolean, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no notice: ${what}`)), eventBoundMs);
      this.#waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  #wake(): void {
    const ready = this.#waiters.filter((waiter) => waiter.check());
    for (const waiter of ready) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }
}

/** Batches as appended (objectId 0: commitWindow takes the window's). */
function withoutObjectId(batches: readonly CommittedBatch[]): CommittedBatch[] {
  return batches.map((row) => ({ ...row, objectId: 0 }));
}

/** Moves every mark `ms` into the past (the database's clock is not waited for). */
async function ageMarks(database: string, ms: number): Promise<void> {
  await server.psql(
    database,
    `UPDATE log_objects SET marked_at = marked_at - interval '${ms} milliseconds' ` +
      'WHERE marked_at IS NOT NULL',
  );
}

/** Object rows as `id|marked|orphan|deleted` (t/f, empty for null), by id. */
async function objectRows(database: string, objectId?: number): Promise<string[]> {
  const output = await server.psql(
    database,
    "SELECT object_id, CASE WHEN marked_at IS NULL THEN '' ELSE 'm' END, orphan, " +
      "CASE WHEN deleted_at IS NULL THEN '' ELSE 'd' END FROM log_objects " +
      (objectId === undefined ? '' : `WHERE object_id = ${objectId} `) +
      'ORDER BY object_id',
  );
  return output === '' ? [] : output.split('\n');
}

/** A leader's window holding one batch of two records stored in another broker's object. */
async function pointerWindow(
  catalog: PostgresClusterCatalog,
  topicId: TopicId,
  baseOffset: bigint,
  objectId: number,
): Promise<WindowCommit> {
  const window = await windowOf(catalog, 1, [append(topicId, 0, 1, baseOffset, [2])]);
  for (const part of window.partitions) {
    part.batches = part.batches.map((row) => ({ ...row, objectId }));
  }
  return window;
}

function isStorageFailure(message: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof StorageError, String(error));
    assert.equal(error.code, 'STORAGE_FAILURE');
    assert.match(error.message, message);
    return true;
  };
}

/** Polls `check` every 50 ms until true, failing after the event bound. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + eventBoundMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${eventBoundMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function isNodeIdInUse(error: unknown): boolean {
  assert.ok(error instanceof StorageError);
  assert.equal(error.code, 'NODE_ID_IN_USE');
  return true;
}

describe('PostgresClusterCatalog', () => {
  it('registers brokers, refuses a second live incarnation and lists live ones', async () => {
    const cluster = await freshCluster('brokers');
    const [one, two] = [at(cluster.catalogs, 0), at(cluster.catalogs, 1)];
    const a = { nodeId: 1, rack: 'r1', host: 'h1', port: 9092, incarnation: 'a' };
    const b = { nodeId: 2, rack: null, host: 'h2', port: 9093, incarnation: 'b' };
    await one.registerBroker(a, leaseMs);
    await two.registerBroker(b, leaseMs);
    assert.deepEqual(await one.liveBrokers(leaseMs), [a, b]);
    // Another process claiming node 1 while it heartbeats is refused; the same one may re-register.
    await assert.rejects(two.registerBroker({ ...a, incarnation: 'x' }, leaseMs), isNodeIdInUse);
    await assert.rejects(two.heartbeat(1, 'x'), isNodeIdInUse);
    await one.registerBroker({ ...a, port: 9999 }, leaseMs);
    await one.heartbeat(1, 'a');
    assert.equal(at(await two.liveBrokers(leaseMs), 0).port, 9999);
    // A clean shutdown frees the node id at once.
    await one.deregisterBroker(1, 'a');
    assert.deepEqual(await one.liveBrokers(leaseMs), [b]);
    await two.registerBroker({ ...a, incarnation: 'x' }, leaseMs);
    await assert.rejects(one.heartbeat(1, 'a'), isNodeIdInUse);
    // A heartbeat older than the lease (database clock) is not live, and its id can be taken.
    await server.psql(
      cluster.database,
      "UPDATE cluster_brokers SET heartbeat_at = now() - interval '2 minutes' WHERE node_id = 2",
    );
    assert.deepEqual(
      (await one.liveBrokers(leaseMs)).map((broker) => broker.nodeId),
      [1],
    );
    await one.registerBroker({ ...b, incarnation: 'y' }, leaseMs);
    await assert.rejects(two.heartbeat(2, 'b'), isNodeIdInUse);
    await cluster.close();
  });

  it('never gives one lease to two brokers claiming at once, and bumps epochs', async () => {
    const cluster = await freshCluster('race');
    const [one, two] = [at(cluster.catalogs, 0), at(cluster.catalogs, 1)];
    const topicId = await createTopic(at(cluster.stores, 0), 'race', 40);
    await Promise.all([one.ensureLeaseRows(), two.ensureLeaseRows()]);
    assert.equal((await one.listLeases()).length, 40);
    const epochs = new Map<number, number>();
    for (let round = 1; round <= 5; round += 1) {
      const claims = await Promise.all(
        [one, two].map((catalog, index) =>
          catalog.claimLeases({ nodeId: index + 1, max: 40, leaseMs, liveNodes: [1, 2] }),
        ),
      );
      const [first, second] = [at(claims, 0), at(claims, 1)];
      const taken = [...first, ...second].map((lease) => lease.partition);
      assert.equal(new Set(taken).size, taken.length, `round ${round}: a lease taken twice`);
      assert.equal(taken.length, 40, `round ${round}: every free lease is taken`);
      for (const lease of [...first, ...second]) {
        assert.equal(lease.topicId, topicId);
        assert.equal(lease.live, true);
        assert.equal(lease.leaderEpoch, (epochs.get(lease.partition) ?? 0) + 1);
        epochs.set(lease.partition, lease.leaderEpoch);
      }
      assert.ok(first.every((lease) => lease.leaderNode === 1));
      assert.ok(second.every((lease) => lease.leaderNode === 2));
      // Held leases are not claimable; hand every lease back for the next round.
      assert.deepEqual(
        await one.claimLeases({ nodeId: 1, max: 40, leaseMs, liveNodes: [1, 2] }),
        [],
      );
      for (const [catalog, leases, nodeId] of [
        [one, first, 1],
        [two, second, 2],
      ] as const) {
        for (const lease of leases) {
          assert.equal(await catalog.releaseLease({ ...lease, nodeId }), true);
        }
      }
    }
    await cluster.close();
  });

  it('claims expired, released and dead-leader leases only, preferred ones first', async () => {
    const cluster = await freshCluster('expiry');
    const [one, two] = [at(cluster.catalogs, 0), at(cluster.catalogs, 1)];
    const topicId = await createTopic(at(cluster.stores, 0), 'expiry', 4);
    await one.ensureLeaseRows();
    const preferred = [{ topicId, partition: 3 }];
    const mine = await one.claimLeases({ nodeId: 1, max: 1, leaseMs, liveNodes: [1], preferred });
    assert.deepEqual(
      mine.map((lease) => [lease.partition, lease.leaderNode, lease.leaderEpoch]),
      [[3, 1, 1]],
    );
    const rest = await one.claimLeases({ nodeId: 1, max: 10, leaseMs, liveNodes: [1] });
    assert.deepEqual(
      rest.map((lease) => lease.partition),
      [0, 1, 2],
    );
    // Live leases of a live leader stay put.
    assert.deepEqual(await two.claimLeases({ nodeId: 2, max: 10, leaseMs, liveNodes: [1, 2] }), []);
    // Expired by the database's clock: claimable, with the next epoch.
    await server.psql(
      cluster.database,
      "UPDATE partition_leases SET lease_expires_at = now() - interval '1 second' " +
        'WHERE partition = 0',
    );
    assert.equal((await leaseOf(one, topicId, 0)).live, false);
    const expired = await two.claimLeases({ nodeId: 2, max: 10, leaseMs, liveNodes: [1, 2] });
    assert.deepEqual(
      expired.map((lease) => [lease.partition, lease.leaderNode, lease.leaderEpoch]),
      [[0, 2, 2]],
    );
    // A leader missing from liveNodes loses its unexpired leases.
    const dead = await two.claimLeases({ nodeId: 2, max: 1, leaseMs, liveNodes: [2] });
    assert.deepEqual(
      dead.map((lease) => [lease.partition, lease.leaderEpoch]),
      [[1, 2]],
    );
    // Renewing returns what a node still holds.
    assert.deepEqual(
      (await one.renewLeases(1, leaseMs)).map((lease) => lease.partition),
      [2, 3],
    );
    assert.deepEqual(
      (await two.renewLeases(2, leaseMs)).map((lease) => lease.partition),
      [0, 1],
    );
    // Release is conditional on node and epoch.
    assert.equal(
      await one.releaseLease({ nodeId: 1, topicId, partition: 2, leaderEpoch: 7 }),
      false,
    );
    assert.equal(
      await two.releaseLease({ nodeId: 2, topicId, partition: 2, leaderEpoch: 1 }),
      false,
    );
    assert.equal(
      await one.releaseLease({ nodeId: 1, topicId, partition: 2, leaderEpoch: 1 }),
      true,
    );
    const released = await leaseOf(two, topicId, 2);
    assert.deepEqual([released.leaderNode, released.live, released.leaderEpoch], [null, false, 1]);
    const again = await two.claimLeases({ nodeId: 2, max: 10, leaseMs, liveNodes: [1, 2] });
    assert.deepEqual(
      again.map((lease) => [lease.partition, lease.leaderEpoch]),
      [[2, 2]],
    );
    await cluster.close();
  });

  it('commits a window: offsets advance with the batch rows, read back in order', async () => {
    const cluster = await freshCluster('commit');
    const catalog = at(cluster.catalogs, 0);
    const topicId = await createTopic(at(cluster.stores, 0), 'commit', 2);
    await catalog.ensureLeaseRows();
    await catalog.claimLeases({ nodeId: 1, max: 2, leaseMs, liveNodes: [1] });
    const txn = { transactional: true, control: true, controlType: 1 };
    const p0 = append(topicId, 0, 1, 0n, [3, 2]);
    at(p0.batches, 1).txn = txn;
    const window = await windowOf(catalog, 1, [p0, append(topicId, 1, 1, 0n, [5])]);
    assert.deepEqual(await catalog.commitWindow(window), { fenced: [] });
    assert.equal((await leaseOf(catalog, topicId, 0)).nextOffset, 5n);
    assert.equal((await leaseOf(catalog, topicId, 1)).nextOffset, 5n);
    assert.deepEqual(withoutObjectId(await catalog.batchesFrom(topicId, 0, 0n, 10)), p0.batches);
    assert.deepEqual(withoutObjectId(await catalog.batchesFrom(topicId, 0, 4n, 10)), [
      at(p0.batches, 1),
    ]);
    assert.deepEqual(await catalog.batchesFrom(topicId, 0, 5n, 10), []);
    assert.equal((await catalog.batchesFrom(topicId, 0, 0n, 1)).length, 1);
    const all = await catalog.listBatches();
    assert.deepEqual(
      all.map((row) => [row.partition, row.baseOffset, row.objectId]),
      [
        [0, 0n, window.objectId],
        [0, 3n, window.objectId],
        [1, 0n, window.objectId],
      ],
    );
    assert.deepEqual(
      await catalog.objectNames([window.objectId, 999]),
      new Map([[window.objectId, window.objectName]]),
    );
    // The next window continues from next_offset.
    const next = await windowOf(catalog, 1, [append(topicId, 0, 1, 5n, [1])]);
    assert.deepEqual(await catalog.commitWindow(next), { fenced: [] });
    assert.equal((await leaseOf(catalog, topicId, 0)).nextOffset, 6n);
    // Retention: rows wholly below the log start go; a deleted topic's rows go too.
    await at(cluster.stores, 0).setLogStartOffset(topicId, 0, 4n);
    assert.equal(await catalog.deleteBatchesBelowLogStart(), 1);
    assert.deepEqual(
      (await catalog.listBatches()).map((row) => [row.partition, row.baseOffset]),
      [
        [0, 3n],
        [0, 5n],
        [1, 0n],
      ],
    );
    await at(cluster.stores, 0).deleteTopic('commit');
    assert.deepEqual(await catalog.listLeases(), []);
    assert.equal(await catalog.deleteBatchesBelowLogStart(), 3);
    await cluster.close();
  });

  it('fences a deposed leader and a stale next_offset, commits the rest', async () => {
    const cluster = await freshCluster('fence');
    const [one, two] = [at(cluster.catalogs, 0), at(cluster.catalogs, 1)];
    const topicId = await createTopic(at(cluster.stores, 0), 'fence', 3);
    await one.ensureLeaseRows();
    await one.claimLeases({ nodeId: 1, max: 3, leaseMs, liveNodes: [1] });
    // Broker 1 is paused past its lease of partition 0; broker 2 takes it (epoch 2).
    await server.psql(
      cluster.database,
      "UPDATE partition_leases SET lease_expires_at = now() - interval '1 second' " +
        'WHERE partition = 0',
    );
    const taken = await two.claimLeases({ nodeId: 2, max: 1, leaseMs, liveNodes: [1, 2] });
    assert.deepEqual(
      taken.map((lease) => [lease.partition, lease.leaderEpoch]),
      [[0, 2]],
    );
    // The zombie's window: partition 0 at its old epoch, partition 2 at a wrong base offset.
    const window = await windowOf(one, 1, [
      append(topicId, 0, 1, 0n, [2]),
      append(topicId, 1, 1, 0n, [4]),
      append(topicId, 2, 1, 7n, [1]),
    ]);
    const outcome = await one.commitWindow(window);
    assert.deepEqual(outcome, {
      fenced: [
        { topicId, partition: 0 },
        { topicId, partition: 2 },
      ],
    });
    assert.equal((await leaseOf(one, topicId, 0)).nextOffset, 0n);
    assert.equal((await leaseOf(one, topicId, 1)).nextOffset, 4n);
    assert.equal((await leaseOf(one, topicId, 2)).nextOffset, 0n);
    assert.deepEqual(
      (await one.listBatches()).map((row) => [row.partition, row.baseOffset]),
      [[1, 0n]],
    );
    // The new leader commits partition 0 from offset 0 under its epoch.
    const own = await windowOf(two, 2, [append(topicId, 0, 2, 0n, [2])]);
    assert.deepEqual(await two.commitWindow(own), { fenced: [] });
    assert.equal((await leaseOf(one, topicId, 0)).nextOffset, 2n);
    // Each claim recorded its epoch and the offset it started at (OffsetForLeaderEpoch).
    await server.psql(
      cluster.database,
      "UPDATE partition_leases SET lease_expires_at = now() - interval '1 second' " +
        'WHERE partition = 0',
    );
    await one.claimLeases({ nodeId: 1, max: 1, leaseMs, liveNodes: [1, 2] });
    assert.deepEqual(await two.epochHistory(topicId, 0), {
      leaderEpoch: 3,
      nextOffset: 2n,
      epochs: [
        { leaderEpoch: 1, startOffset: 0n },
        { leaderEpoch: 2, startOffset: 0n },
        { leaderEpoch: 3, startOffset: 2n },
      ],
    });
    assert.equal(await two.epochHistory(topicId, 9), undefined);
    await cluster.close();
  });

  it('answers a retried commit (same object name) with the first outcome, once', async () => {
    const cluster = await freshCluster('retry');
    const catalog = at(cluster.catalogs, 0);
    const topicId = await createTopic(at(cluster.stores, 0), 'retry', 2);
    await catalog.ensureLeaseRows();
    await catalog.claimLeases({ nodeId: 1, max: 2, leaseMs, liveNodes: [1] });
    const window = await windowOf(catalog, 1, [
      append(topicId, 0, 1, 0n, [2, 2]),
      append(topicId, 1, 1, 3n, [1]),
    ]);
    const fenced = { fenced: [{ topicId, partition: 1 }] };
    assert.deepEqual(await catalog.commitWindow(window), fenced);
    // The retry finds next_offset already moved: run again it would fence everything.
    assert.deepEqual(await catalog.commitWindow(window), fenced);
    assert.deepEqual(await at(cluster.catalogs, 1).commitWindow(window), fenced);
    assert.equal((await leaseOf(catalog, topicId, 0)).nextOffset, 4n);
    assert.equal((await catalog.listBatches()).length, 2);
    await cluster.close();
  });

  it('settles a commit whose reply was lost by looking for its object row', async () => {
    const cluster = await freshCluster('lost', 1);
    const proxy = await commitBreakingProxy();
    opened.push(proxy.close);
    const proxied = await PostgresMetadataStore.open({ url: proxy.url(cluster.database) });
    opened.push(() => proxied.close());
    const catalog = proxied.clusterCatalog();
    const topicId = await createTopic(at(cluster.stores, 0), 'lost', 2);
    await catalog.ensureLeaseRows();
    await catalog.claimLeases({ nodeId: 1, max: 2, leaseMs, liveNodes: [1] });
    // The COMMIT reached the server: the method finds the object and reports the outcome.
    const committed = await windowOf(catalog, 1, [
      append(topicId, 0, 1, 0n, [2]),
      append(topicId, 1, 1, 9n, [1]),
    ]);
    proxy.arm('after');
    assert.deepEqual(await catalog.commitWindow(committed), {
      fenced: [{ topicId, partition: 1 }],
    });
    assert.equal((await leaseOf(catalog, topicId, 0)).nextOffset, 2n);
    // The COMMIT never arrived: nothing is in the catalog, the method says so, a retry commits.
    const lost = await windowOf(catalog, 1, [append(topicId, 0, 1, 2n, [3])]);
    proxy.arm('before');
    await assert.rejects(catalog.commitWindow(lost), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.match(error.message, /not committed/);
      return true;
    });
    assert.equal((await leaseOf(catalog, topicId, 0)).nextOffset, 2n);
    assert.deepEqual(await catalog.commitWindow(lost), { fenced: [] });
    assert.equal((await leaseOf(catalog, topicId, 0)).nextOffset, 5n);
    await proxied.close();
    await proxy.close();
    await cluster.close();
  });

  it('tells another broker of appends, lease changes and topic changes', async () => {
    const cluster = await freshCluster('notify');
    const [one, two] = [at(cluster.catalogs, 0), at(cluster.catalogs, 1)];
    const recorder = new Recorder();
    const stop = await two.listen(recorder);
    opened.push(stop);
    const store = at(cluster.stores, 0);
    // 300 partitions: the notices of one window need more than one notification payload.
    const topicId = await createTopic(store, 'notify', 300);
    await recorder.until(() => recorder.topics >= 1, 'createTopic');
    await one.ensureLeaseRows();
    await recorder.until(() => recorder.leases >= 1, 'ensureLeaseRows');
    const leasesBefore = recorder.leases;
    const leases = await one.claimLeases({ nodeId: 1, max: 300, leaseMs, liveNodes: [1] });
    await recorder.until(() => recorder.leases > leasesBefore, 'claimLeases');
    const window = await windowOf(
      one,
      1,
      leases.map((lease) => append(topicId, lease.partition, 1, 0n, [lease.partition + 1])),
    );
    assert.deepEqual(await one.commitWindow(window), { fenced: [] });
    await recorder.until(() => recorder.appends.length >= 300, 'commitWindow');
    const heard = new Map(recorder.appends.map((notice) => [notice.partition, notice]));
    assert.equal(heard.size, 300);
    for (const [partition, notice] of heard) {
      assert.equal(notice.topicId, topicId);
      assert.equal(notice.nextOffset, BigInt(partition + 1));
    }
    // A fenced partition is not announced.
    const appendsBefore = recorder.appends.length;
    const stale = await windowOf(one, 1, [
      append(topicId, 0, 1, 0n, [1]),
      append(topicId, 1, 1, 2n, [3]),
    ]);
    assert.equal((await one.commitWindow(stale)).fenced.length, 1);
    await recorder.until(() => recorder.appends.length > appendsBefore, 'second commit');
    assert.deepEqual(recorder.appends.slice(appendsBefore), [
      { topicId, partition: 1, nextOffset: 5n },
    ]);
    const leasesNow = recorder.leases;
    assert.equal(
      await one.releaseLease({ nodeId: 1, topicId, partition: 0, leaderEpoch: 1 }),
      true,
    );
    await recorder.until(() => recorder.leases > leasesNow, 'releaseLease');
    for (const [what, change] of [
      ['setLogStartOffset', () => store.setLogStartOffset(topicId, 5, 3n)],
      [
        'updateTopic',
        () => store.updateTopic({ name: 'notify', topicId, partitionCount: 301, configs: {} }),
      ],
      ['notifyTopicsChanged', () => one.notifyTopicsChanged()],
      ['deleteTopic', () => store.deleteTopic('notify')],
    ] as const) {
      const topicsBefore = recorder.topics;
      await change();
      await recorder.until(() => recorder.topics > topicsBefore, what);
    }
    await stop();
    await cluster.close();
  });

  it('reconnects its listener after the connection is killed', async () => {
    const cluster = await freshCluster('reconnect');
    const [one, two] = [at(cluster.catalogs, 0), at(cluster.catalogs, 1)];
    const recorder = new Recorder();
    const stop = await two.listen(recorder);
    opened.push(stop);
    const killed = await server.psql(
      cluster.database,
      'SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity ' +
        "WHERE datname = current_database() AND application_name = 'tributary-listen'",
    );
    assert.equal(killed, '1');
    await recorder.until(() => recorder.reconnects === 1, 'onReconnect');
    await one.notifyTopicsChanged();
    await recorder.until(() => recorder.topics === 1, 'a notice after the reconnect');
    await stop();
    await cluster.close();
  });

  it('never hands out one object id twice, across brokers', async () => {
    const cluster = await freshCluster('ids');
    const sizes = [1, 5, 17, 3, 100, 2, 9, 40];
    const blocks = await Promise.all(
      cluster.catalogs.flatMap((catalog) =>
        sizes.map(async (size) => ({ first: await catalog.allocateObjectIds(size), size })),
      ),
    );
    const sorted = blocks.toSorted((a, b) => a.first - b.first);
    let next = 1;
    for (const block of sorted) {
      assert.equal(block.first, next, 'blocks are contiguous and disjoint');
      next += block.size;
    }
    await cluster.close();
  });

  it('swaps a compacted range in one transaction; a deposed leader is refused', async () => {
    const cluster = await freshCluster('compact');
    const [one, two] = [at(cluster.catalogs, 0), at(cluster.catalogs, 1)];
    const topicId = await createTopic(at(cluster.stores, 0), 'compact', 1);
    await one.ensureLeaseRows();
    await one.claimLeases({ nodeId: 1, max: 1, leaseMs, liveNodes: [1] });
    const first = await windowOf(one, 1, [append(topicId, 0, 1, 0n, [2, 3])]);
    const second = await windowOf(one, 1, [append(topicId, 0, 1, 5n, [1, 4])]);
    await one.commitWindow(first);
    await one.commitWindow(second);
    const recorder = new Recorder();
    const stop = await two.listen(recorder);
    // Offsets 0-5 (three batches over two objects) become two batches in a new object; 2-4
    // leaves a gap. The rows of 6-9 are not touched.
    const objectId = await one.allocateObjectIds(1);
    const compacted = (base: bigint, count: number): CommittedBatch => ({
      ...batch(topicId, 0, base, count, 0),
      recordCount: 1,
      objectId,
    });
    const commit = {
      topicId,
      partition: 0,
      leaderEpoch: 1,
      fromOffset: 0n,
      toOffset: 5n,
      replaced: [
        { baseOffset: 0n, objectId: first.objectId },
        { baseOffset: 2n, objectId: first.objectId },
        { baseOffset: 5n, objectId: second.objectId },
      ],
      object: { objectId, name: `c/1/inc/${objectId}`, sizeBytes: 200, nodeId: 1 },
      batches: [compacted(0n, 2), compacted(5n, 1)],
    };
    // Broker 1 is deposed (broker 2 takes the lease at epoch 2): its compaction is refused.
    await server.psql(
      cluster.database,
      "UPDATE partition_leases SET lease_expires_at = now() - interval '1 second'",
    );
    await two.claimLeases({ nodeId: 2, max: 1, leaseMs, liveNodes: [1, 2] });
    const rows = async (): Promise<string[]> =>
      (await two.batchesFrom(topicId, 0, 0n, 100)).map(
        (row) => `${row.baseOffset}-${row.lastOffset}@${row.objectId}`,
      );
    const before = await rows();
    assert.equal(await one.commitCompaction(commit), 'fenced');
    assert.deepEqual(await rows(), before, 'nothing changed');
    assert.deepEqual(await objectRows(cluster.database), [
      `${first.objectId}||f|`,
      `${second.objectId}||f|`,
    ]);
    // The leader at epoch 2 commits it; rows that moved under it (here: the replaced set is
    // not the range's rows any more) refuse a second attempt.
    assert.equal(await two.commitCompaction({ ...commit, leaderEpoch: 2 }), 'committed');
    assert.deepEqual(await rows(), [
      `0-1@${objectId}`,
      `5-5@${objectId}`,
      `6-9@${second.objectId}`,
    ]);
    const retried = { ...commit, leaderEpoch: 2, object: undefined, batches: [] };
    assert.equal(await two.commitCompaction(retried), 'changed');
    await recorder.until(() => recorder.compactions.length === 1, 'compaction notice');
    assert.deepEqual(recorder.compactions, [
      { topicId, partition: 0, fromOffset: 0n, toOffset: 5n },
    ]);
    // The first object is unreferenced now, the second still holds 6-9: the collector marks one.
    assert.equal(await one.markUnreferencedObjects(100), 1);
    await ageMarks(cluster.database, 1_000);
    assert.deepEqual(
      (await one.collectMarkedObjects(0, 100)).map((object) => object.name),
      [first.objectName],
    );
    // The lease's next offset is untouched: compaction never renumbers.
    assert.equal((await leaseOf(one, topicId, 0)).nextOffset, 10n);
    await stop();
    await cluster.close();
  });

  it('collects an unreferenced object only after the delay, never a referenced one', async () => {
    const cluster = await freshCluster('gc');
    const catalog = at(cluster.catalogs, 0);
    const topicId = await createTopic(at(cluster.stores, 0), 'gc', 2);
    await catalog.ensureLeaseRows();
    await catalog.claimLeases({ nodeId: 1, max: 2, leaseMs, liveNodes: [1] });
    const shared = await windowOf(catalog, 1, [
      append(topicId, 0, 1, 0n, [2]),
      append(topicId, 1, 1, 0n, [3]),
    ]);
    await catalog.commitWindow(shared);
    // A window whose only partition was fenced leaves a row nothing references.
    const fenced = await windowOf(catalog, 1, [append(topicId, 0, 7, 2n, [1])]);
    assert.equal((await catalog.commitWindow(fenced)).fenced.length, 1);
    assert.equal(await catalog.markUnreferencedObjects(100), 1);
    assert.equal(await catalog.markUnreferencedObjects(100), 0, 'marked once');
    assert.deepEqual(await catalog.collectMarkedObjects(60_000, 100), [], 'delay not over');
    await ageMarks(cluster.database, 120_000);
    assert.deepEqual(await catalog.collectMarkedObjects(60_000, 100), [
      { objectId: fenced.objectId, name: fenced.objectName, sizeBytes: 4096, orphan: false },
    ]);
    assert.deepEqual(await objectRows(cluster.database), [`${shared.objectId}||f|`]);
    // Partition 0's batch falls below its log start: the object still holds partition 1's.
    await at(cluster.stores, 0).setLogStartOffset(topicId, 0, 2n);
    assert.equal(await catalog.deleteBatchesBelowLogStart(), 1);
    assert.equal(await catalog.markUnreferencedObjects(100), 0);
    assert.deepEqual(await catalog.collectMarkedObjects(0, 100), []);
    await at(cluster.stores, 0).setLogStartOffset(topicId, 1, 3n);
    assert.equal(await catalog.deleteBatchesBelowLogStart(), 1);
    assert.equal(await catalog.markUnreferencedObjects(100), 1);
    const collected = await catalog.collectMarkedObjects(0, 100);
    assert.deepEqual(
      collected.map((object) => object.name),
      [shared.objectName],
    );
    assert.deepEqual(await objectRows(cluster.database), []);
    await cluster.close();
  });

  it('a reference to a marked object unmarks it; to a collected one, fails the commit', async () => {
    const cluster = await freshCluster('gcref');
    const [leader, forwarder] = [at(cluster.catalogs, 0), at(cluster.catalogs, 1)];
    const topicId = await createTopic(at(cluster.stores, 0), 'gcref', 1);
    await leader.ensureLeaseRows();
    await leader.claimLeases({ nodeId: 1, max: 1, leaseMs, liveNodes: [1, 2] });
    // Zone routing: broker 2 stores a batch (its window registers the object, no batch row)...
    const stored = await windowOf(forwarder, 2, []);
    await forwarder.commitWindow(stored);
    assert.equal(await leader.markUnreferencedObjects(100), 1);
    await ageMarks(cluster.database, 120_000);
    // ...and the leader commits it by location before the delay is over: the mark is cleared.
    const first = await pointerWindow(leader, topicId, 0n, stored.objectId);
    assert.deepEqual(await leader.commitWindow(first), { fenced: [] });
    assert.deepEqual(await objectRows(cluster.database), [
      `${stored.objectId}||f|`,
      `${first.objectId}||f|`,
    ]);
    assert.deepEqual(await leader.collectMarkedObjects(0, 100), []);

    // A hand-off that comes after the collector deleted the row fails whole: nothing acked.
    // (The leader's window object holds no batch of its own: it is unreferenced too.)
    const late = await windowOf(forwarder, 2, []);
    await forwarder.commitWindow(late);
    assert.equal(await leader.markUnreferencedObjects(100), 2);
    assert.deepEqual(
      (await leader.collectMarkedObjects(0, 100)).map((object) => object.objectId),
      [first.objectId, late.objectId],
    );
    const refused = await pointerWindow(leader, topicId, 2n, late.objectId);
    await assert.rejects(leader.commitWindow(refused), isStorageFailure(/foreign key/));
    assert.equal((await leaseOf(leader, topicId, 0)).nextOffset, 2n);
    assert.equal((await leader.listBatches()).length, 1);
    assert.equal((await leader.objectNames([refused.objectId])).size, 0, 'rolled back');
    await cluster.close();
  });

  it('serializes the collector with commits referencing the same object', async () => {
    const cluster = await freshCluster('gcrace');
    const [leader, forwarder] = [at(cluster.catalogs, 0), at(cluster.catalogs, 1)];
    const topicId = await createTopic(at(cluster.stores, 0), 'gcrace', 1);
    await leader.ensureLeaseRows();
    await leader.claimLeases({ nodeId: 1, max: 1, leaseMs, liveNodes: [1, 2] });
    // A commit holding its foreign key lock (KEY SHARE, as the insert's check takes it) is
    // passed over by the collector, which takes the row once the commit is gone.
    const held = await windowOf(forwarder, 2, []);
    await forwarder.commitWindow(held);
    await leader.markUnreferencedObjects(100);
    const holder = server.psql(
      cluster.database,
      'BEGIN; SELECT 1 FROM log_objects WHERE object_id = ' +
        `${held.objectId} FOR KEY SHARE; SELECT pg_sleep(2); COMMIT;`,
    );
    await until('the lock holder sleeps', async () => {
      const sleeping = await server.psql(
        cluster.database,
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'",
      );
      return sleeping === '1';
    });
    assert.deepEqual(await leader.collectMarkedObjects(0, 100), []);
    await holder;
    assert.equal((await leader.collectMarkedObjects(0, 100)).length, 1);
    // Rounds of a pointer commit racing the mark, then the delete, of its object: whichever
    // wins, a committed batch's object row is there and unmarked, and a refused commit left
    // nothing behind.
    let next = 0n;
    let committed = 0;
    let refused = 0;
    for (let round = 0; round < 16; round += 1) {
      const target = await windowOf(forwarder, 2, []);
      await forwarder.commitWindow(target);
      const deleting = round % 2 === 1;
      if (deleting) {
        await leader.markUnreferencedObjects(100);
        await ageMarks(cluster.database, 120_000);
      }
      const window = await pointerWindow(leader, topicId, next, target.objectId);
      const [commit] = await Promise.allSettled([
        leader.commitWindow(window),
        deleting ? forwarder.collectMarkedObjects(0, 100) : forwarder.markUnreferencedObjects(100),
      ]);
      const row = await objectRows(cluster.database, target.objectId);
      if (commit.status === 'fulfilled') {
        assert.deepEqual(commit.value, { fenced: [] });
        assert.deepEqual(row, [`${target.objectId}||f|`], `round ${round}: kept, unmarked`);
        next += 2n;
        committed += 1;
      } else {
        assert.ok(deleting, `round ${round}: only a delete refuses the commit`);
        isStorageFailure(/foreign key/)(commit.reason);
        assert.deepEqual(row, [], `round ${round}: the object went`);
        refused += 1;
      }
      assert.equal((await leaseOf(leader, topicId, 0)).nextOffset, next);
    }
    process.stdout.write(`# race rounds: ${committed} committed, ${refused} refused\n`);
    const referenced = new Set((await leader.listBatches()).map((row) => row.objectId));
    assert.equal(referenced.size, committed);
    const rows = await objectRows(cluster.database);
    for (const objectId of referenced) {
      assert.ok(rows.includes(`${objectId}||f|`), `object ${objectId} of a batch is there`);
    }
    await cluster.close();
  });

  it('adopts old orphans, refuses their late commit and keeps a tombstone', async () => {
    const cluster = await freshCluster('orphan');
    const catalog = at(cluster.catalogs, 0);
    const topicId = await createTopic(at(cluster.stores, 0), 'orphan', 1);
    await catalog.ensureLeaseRows();
    await catalog.claimLeases({ nodeId: 1, max: 1, leaseMs, liveNodes: [1] });
    const committed = await windowOf(catalog, 1, [append(topicId, 0, 1, 0n, [1])]);
    await catalog.commitWindow(committed);
    // An upload whose commit never came, a young one (its commit may be in flight), a stray.
    const lost = await windowOf(catalog, 1, [append(topicId, 0, 1, 1n, [1])]);
    const young = await windowOf(catalog, 1, [append(topicId, 0, 1, 1n, [1])]);
    const hourAgo = Date.now() - 3_600_000;
    const listed = [
      { name: committed.objectName, sizeBytes: 10, lastModifiedMs: hourAgo },
      { name: lost.objectName, sizeBytes: 20, lastModifiedMs: hourAgo },
      { name: young.objectName, sizeBytes: 30, lastModifiedMs: Date.now() + 60_000 },
      { name: 'c/stray', sizeBytes: 40, lastModifiedMs: hourAgo },
    ];
    assert.deepEqual(await catalog.reconcileListedObjects('c', listed, 600_000), {
      adopted: [lost.objectName, 'c/stray'],
      tombstones: [],
    });
    // The late commit of the adopted upload is refused, and so is a reference to it.
    await assert.rejects(catalog.commitWindow(lost), isStorageFailure(/orphan/));
    const pointer = await pointerWindow(catalog, topicId, 1n, lost.objectId);
    await assert.rejects(catalog.commitWindow(pointer), isStorageFailure(/orphan/));
    assert.equal((await leaseOf(catalog, topicId, 0)).nextOffset, 1n);
    // Adopted rows are marked: after the delay they are collected and stay as tombstones.
    const collected = await catalog.collectMarkedObjects(0, 100);
    assert.deepEqual(collected.map((object) => [object.name, object.orphan]).toSorted(), [
      [lost.objectName, true],
      ['c/stray', true],
    ]);
    assert.deepEqual(await catalog.reconcileListedObjects('c', listed, 600_000), {
      adopted: [],
      tombstones: [lost.objectName, 'c/stray'],
    });
    await assert.rejects(catalog.commitWindow(lost), isStorageFailure(/orphan/));
    assert.equal(await catalog.markUnreferencedObjects(100), 0, 'tombstones are not marked');
    // The young one commits normally.
    assert.deepEqual(await catalog.commitWindow(young), { fenced: [] });
    assert.equal((await leaseOf(catalog, topicId, 0)).nextOffset, 2n);
    await cluster.close();
  });

  it('rejects calls after its store closed', async () => {
    const cluster = await freshCluster('closed', 1);
    const catalog = at(cluster.catalogs, 0);
    await cluster.close();
    await assert.rejects(catalog.listLeases(), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.code, 'CLOSED');
      return true;
    });
  });
});
