/**
 * ClusterCatalog: what the brokers of one cluster agree on through the metadata database, beside
 * the MetadataStore (topics, configs, ACLs): which brokers are alive, who leads each partition
 * under which epoch, and the committed index of every batch (which object holds it, where).
 *
 * Invariants (docs/adr/0010-cluster-mode.md):
 * - Safety comes from the epoch, never from a clock: a lease's expiry (the database's `now()`)
 *   only decides when another broker may take it; every commit a leader makes is conditional on
 *   `leader_epoch` and `next_offset` in the same transaction, so a deposed leader is fenced.
 * - Offsets have one writer: `next_offset` advances only in `commitWindow`, atomically with the
 *   batch rows that fill the offsets it covers.
 * - `commitWindow` is idempotent by object name: a retry after a lost reply finds the object row
 *   and reports the first attempt's outcome instead of committing twice.
 */
import type { TopicId, TxnFields } from '../types.ts';

export interface BrokerRegistration {
  nodeId: number;
  /** `broker.rack`; null when unset. */
  rack: string | null;
  /** The advertised listener. */
  host: string;
  port: number;
  /** A uuid made at each start: tells two processes claiming one node id apart. */
  incarnation: string;
}

export interface PartitionLease {
  topicId: TopicId;
  partition: number;
  /** null while no broker holds it. */
  leaderNode: number | null;
  leaderEpoch: number;
  /** One past the last committed offset. */
  nextOffset: bigint;
  /** Whether the lease is unexpired by the database's clock. */
  live: boolean;
}

/** One committed batch: a row of the index. */
export interface CommittedBatch {
  topicId: TopicId;
  partition: number;
  baseOffset: bigint;
  lastOffset: bigint;
  maxTimestamp: bigint;
  recordCount: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  txn: TxnFields | undefined;
  /** Frame version of the entry inside its object (segment-format.ts). */
  entryVersion: number;
  objectId: number;
  /** Where the batch bytes start inside the object, and their length. */
  position: number;
  sizeBytes: number;
}

export interface PartitionAppend {
  topicId: TopicId;
  partition: number;
  /** The epoch the leader holds; the commit is refused unless it is still current. */
  leaderEpoch: number;
  /** Must equal the partition's committed next_offset, else the commit is refused for it. */
  baseOffset: bigint;
  /** The partition's next_offset after this commit (the last batch's lastOffset + 1). */
  nextOffset: bigint;
  batches: CommittedBatch[];
}

/** One entry of a partition's leader epoch history. */
export interface EpochStart {
  leaderEpoch: number;
  /** The partition's committed end when the epoch began: its first offset, if it wrote any. */
  startOffset: bigint;
}

/** What OffsetForLeaderEpoch answers from. */
export interface EpochHistory {
  /** The lease's epoch now. */
  leaderEpoch: number;
  /** The committed end: one past the last committed offset. */
  nextOffset: bigint;
  /** Every epoch a lease was claimed at, oldest first. */
  epochs: EpochStart[];
}

/** A WAL object just uploaded, and the appends it holds, to commit in one transaction. */
export interface WindowCommit {
  objectId: number;
  objectName: string;
  sizeBytes: number;
  nodeId: number;
  partitions: PartitionAppend[];
}

export interface CommitOutcome {
  /** Partitions refused (epoch or next_offset moved): none of their batches were committed. */
  fenced: { topicId: TopicId; partition: number }[];
}

/**
 * A compaction of one partition's committed range, to commit in one transaction: the index rows
 * of the range are swapped for `batches` (same offsets or fewer, never renumbered), stored in a
 * new object, if the leader still holds the lease at `leaderEpoch`.
 */
export interface CompactionCommit {
  topicId: TopicId;
  partition: number;
  leaderEpoch: number;
  /** The replaced range: every index row with base_offset in [fromOffset, toOffset]. */
  fromOffset: bigint;
  toOffset: bigint;
  /** The rows the leader replaces (base offset and object id): any other set refuses it. */
  replaced: readonly { baseOffset: bigint; objectId: number }[];
  /** The new object; undefined when nothing of the range is kept. */
  object: { objectId: number; name: string; sizeBytes: number; nodeId: number } | undefined;
  batches: CommittedBatch[];
}

/** committed; fenced: the epoch moved; changed: the range's rows are not the ones replaced. */
export type CompactionOutcome = 'committed' | 'fenced' | 'changed';

/** A committed range that compaction rewrote, as announced to every broker. */
export interface CompactionNotice {
  topicId: TopicId;
  partition: number;
  fromOffset: bigint;
  toOffset: bigint;
}

/** An object whose row the collector removed (or made a tombstone): delete it from the bucket. */
export interface CollectedObject {
  objectId: number;
  name: string;
  sizeBytes: number;
  /** It was an adopted orphan: its row stays as a tombstone. */
  orphan: boolean;
}

/** An object found in the bucket by the collector's listing. */
export interface ListedObject {
  name: string;
  sizeBytes: number;
  /** The bucket's Last-Modified, epoch milliseconds. */
  lastModifiedMs: number;
}

/** What the catalog makes of listed objects (ObjectCollector's orphan scan). */
export interface ListedObjectsOutcome {
  /** Names with no row, older than the orphan age: adopted (rows inserted, already marked). */
  adopted: string[];
  /** Names whose row is a tombstone: deleted before, still in the bucket (delete again). */
  tombstones: string[];
}

/** A partition whose committed end moved, as announced to every broker. */
export interface AppendNotice {
  topicId: TopicId;
  partition: number;
  nextOffset: bigint;
}

export interface CatalogListener {
  /** Batches were committed (by any broker). */
  onAppend(notices: readonly AppendNotice[]): void;
  /** A leader compacted a range: the rows in it changed (re-read them). */
  onCompacted(notice: CompactionNotice): void;
  /** Leases changed hands (claimed, released). */
  onLeasesChanged(): void;
  /** Topics were created, altered or deleted, or log start offsets moved. */
  onTopicsChanged(): void;
  /**
   * The notification connection was lost and is back: notices may have been missed, so the
   * broker re-reads what it caches.
   */
  onReconnect(): void;
}

export interface ClusterCatalog {
  /**
   * Registers (or re-registers) this broker and marks it alive. Rejects with StorageError
   * NODE_ID_IN_USE when another incarnation with the same node id heartbeated within `leaseMs`.
   */
  registerBroker(broker: BrokerRegistration, leaseMs: number): Promise<void>;
  /** Keeps the registration alive; rejects NODE_ID_IN_USE if another incarnation took it. */
  heartbeat(nodeId: number, incarnation: string): Promise<void>;
  /** A clean shutdown: the broker no longer counts as alive. */
  deregisterBroker(nodeId: number, incarnation: string): Promise<void>;
  /** Brokers whose last heartbeat is within `leaseMs` (database clock), by node id. */
  liveBrokers(leaseMs: number): Promise<BrokerRegistration[]>;
  /** Reserves `count` object ids never returned before; resolves with the first one. */
  allocateObjectIds(count: number): Promise<number>;
  /** Creates the lease row (no leader, epoch 0, offset = log start) of every topic partition. */
  ensureLeaseRows(): Promise<void>;
  /** Every lease row. */
  listLeases(): Promise<PartitionLease[]>;
  /** Extends every lease `nodeId` holds by `leaseMs`; returns the leases it still holds. */
  renewLeases(nodeId: number, leaseMs: number): Promise<PartitionLease[]>;
  /**
   * Takes up to `max` leases that no live broker holds (no leader, expired, or a leader not in
   * `liveNodes`), preferring `preferred` ones first; each taken lease gets epoch + 1. Two
   * brokers claiming at once never get the same lease. Returns the taken leases.
   */
  claimLeases(request: {
    nodeId: number;
    max: number;
    leaseMs: number;
    liveNodes: readonly number[];
    preferred?: readonly { topicId: TopicId; partition: number }[];
  }): Promise<PartitionLease[]>;
  /** Gives a lease up (clean hand-off) if `nodeId` still holds it at `leaderEpoch`. */
  releaseLease(lease: {
    nodeId: number;
    topicId: TopicId;
    partition: number;
    leaderEpoch: number;
  }): Promise<boolean>;
  /** One transaction: object row, per partition epoch + offset check and advance, batch rows. */
  commitWindow(commit: WindowCommit): Promise<CommitOutcome>;
  /**
   * Compaction: in one transaction, if `leaderEpoch` still holds the partition's lease and the
   * range's rows are exactly `replaced`, deletes them, inserts the new object's row and
   * `batches`, and notifies every broker. A deposed leader gets 'fenced' and changes nothing.
   */
  commitCompaction(commit: CompactionCommit): Promise<CompactionOutcome>;
  /**
   * A partition's leader epoch history (claimLeases records each epoch in the same statement)
   * with its current epoch and committed end, read together; undefined for an unknown partition.
   */
  epochHistory(topicId: TopicId, partition: number): Promise<EpochHistory | undefined>;
  /** A partition's committed batches with lastOffset >= `fromOffset`, in offset order. */
  batchesFrom(
    topicId: TopicId,
    partition: number,
    fromOffset: bigint,
    limit: number,
  ): Promise<CommittedBatch[]>;
  /** Every committed batch at or past its partition's log start, in offset order per partition. */
  listBatches(): Promise<CommittedBatch[]>;
  /** Object names by id, for the ids given. */
  objectNames(objectIds: readonly number[]): Promise<Map<number, string>>;
  /** Removes index rows wholly below each partition's log start (retention). */
  deleteBatchesBelowLogStart(): Promise<number>;
  /**
   * Garbage collection, phase one: marks (marked_at = now()) up to `limit` object rows that no
   * batch row references. Rows an in-flight commit is referencing are skipped. Returns how many.
   */
  markUnreferencedObjects(limit: number): Promise<number>;
  /**
   * Phase two: in one transaction, locks up to `limit` rows marked at least `delayMs` ago
   * (database clock) and removes those still unreferenced: the row is deleted, or for an adopted
   * orphan becomes a tombstone. A row found referenced is unmarked. The caller then deletes the
   * returned objects from the bucket (a crash in between leaves orphans, collected later).
   */
  collectMarkedObjects(delayMs: number, limit: number): Promise<CollectedObject[]>;
  /**
   * The orphan scan: of `listed` (objects of cluster `clusterId` in the bucket), adopts those
   * with no row whose Last-Modified is at least `minAgeMs` before the database's now(), and
   * names the tombstones. An adopted name can never be committed.
   */
  reconcileListedObjects(
    clusterId: string,
    listed: readonly ListedObject[],
    minAgeMs: number,
  ): Promise<ListedObjectsOutcome>;
  /** Subscribes to notices from every broker (LISTEN on its own connection, reconnecting). */
  listen(listener: CatalogListener): Promise<() => Promise<void>>;
  /** Tells every broker that topics or log starts changed. */
  notifyTopicsChanged(): Promise<void>;
}
