/**
 * PostgresClusterCatalog: the ClusterCatalog in the PostgreSQL database of a
 * PostgresMetadataStore, sharing its pool (`store.clusterCatalog()`); tables in
 * migrations/postgres/0002-cluster.sql and docs/FORMATS.md section 6a.
 *
 * Invariants (cluster-catalog.ts, docs/adr/0010-cluster-mode.md):
 * - Every lease and heartbeat comparison uses the database's `now()`, never this host's clock.
 * - A claim locks the rows it takes (`FOR UPDATE SKIP LOCKED`) and bumps their epoch in the same
 *   statement, so two brokers claiming at once never take the same lease.
 * - `commitWindow` is one transaction; a partition's batch rows go in only if its row still has
 *   the leader's epoch and the expected next_offset, which the same statement advances. A retry
 *   with the same object name reports the first attempt's outcome; a commit whose reply was lost
 *   is settled by ending its old session and looking for the object row.
 * - Notices ride on the transaction that made the change (pg_notify is delivered on commit):
 *   a broker never hears of a change that rolled back.
 */
import pg from 'pg';
import { storageErrorOf } from '../postgres-errors.ts';
import { runTransaction, type LostCommit } from '../postgres-transaction.ts';
import { StorageError } from '../storage-error.ts';
import type { TopicId } from '../types.ts';
import type {
  AppendNotice,
  BrokerRegistration,
  CatalogListener,
  ClusterCatalog,
  CollectedObject,
  CommitOutcome,
  CommittedBatch,
  CompactionCommit,
  CompactionNotice,
  CompactionOutcome,
  EpochHistory,
  EpochStart,
  ListedObject,
  ListedObjectsOutcome,
  PartitionAppend,
  PartitionLease,
  WindowCommit,
} from './cluster-catalog.ts';

/** Channel of append notices: payload `topicId:partition:nextOffset[,...]`. */
export const logChannel = 'tributary_log';
/** Channel of compactions: payload `topicId:partition:fromOffset:toOffset`. */
export const compactionChannel = 'tributary_compaction';
/** Channel of lease changes (claims, releases, new lease rows); empty payload. */
export const leasesChannel = 'tributary_leases';
/** Channel of topic changes (create, alter, delete, log start moves); empty payload. */
export const topicsChannel = 'tributary_topics';

/** What the catalog borrows from its PostgresMetadataStore. */
export interface PostgresCatalogContext {
  pool: pg.Pool;
  /** host:port/database, for messages. */
  server: string;
  /** Settings for a connection of its own (the LISTEN session). */
  connection: pg.ClientConfig;
  /** Whether the store was closed: every call then rejects CLOSED. */
  isClosed(): boolean;
}

/** PostgreSQL refuses a notification payload of 8000 bytes or more: chunks stay below this. */
const maxNotifyPayloadBytes = 7_900;
/** How long a lost commit's check waits for the old session to end. */
const lostCommitTerminateWaitMs = 5_000;
/** The LISTEN session is pinged this often, so a silently dead connection is noticed. */
const listenPingIntervalMs = 10_000;
/** Reconnect delays of the LISTEN session: doubling from the first to the last. */
const listenFirstRetryMs = 100;
const listenMaxRetryMs = 5_000;
/** application_name of the LISTEN session (pooled sessions are `tributary`). */
const listenApplication = 'tributary-listen';

const leaseColumns =
  'topic_id, partition, leader_node, leader_epoch, next_offset, ' +
  '(leader_node IS NOT NULL AND lease_expires_at IS NOT NULL AND lease_expires_at > now()) ' +
  'AS live';

/** No batch row points at the object row `o`. */
const unreferenced = 'NOT EXISTS (SELECT 1 FROM log_batches b WHERE b.object_id = o.object_id)';

const batchColumns =
  'topic_id, partition, base_offset, last_offset, max_timestamp, record_count, producer_id, ' +
  'producer_epoch, base_sequence, transactional, control, control_type, entry_version, ' +
  'object_id, position, size_bytes';

/** `$n` milliseconds as an interval. */
const millis = (parameter: number): string => `($${parameter}::float8 * interval '1 millisecond')`;

interface LeaseRow {
  topic_id: string;
  partition: number;
  leader_node: number | null;
  leader_epoch: number;
  next_offset: string;
  live: boolean;
}

interface BatchRow {
  topic_id: string;
  partition: number;
  base_offset: string;
  last_offset: string;
  max_timestamp: string;
  record_count: number;
  producer_id: string;
  producer_epoch: number;
  base_sequence: number;
  transactional: boolean | null;
  control: boolean | null;
  control_type: number | null;
  entry_version: number;
  object_id: string;
  position: string;
  size_bytes: string;
}

interface CollectedRow {
  object_id: string;
  name: string;
  size_bytes: string;
  orphan: boolean;
}

interface BrokerRow {
  node_id: number;
  rack: string | null;
  host: string;
  port: number;
  incarnation: string;
}

export class PostgresClusterCatalog implements ClusterCatalog {
  readonly #context: PostgresCatalogContext;

  constructor(context: PostgresCatalogContext) {
    this.#context = context;
  }

  async registerBroker(broker: BrokerRegistration, leaseMs: number): Promise<void> {
    // One statement: the row is taken over only from the same incarnation or a dead one.
    const result = await this.#query(
      'registerBroker',
      'INSERT INTO cluster_brokers AS b ' +
        '(node_id, rack, host, port, incarnation, heartbeat_at, alive) ' +
        'VALUES ($1, $2, $3, $4, $5, now(), true) ON CONFLICT (node_id) DO UPDATE SET ' +
        'rack = excluded.rack, host = excluded.host, port = excluded.port, ' +
        'incarnation = excluded.incarnation, heartbeat_at = now(), alive = true ' +
        'WHERE b.incarnation = excluded.incarnation OR NOT b.alive OR ' +
        `b.heartbeat_at < now() - ${millis(6)}`,
      [broker.nodeId, broker.rack, broker.host, broker.port, broker.incarnation, leaseMs],
    );
    if (result.rowCount === 0) {
      throw new StorageError(
        'NODE_ID_IN_USE',
        `node id ${broker.nodeId} is in use by a live broker of another incarnation`,
      );
    }
  }

  async heartbeat(nodeId: number, incarnation: string): Promise<void> {
    const result = await this.#query(
      'heartbeat',
      'UPDATE cluster_brokers SET heartbeat_at = now(), alive = true ' +
        'WHERE node_id = $1 AND incarnation = $2',
      [nodeId, incarnation],
    );
    if (result.rowCount === 0) {
      throw new StorageError(
        'NODE_ID_IN_USE',
        `node id ${nodeId} was taken over by another incarnation`,
      );
    }
  }

  async deregisterBroker(nodeId: number, incarnation: string): Promise<void> {
    await this.#query(
      'deregisterBroker',
      'UPDATE cluster_brokers SET alive = false WHERE node_id = $1 AND incarnation = $2',
      [nodeId, incarnation],
    );
  }

  async liveBrokers(leaseMs: number): Promise<BrokerRegistration[]> {
    const result = await this.#query<BrokerRow>(
      'liveBrokers',
      'SELECT node_id, rack, host, port, incarnation FROM cluster_brokers ' +
        `WHERE alive AND heartbeat_at >= now() - ${millis(1)} ORDER BY node_id`,
      [leaseMs],
    );
    return result.rows.map((row) => ({
      nodeId: row.node_id,
      rack: row.rack,
      host: row.host,
      port: row.port,
      incarnation: row.incarnation,
    }));
  }

  async allocateObjectIds(count: number): Promise<number> {
    const result = await this.#query<{ first: string }>(
      'allocateObjectIds',
      'UPDATE log_object_ids SET next_object_id = next_object_id + $1 ' +
        'RETURNING next_object_id - $1 AS first',
      [count],
    );
    const row = result.rows[0];
    if (row === undefined) throw new StorageError('STORAGE_FAILURE', 'no log_object_ids row');
    return Number(row.first);
  }

  async ensureLeaseRows(): Promise<void> {
    // A new lease row is news for brokers looking for leases to claim.
    await this.#query(
      'ensureLeaseRows',
      'WITH added AS (INSERT INTO partition_leases ' +
        '(topic_id, partition, leader_node, leader_epoch, lease_expires_at, next_offset) ' +
        'SELECT topic_id, partition, NULL, 0, NULL, log_start_offset FROM partitions ' +
        'ON CONFLICT (topic_id, partition) DO NOTHING RETURNING 1) ' +
        `SELECT pg_notify('${leasesChannel}', '') FROM (SELECT 1 FROM added LIMIT 1) AS a`,
      [],
    );
  }

  async listLeases(): Promise<PartitionLease[]> {
    const result = await this.#query<LeaseRow>(
      'listLeases',
      `SELECT ${leaseColumns} FROM partition_leases ORDER BY topic_id COLLATE "C", partition`,
      [],
    );
    return result.rows.map(leaseFromRow);
  }

  async renewLeases(nodeId: number, leaseMs: number): Promise<PartitionLease[]> {
    const result = await this.#query<LeaseRow>(
      'renewLeases',
      `UPDATE partition_leases SET lease_expires_at = now() + ${millis(2)} ` +
        `WHERE leader_node = $1 RETURNING ${leaseColumns}`,
      [nodeId, leaseMs],
    );
    return result.rows.map(leaseFromRow).toSorted(compareLeases);
  }

  async claimLeases(request: {
    nodeId: number;
    max: number;
    leaseMs: number;
    liveNodes: readonly number[];
    preferred?: readonly { topicId: TopicId; partition: number }[];
  }): Promise<PartitionLease[]> {
    if (request.max <= 0) return [];
    const preferred = request.preferred ?? [];
    // SKIP LOCKED: a row another claim (or a commit) holds is passed over, not waited for; the
    // claim statement's own lock keeps it until the epoch bump commits. The notice is sent once
    // per transaction however many rows it returns.
    const result = await this.#query<LeaseRow>(
      'claimLeases',
      'WITH candidates AS (SELECT topic_id, partition FROM partition_leases l ' +
        'WHERE leader_node IS NULL OR lease_expires_at IS NULL OR lease_expires_at <= now() ' +
        'OR NOT (leader_node = ANY($3::int[])) ' +
        'ORDER BY EXISTS (SELECT 1 FROM unnest($4::text[], $5::int[]) AS p(topic_id, partition) ' +
        'WHERE p.topic_id = l.topic_id AND p.partition = l.partition) DESC, ' +
        'topic_id COLLATE "C", partition LIMIT $2 FOR UPDATE SKIP LOCKED), ' +
        'claimed AS (UPDATE partition_leases l SET leader_node = $1, ' +
        `leader_epoch = l.leader_epoch + 1, lease_expires_at = now() + ${millis(6)} ` +
        'FROM candidates c WHERE l.topic_id = c.topic_id AND l.partition = c.partition ' +
        `RETURNING ${leaseColumns.replaceAll(/\b(topic_id|partition)\b/g, 'l.$1')}), ` +
        // The epoch history (OffsetForLeaderEpoch) gains its entry in the claim's statement.
        'recorded AS (INSERT INTO partition_epochs (topic_id, partition, leader_epoch, ' +
        'start_offset) SELECT topic_id, partition, leader_epoch, next_offset FROM claimed ' +
        'ON CONFLICT DO NOTHING) ' +
        `SELECT claimed.*, pg_notify('${leasesChannel}', '') FROM claimed`,
      [
        request.nodeId,
        request.max,
        [...request.liveNodes],
        preferred.map((lease) => lease.topicId),
        preferred.map((lease) => lease.partition),
        request.leaseMs,
      ],
    );
    return result.rows.map(leaseFromRow).toSorted(compareLeases);
  }

  async releaseLease(lease: {
    nodeId: number;
    topicId: TopicId;
    partition: number;
    leaderEpoch: number;
  }): Promise<boolean> {
    const result = await this.#query(
      'releaseLease',
      'WITH released AS (UPDATE partition_leases SET leader_node = NULL, ' +
        'lease_expires_at = now() WHERE topic_id = $1 AND partition = $2 ' +
        'AND leader_node = $3 AND leader_epoch = $4 RETURNING 1) ' +
        `SELECT pg_notify('${leasesChannel}', '') FROM released`,
      [lease.topicId, lease.partition, lease.nodeId, lease.leaderEpoch],
    );
    return result.rowCount === 1;
  }

  /**
   * Each batch row takes the batch's own objectId: the window's object for batches written in
   * it, another broker's object for batches it stored for this leader (zone routing). The object
   * row is inserted even when every partition is fenced, so a retry finds the outcome; such an
   * object holds no live batch and is collected as garbage. A partition with no batches is never
   * reported fenced by a retry (it left no row to tell by).
   */
  async commitWindow(commit: WindowCommit): Promise<CommitOutcome> {
    const keys = new Set(commit.partitions.map(partitionKey));
    if (keys.size !== commit.partitions.length) {
      throw new StorageError('STORAGE_FAILURE', 'commitWindow: a partition appears twice');
    }
    return this.#transaction(
      'commitWindow',
      (client) => commitInTransaction(client, commit),
      (lost) => this.#settleLostCommit(commit, lost),
    );
  }

  async commitCompaction(commit: CompactionCommit): Promise<CompactionOutcome> {
    // A lost COMMIT reply needs no settling: if it went through, the notice it sent makes every
    // broker (this one too) re-read the range; if not, a later pass compacts again.
    return this.#gcTransaction('commitCompaction', (client) =>
      compactInTransaction(client, commit),
    );
  }

  async epochHistory(topicId: TopicId, partition: number): Promise<EpochHistory | undefined> {
    const result = await this.#query<{
      current_epoch: number;
      next_offset: string;
      leader_epoch: number | null;
      start_offset: string | null;
    }>(
      'epochHistory',
      'SELECT l.leader_epoch AS current_epoch, l.next_offset, e.leader_epoch, e.start_offset ' +
        'FROM partition_leases l LEFT JOIN partition_epochs e ' +
        'ON e.topic_id = l.topic_id AND e.partition = l.partition ' +
        'WHERE l.topic_id = $1 AND l.partition = $2 ORDER BY e.leader_epoch',
      [topicId, partition],
    );
    const [first] = result.rows;
    if (first === undefined) return undefined;
    const epochs: EpochStart[] = [];
    for (const row of result.rows) {
      if (row.leader_epoch === null || row.start_offset === null) continue;
      epochs.push({ leaderEpoch: row.leader_epoch, startOffset: BigInt(row.start_offset) });
    }
    return {
      leaderEpoch: first.current_epoch,
      nextOffset: BigInt(first.next_offset),
      epochs,
    };
  }

  async batchesFrom(
    topicId: TopicId,
    partition: number,
    fromOffset: bigint,
    limit: number,
  ): Promise<CommittedBatch[]> {
    // Batches of a partition never overlap, so last_offset order is offset order.
    const result = await this.#query<BatchRow>(
      'batchesFrom',
      `SELECT ${batchColumns} FROM log_batches WHERE topic_id = $1 AND partition = $2 ` +
        'AND last_offset >= $3 ORDER BY last_offset LIMIT $4',
      [topicId, partition, String(fromOffset), limit],
    );
    return result.rows.map(batchFromRow);
  }

  async listBatches(): Promise<CommittedBatch[]> {
    const columns = batchColumns.replaceAll(/\b(topic_id|partition)\b/g, 'b.$1');
    const result = await this.#query<BatchRow>(
      'listBatches',
      `SELECT ${columns} FROM log_batches b JOIN partitions p ` +
        'ON p.topic_id = b.topic_id AND p.partition = b.partition ' +
        'WHERE b.last_offset >= p.log_start_offset ' +
        'ORDER BY b.topic_id COLLATE "C", b.partition, b.base_offset',
      [],
    );
    return result.rows.map(batchFromRow);
  }

  async objectNames(objectIds: readonly number[]): Promise<Map<number, string>> {
    const result = await this.#query<{ object_id: string; name: string }>(
      'objectNames',
      'SELECT object_id, name FROM log_objects WHERE object_id = ANY($1::bigint[])',
      [[...objectIds]],
    );
    return new Map(result.rows.map((row) => [Number(row.object_id), row.name]));
  }

  /** Also removes the rows of deleted topics (no partition row any more). */
  async deleteBatchesBelowLogStart(): Promise<number> {
    const result = await this.#query(
      'deleteBatchesBelowLogStart',
      'DELETE FROM log_batches b WHERE NOT EXISTS (SELECT 1 FROM partitions p ' +
        'WHERE p.topic_id = b.topic_id AND p.partition = b.partition ' +
        'AND b.last_offset >= p.log_start_offset)',
      [],
    );
    return result.rowCount ?? 0;
  }

  async markUnreferencedObjects(limit: number): Promise<number> {
    return this.#gcTransaction('markUnreferencedObjects', async (client) => {
      // FOR UPDATE conflicts with the KEY SHARE lock a commit's foreign key check takes: a row
      // being referenced right now is skipped, and no reference can be added to a locked row
      // until this commits. The second statement's snapshot sees every reference committed
      // before the lock was taken.
      const locked = await client.query<{ object_id: string }>(
        'SELECT object_id FROM log_objects o WHERE marked_at IS NULL AND deleted_at IS NULL ' +
          `AND ${unreferenced} ORDER BY object_id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      if (locked.rows.length === 0) return 0;
      const marked = await client.query(
        'UPDATE log_objects o SET marked_at = now() ' +
          `WHERE object_id = ANY($1::bigint[]) AND ${unreferenced}`,
        [locked.rows.map((row) => row.object_id)],
      );
      return marked.rowCount ?? 0;
    });
  }

  async collectMarkedObjects(delayMs: number, limit: number): Promise<CollectedObject[]> {
    return this.#gcTransaction('collectMarkedObjects', async (client) => {
      const locked = await client.query<{ object_id: string }>(
        `SELECT object_id FROM log_objects WHERE marked_at <= now() - ${millis(1)} ` +
          'ORDER BY marked_at LIMIT $2 FOR UPDATE SKIP LOCKED',
        [delayMs, limit],
      );
      if (locked.rows.length === 0) return [];
      const ids = locked.rows.map((row) => row.object_id);
      // Commits clear the mark of what they reference; a reference found here anyway wins.
      await client.query(
        'UPDATE log_objects o SET marked_at = NULL ' +
          `WHERE object_id = ANY($1::bigint[]) AND NOT ${unreferenced}`,
        [ids],
      );
      const deleted = await client.query<CollectedRow>(
        'DELETE FROM log_objects o WHERE object_id = ANY($1::bigint[]) AND NOT orphan ' +
          `AND ${unreferenced} RETURNING object_id, name, size_bytes, orphan`,
        [ids],
      );
      // An adopted orphan's row stays, so a late commit of that upload is still refused.
      const tombstoned = await client.query<CollectedRow>(
        'UPDATE log_objects o SET marked_at = NULL, deleted_at = now() ' +
          `WHERE object_id = ANY($1::bigint[]) AND orphan AND ${unreferenced} ` +
          'RETURNING object_id, name, size_bytes, orphan',
        [ids],
      );
      return [...deleted.rows, ...tombstoned.rows].map((row) => ({
        objectId: Number(row.object_id),
        name: row.name,
        sizeBytes: Number(row.size_bytes),
        orphan: row.orphan,
      }));
    });
  }

  async reconcileListedObjects(
    clusterId: string,
    listed: readonly ListedObject[],
    minAgeMs: number,
  ): Promise<ListedObjectsOutcome> {
    if (listed.length === 0) return { adopted: [], tombstones: [] };
    const names = listed.map((object) => object.name);
    const tombstones = await this.#query<{ name: string }>(
      'reconcileListedObjects',
      'SELECT name FROM log_objects WHERE name = ANY($1::text[]) AND deleted_at IS NOT NULL',
      [names],
    );
    const old = await this.#query<{ name: string }>(
      'reconcileListedObjects',
      'SELECT c.name FROM unnest($1::text[], $2::timestamptz[]) AS c(name, modified) ' +
        `WHERE c.modified <= now() - ${millis(3)} ` +
        'AND NOT EXISTS (SELECT 1 FROM log_objects o WHERE o.name = c.name)',
      [names, listed.map((object) => new Date(object.lastModifiedMs).toISOString()), minAgeMs],
    );
    const sizes = new Map(listed.map((object) => [object.name, object.sizeBytes]));
    const candidates = old.rows.map((row) => ({
      name: row.name,
      sizeBytes: sizes.get(row.name) ?? 0,
      ...windowObjectOf(clusterId, row.name),
    }));
    const unnamed = candidates.filter((candidate) => candidate.objectId === undefined);
    let fresh = unnamed.length === 0 ? 0 : await this.allocateObjectIds(unnamed.length);
    for (const candidate of unnamed) candidate.objectId = fresh++;
    // The insert is what decides against a commit of the same name in flight: the unique index
    // makes one wait for the other, and the loser does nothing.
    const adopted = await this.#query<{ name: string }>(
      'reconcileListedObjects',
      'INSERT INTO log_objects (object_id, name, size_bytes, node_id, orphan, marked_at) ' +
        'SELECT c.object_id, c.name, c.size_bytes, c.node_id, true, now() ' +
        'FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::int[]) ' +
        'AS c(object_id, name, size_bytes, node_id) ON CONFLICT DO NOTHING RETURNING name',
      [
        candidates.map((candidate) => candidate.objectId),
        candidates.map((candidate) => candidate.name),
        candidates.map((candidate) => candidate.sizeBytes),
        candidates.map((candidate) => candidate.nodeId),
      ],
    );
    return {
      adopted: adopted.rows.map((row) => row.name),
      tombstones: tombstones.rows.map((row) => row.name),
    };
  }

  async listen(listener: CatalogListener): Promise<() => Promise<void>> {
    this.#checkOpen();
    const subscription = new NoticeSubscription(this.#context, listener);
    await subscription.start();
    return () => subscription.stop();
  }

  async notifyTopicsChanged(): Promise<void> {
    await this.#query('notifyTopicsChanged', `SELECT pg_notify('${topicsChannel}', '')`, []);
  }

  /**
   * The COMMIT of `commit` was sent and its reply lost. Ends the old session (waiting for it to
   * go, so its transaction is settled one way or the other), then looks for the object row:
   * there, the commit happened and the outcome is read back; absent, it did not.
   */
  async #settleLostCommit(commit: WindowCommit, lost: LostCommit): Promise<CommitOutcome> {
    let ended = false;
    try {
      if (lost.backendPid !== null) ended = await this.#endSession(lost.backendPid);
      const outcome = await recordedOutcome(this.#context.pool, commit);
      if (outcome !== undefined) return outcome;
    } catch (error: unknown) {
      throw storageErrorOf(error, 'commitWindow (commit outcome unknown)', this.#context.server);
    }
    // Not committed, or (old session not known to have ended) not committed yet: either way a
    // retry with the same object name is answered correctly.
    const verdict = ended ? 'not committed' : 'commit outcome unknown';
    throw storageErrorOf(
      lost.error,
      `commitWindow (${verdict}: object ${commit.objectName} is not in the catalog)`,
      this.#context.server,
    );
  }

  /**
   * Ends a session of this application and waits for it to go; true once it is gone, so its
   * transaction is settled (a backend leaves pg_stat_activity only after aborting or committing).
   */
  async #endSession(pid: number): Promise<boolean> {
    const gone = async (): Promise<boolean> => {
      const left = await this.#context.pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [
        pid,
      ]);
      return left.rows.length === 0;
    };
    const result = await this.#context.pool.query<{ ended: boolean }>(
      'SELECT pg_terminate_backend(pid, $2) AS ended FROM pg_stat_activity ' +
        "WHERE pid = $1 AND application_name = 'tributary'",
      [pid, lostCommitTerminateWaitMs],
    );
    // false also when the session exited between the lookup and the signal: look again.
    return result.rows[0]?.ended === true || (await gone());
  }

  /** A collector transaction: a lost COMMIT reply needs no settling (the next pass redoes it). */
  #gcTransaction<T>(operation: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.#transaction(operation, work, (lost) =>
      Promise.reject(storageErrorOf(lost.error, operation, this.#context.server)),
    );
  }

  #checkOpen(): void {
    if (this.#context.isClosed()) throw new StorageError('CLOSED', 'metadata store closed');
  }

  async #query<Row extends pg.QueryResultRow = pg.QueryResultRow>(
    operation: string,
    text: string,
    values: readonly unknown[],
  ): Promise<pg.QueryResult<Row>> {
    this.#checkOpen();
    try {
      return await this.#context.pool.query<Row>(text, [...values]);
    } catch (error: unknown) {
      throw storageErrorOf(error, operation, this.#context.server);
    }
  }

  /**
   * Runs `work` in one transaction on one pooled connection (postgres-transaction.ts). When the
   * COMMIT was sent but no answer came (a broken connection, no reply in time), the outcome is
   * unknown: `onLostCommit` settles it.
   */
  async #transaction<T>(
    operation: string,
    work: (client: pg.PoolClient) => Promise<T>,
    onLostCommit: (lost: LostCommit) => Promise<T>,
  ): Promise<T> {
    this.#checkOpen();
    const { pool, server } = this.#context;
    return runTransaction(pool, server, operation, work, onLostCommit);
  }
}

/** The body of commitWindow's transaction. */
async function commitInTransaction(
  client: pg.PoolClient,
  commit: WindowCommit,
): Promise<CommitOutcome> {
  const inserted = await client.query(
    'INSERT INTO log_objects (object_id, name, size_bytes, node_id) VALUES ($1, $2, $3, $4) ' +
      'ON CONFLICT (name) DO NOTHING',
    [commit.objectId, commit.objectName, commit.sizeBytes, commit.nodeId],
  );
  if (inserted.rowCount === 0) {
    // A retry of a commit that went through: report what the first attempt did.
    const outcome = await recordedOutcome(client, commit);
    if (outcome === undefined) throw new StorageError('STORAGE_FAILURE', 'object row vanished');
    return outcome;
  }
  // Sorted, so two commits touching the same rows lock them in one order (no deadlock).
  const partitions = commit.partitions.toSorted(comparePartitions);
  const advanced = await client.query<{ topic_id: string; partition: number }>(
    'UPDATE partition_leases l SET next_offset = c.next_offset ' +
      'FROM unnest($1::text[], $2::int[], $3::int[], $4::bigint[], $5::bigint[]) ' +
      'AS c(topic_id, partition, leader_epoch, base_offset, next_offset) ' +
      'WHERE l.topic_id = c.topic_id AND l.partition = c.partition ' +
      'AND l.leader_epoch = c.leader_epoch AND l.next_offset = c.base_offset ' +
      'RETURNING l.topic_id, l.partition',
    [
      partitions.map((append) => append.topicId),
      partitions.map((append) => append.partition),
      partitions.map((append) => append.leaderEpoch),
      partitions.map((append) => String(append.baseOffset)),
      partitions.map((append) => String(append.nextOffset)),
    ],
  );
  const advancedKeys = new Set(
    advanced.rows.map((row) => partitionKey({ topicId: row.topic_id, partition: row.partition })),
  );
  const appended = partitions.filter((append) => advancedKeys.has(partitionKey(append)));
  await insertBatches(client, appended);
  await claimReferencedObjects(client, commit, appended);
  if (appended.length > 0) {
    await client.query(`SELECT pg_notify('${logChannel}', p) FROM unnest($1::text[]) AS p`, [
      appendPayloads(appended),
    ]);
  }
  const fenced = partitions
    .filter((append) => !advancedKeys.has(partitionKey(append)))
    .map(({ topicId, partition }) => ({ topicId, partition }));
  return { fenced };
}

/** The body of commitCompaction's transaction. */
async function compactInTransaction(
  client: pg.PoolClient,
  commit: CompactionCommit,
): Promise<CompactionOutcome> {
  const { topicId, partition } = commit;
  // The row lock holds the epoch still while the range is swapped: a claim skips the locked row
  // (SKIP LOCKED) and a later one sees the new rows; a deposed leader finds another epoch.
  const lease = await client.query(
    'SELECT 1 FROM partition_leases WHERE topic_id = $1 AND partition = $2 ' +
      'AND leader_epoch = $3 FOR UPDATE',
    [topicId, partition, commit.leaderEpoch],
  );
  if (lease.rows.length === 0) return 'fenced';
  const from = String(commit.fromOffset);
  const to = String(commit.toOffset);
  const current = await client.query<{ base_offset: string; object_id: string }>(
    'SELECT base_offset, object_id FROM log_batches WHERE topic_id = $1 AND partition = $2 ' +
      'AND base_offset BETWEEN $3 AND $4 ORDER BY base_offset FOR UPDATE',
    [topicId, partition, from, to],
  );
  const expected = commit.replaced.map((row) => `${row.baseOffset}@${row.objectId}`).join(',');
  const found = current.rows.map((row) => `${row.base_offset}@${row.object_id}`).join(',');
  // Retention (rows below a new log start) or another compaction got there first.
  if (found !== expected) return 'changed';
  await client.query(
    'DELETE FROM log_batches WHERE topic_id = $1 AND partition = $2 ' +
      'AND base_offset BETWEEN $3 AND $4',
    [topicId, partition, from, to],
  );
  const object = commit.object;
  if (object !== undefined) {
    const inserted = await client.query(
      'INSERT INTO log_objects (object_id, name, size_bytes, node_id) VALUES ($1, $2, $3, $4) ' +
        'ON CONFLICT (name) DO NOTHING',
      [object.objectId, object.name, object.sizeBytes, object.nodeId],
    );
    if (inserted.rowCount === 0) {
      throw new StorageError('STORAGE_FAILURE', `object ${object.name} is already in the catalog`);
    }
  }
  const outside = commit.batches.find(
    (batch) =>
      batch.baseOffset < commit.fromOffset ||
      batch.baseOffset > commit.toOffset ||
      batch.objectId !== object?.objectId,
  );
  if (outside !== undefined) {
    throw new StorageError('STORAGE_FAILURE', 'a compacted batch lies outside its range or object');
  }
  await insertBatches(client, [
    {
      topicId,
      partition,
      leaderEpoch: commit.leaderEpoch,
      baseOffset: commit.fromOffset,
      nextOffset: commit.toOffset + 1n,
      batches: commit.batches,
    },
  ]);
  await client.query('SELECT pg_notify($1, $2)', [
    compactionChannel,
    `${topicId}:${partition}:${from}:${to}`,
  ]);
  return 'committed';
}

/** One multi-row INSERT (one array per column) for every batch of `appended`. */
async function insertBatches(
  client: pg.PoolClient,
  appended: readonly PartitionAppend[],
): Promise<void> {
  const batches = appended.flatMap((append) => append.batches);
  if (batches.length === 0) return;
  const column = <T>(pick: (batch: CommittedBatch) => T): T[] => batches.map(pick);
  await client.query(
    `INSERT INTO log_batches (${batchColumns}) ` +
      'SELECT b.topic_id, b.partition, b.base_offset, b.last_offset, b.max_timestamp, ' +
      'b.record_count, b.producer_id, b.producer_epoch, b.base_sequence, b.transactional, ' +
      'b.control, b.control_type, b.entry_version, b.object_id, b.position, b.size_bytes ' +
      'FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[], $5::bigint[], ' +
      '$6::bigint[], $7::int[], $8::bigint[], $9::smallint[], $10::int[], $11::bool[], ' +
      '$12::bool[], $13::smallint[], $14::smallint[], $15::bigint[], $16::bigint[]) AS ' +
      'b(object_id, topic_id, partition, base_offset, last_offset, max_timestamp, ' +
      'record_count, producer_id, producer_epoch, base_sequence, transactional, control, ' +
      'control_type, entry_version, position, size_bytes)',
    [
      column((batch) => batch.objectId),
      column((batch) => batch.topicId),
      column((batch) => batch.partition),
      column((batch) => String(batch.baseOffset)),
      column((batch) => String(batch.lastOffset)),
      column((batch) => String(batch.maxTimestamp)),
      column((batch) => batch.recordCount),
      column((batch) => String(batch.producerId)),
      column((batch) => batch.producerEpoch),
      column((batch) => batch.baseSequence),
      column((batch) => batch.txn?.transactional ?? null),
      column((batch) => batch.txn?.control ?? null),
      column((batch) => batch.txn?.controlType ?? null),
      column((batch) => batch.entryVersion),
      column((batch) => batch.position),
      column((batch) => batch.sizeBytes),
    ],
  );
}

/**
 * Batches stored in another broker's object (zone routing) add a reference to an existing row:
 * its foreign key check holds a KEY SHARE lock on that row, so the collector cannot be deleting
 * it meanwhile (a row it already deleted fails the insert: the window fails, nothing is acked).
 * The reference clears the row's mark, so the grace delay restarts once the row is unreferenced
 * again; an adopted orphan (never committed by its writer) refuses the reference.
 */
async function claimReferencedObjects(
  client: pg.PoolClient,
  commit: WindowCommit,
  appended: readonly PartitionAppend[],
): Promise<void> {
  const foreign = new Set<number>();
  for (const append of appended) {
    for (const batch of append.batches) {
      if (batch.objectId !== commit.objectId) foreign.add(batch.objectId);
    }
  }
  if (foreign.size === 0) return;
  const orphans = await client.query<{ name: string }>(
    'WITH unmarked AS (UPDATE log_objects SET marked_at = NULL ' +
      'WHERE object_id = ANY($1::bigint[]) AND marked_at IS NOT NULL AND NOT orphan RETURNING 1) ' +
      'SELECT name FROM log_objects WHERE object_id = ANY($1::bigint[]) AND orphan',
    [[...foreign]],
  );
  const orphan = orphans.rows[0];
  if (orphan !== undefined) {
    throw new StorageError(
      'STORAGE_FAILURE',
      `object ${orphan.name} was collected as an orphan before its commit`,
    );
  }
}

/** Object id and node of a window object's name `<cluster>/<node>/<incarnation>/<id>`. */
function windowObjectOf(
  clusterId: string,
  name: string,
): { objectId: number | undefined; nodeId: number } {
  const match = /^([^/]+)\/(\d{1,9})\/[^/]+\/(\d{1,15})$/.exec(name);
  if (match === null || match[1] !== clusterId) return { objectId: undefined, nodeId: -1 };
  return { objectId: Number(match[3]), nodeId: Number(match[2]) };
}

/**
 * The outcome a committed `commit` had, read back from the index (undefined when its object row
 * does not exist): fenced are the partitions with batches and no row in that object.
 */
async function recordedOutcome(
  queryable: pg.Pool | pg.PoolClient,
  commit: WindowCommit,
): Promise<CommitOutcome | undefined> {
  const result = await queryable.query<{
    topic_id: string | null;
    partition: number | null;
    orphan: boolean;
  }>(
    'SELECT DISTINCT b.topic_id, b.partition, o.orphan FROM log_objects o ' +
      'LEFT JOIN log_batches b ON b.object_id = o.object_id WHERE o.name = $1',
    [commit.objectName],
  );
  if (result.rows.length === 0) return undefined;
  // The collector adopted the upload as an orphan: this commit never happened and never will.
  if (result.rows.some((row) => row.orphan)) {
    throw new StorageError(
      'STORAGE_FAILURE',
      `object ${commit.objectName} was collected as an orphan before its commit`,
    );
  }
  const committed = new Set(
    result.rows.flatMap((row) =>
      row.topic_id === null || row.partition === null
        ? []
        : [partitionKey({ topicId: row.topic_id, partition: row.partition })],
    ),
  );
  const fenced = commit.partitions
    .filter((append) => append.batches.length > 0 && !committed.has(partitionKey(append)))
    .toSorted(comparePartitions)
    .map(({ topicId, partition }) => ({ topicId, partition }));
  return { fenced };
}

/** The append notices of `appended`, as pg_notify payloads each under the size limit. */
export function appendPayloads(appended: readonly PartitionAppend[]): string[] {
  const payloads: string[] = [];
  let current = '';
  for (const append of appended) {
    const entry = `${append.topicId}:${append.partition}:${append.nextOffset}`;
    if (current !== '' && current.length + 1 + entry.length > maxNotifyPayloadBytes) {
      payloads.push(current);
      current = '';
    }
    current = current === '' ? entry : `${current},${entry}`;
  }
  if (current !== '') payloads.push(current);
  return payloads;
}

/** The notices of one payload; malformed entries are skipped. */
export function parseAppendPayload(payload: string): AppendNotice[] {
  const notices: AppendNotice[] = [];
  for (const entry of payload.split(',')) {
    const match = /^([A-Za-z0-9_-]+):(\d+):(\d+)$/.exec(entry);
    if (match === null) continue;
    notices.push({
      topicId: match[1] as TopicId,
      partition: Number(match[2]),
      nextOffset: BigInt(match[3] ?? '0'),
    });
  }
  return notices;
}

/**
 * The LISTEN session of one `listen` call: a connection of its own (a pooled one would drop the
 * subscription when returned), pinged so a dead connection is noticed, reconnected with
 * doubling delays; after each reconnect the listener hears onReconnect (notices may have been
 * missed). A listener that throws does not end the subscription.
 */
class NoticeSubscription {
  readonly #context: PostgresCatalogContext;
  readonly #listener: CatalogListener;
  #client: pg.Client | undefined;
  #stopped = false;
  #retryMs = listenFirstRetryMs;
  #retryTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;

  constructor(context: PostgresCatalogContext, listener: CatalogListener) {
    this.#context = context;
    this.#listener = listener;
  }

  /** Resolves once listening; rejects with StorageError if the first connection fails. */
  async start(): Promise<void> {
    await this.#connect();
    this.#pingTimer = setInterval(() => this.#ping(), listenPingIntervalMs);
    this.#pingTimer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#pingTimer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      ...this.#context.connection,
      application_name: listenApplication,
    });
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    client.on('notification', (message) => this.#dispatch(message));
    try {
      await client.connect();
      await client.query(
        `LISTEN ${logChannel}; LISTEN ${leasesChannel}; LISTEN ${topicsChannel}; ` +
          `LISTEN ${compactionChannel}`,
      );
    } catch (error: unknown) {
      await client.end().catch(() => undefined);
      throw storageErrorOf(error, 'listening for cluster notices', this.#context.server);
    }
    if (this.#stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
  }

  #lost(client: pg.Client): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    void client.end().catch(() => undefined);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    if (this.#context.isClosed()) {
      void this.stop();
      return;
    }
    const delayMs = this.#retryMs;
    this.#retryMs = Math.min(delayMs * 2, listenMaxRetryMs);
    this.#retryTimer = setTimeout(() => void this.#reconnect(), delayMs);
    this.#retryTimer.unref();
  }

  async #reconnect(): Promise<void> {
    this.#retryTimer = undefined;
    try {
      await this.#connect();
    } catch {
      this.#scheduleReconnect();
      return;
    }
    if (this.#stopped) return;
    this.#retryMs = listenFirstRetryMs;
    this.#deliver(() => this.#listener.onReconnect());
  }

  #ping(): void {
    if (this.#context.isClosed()) {
      void this.stop();
      return;
    }
    const client = this.#client;
    if (client === undefined) return;
    client.query('SELECT 1').catch(() => this.#lost(client));
  }

  #dispatch(message: pg.Notification): void {
    if (message.channel === logChannel) {
      const notices = parseAppendPayload(message.payload ?? '');
      this.#deliver(() => this.#listener.onAppend(notices));
    } else if (message.channel === compactionChannel) {
      const notice = parseCompactionPayload(message.payload ?? '');
      if (notice !== undefined) this.#deliver(() => this.#listener.onCompacted(notice));
    } else if (message.channel === leasesChannel) {
      this.#deliver(() => this.#listener.onLeasesChanged());
    } else if (message.channel === topicsChannel) {
      this.#deliver(() => this.#listener.onTopicsChanged());
    }
  }

  #deliver(call: () => void): void {
    if (this.#stopped) return;
    try {
      call();
    } catch {
      // The listener's failure is its own; the subscription keeps delivering.
    }
  }
}

/** `topicId:partition:fromOffset:toOffset`, or undefined for a payload of another shape. */
function parseCompactionPayload(payload: string): CompactionNotice | undefined {
  const [topicId, partition, from, to] = payload.split(':');
  if (topicId === undefined || partition === undefined || from === undefined || to === undefined) {
    return undefined;
  }
  try {
    return {
      topicId: topicId as TopicId,
      partition: Number(partition),
      fromOffset: BigInt(from),
      toOffset: BigInt(to),
    };
  } catch {
    return undefined;
  }
}

function leaseFromRow(row: LeaseRow): PartitionLease {
  return {
    topicId: row.topic_id as TopicId,
    partition: row.partition,
    leaderNode: row.leader_node,
    leaderEpoch: row.leader_epoch,
    nextOffset: BigInt(row.next_offset),
    live: row.live,
  };
}

function batchFromRow(row: BatchRow): CommittedBatch {
  const txn =
    row.transactional === null
      ? undefined
      : {
          transactional: row.transactional,
          control: row.control ?? false,
          controlType: row.control_type ?? 0,
        };
  return {
    topicId: row.topic_id as TopicId,
    partition: row.partition,
    baseOffset: BigInt(row.base_offset),
    lastOffset: BigInt(row.last_offset),
    maxTimestamp: BigInt(row.max_timestamp),
    recordCount: row.record_count,
    producerId: BigInt(row.producer_id),
    producerEpoch: row.producer_epoch,
    baseSequence: row.base_sequence,
    txn,
    entryVersion: row.entry_version,
    objectId: Number(row.object_id),
    position: Number(row.position),
    sizeBytes: Number(row.size_bytes),
  };
}

function partitionKey(partition: { topicId: string; partition: number }): string {
  return `${partition.topicId}:${partition.partition}`;
}

function comparePartitions(
  a: { topicId: string; partition: number },
  b: { topicId: string; partition: number },
): number {
  if (a.topicId !== b.topicId) return a.topicId < b.topicId ? -1 : 1;
  return a.partition - b.partition;
}

function compareLeases(a: PartitionLease, b: PartitionLease): number {
  return comparePartitions(a, b);
}
