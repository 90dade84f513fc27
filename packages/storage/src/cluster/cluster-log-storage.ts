/**
 * ClusterLogStorage: the storage of one broker in cluster mode. Every broker of the cluster
 * shares one PostgreSQL database (topics, leases, the batch index: ClusterCatalog) and one
 * S3-compatible bucket (the batch bytes); a broker's own state is a cache of those two.
 *
 * Each broker keeps a partition log per partition. A partition whose lease this broker holds is
 * led here: its appends go through the WindowWriter (object PUT, then one catalog commit checked
 * against the lease's epoch), and are acknowledged only after both. Every other partition is a
 * follower copy: the catalog's notices (LISTEN/NOTIFY, plus a full re-read after a reconnect)
 * bring in the batches other brokers commit, so any broker can serve reads from the bucket.
 *
 * Leadership (LeaseKeeper's pass, every third of `cluster.lease.ms`): heartbeat, renew the
 * leases held, drop those lost, then move towards this broker's share (partitions spread evenly
 * over the live brokers by node id rank): claim free or expired leases, or hand off surplus ones
 * once another live broker is short. A new leader term starts from exactly what is committed
 * (IndexedPartitionLog.adopt), in a new log object, so per-term state the broker keeps by log
 * (idempotent producers) is rebuilt from the committed batches.
 */
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batchOfFrame } from '../log-storage.ts';
import type { BrokerConfigScope } from '../metadata-store.ts';
import type { ObjectStore } from '../object-store.ts';
import {
  type BatchEntry,
  IndexedPartitionLog,
  type PartitionLog,
  entryFromWal,
} from '../partition-log.ts';
import { PostgresMetadataStore } from '../postgres-metadata-store.ts';
import { S3ObjectStore } from '../s3-object-store.ts';
import type { AclBinding, ScramCredential, ScramCredentialChange } from '../security-metadata.ts';
import { entryBatchOffsetOf } from '../segment-format.ts';
import { StorageError, asStorageError } from '../storage-error.ts';
import { TailCache } from '../tail-cache.ts';
import { batchIndexEntryBytes } from '../batch-index.ts';
import {
  FileSpillStore,
  IndexMemory,
  type IndexMemoryStats,
  defaultIndexChunkEntries,
  defaultIndexMemoryMaxBytes,
} from '../index-memory.ts';
import { effectiveTopicConfig, hasCleanupPolicy, validateTopicConfig } from '../topic-config.ts';
import {
  type BatchMeta,
  type RecordCompactor,
  type TopicId,
  type TopicRecord,
  newTopicId,
  partitionKey,
} from '../types.ts';
import type {
  AppendNotice,
  BrokerRegistration,
  ClusterCatalog,
  CommittedBatch,
  CompactionNotice,
  EpochHistory,
  PartitionLease,
} from './cluster-catalog.ts';
import {
  type CompactablePartition,
  type ClusterCompactorSettings,
  type CompactionStats,
  type ReplacedRange,
  ClusterCompactor,
  clusterCompactorDefaults,
} from './cluster-compactor.ts';
import { LeaseKeeper, type LeaseKeeperLog } from './lease-keeper.ts';
import {
  ObjectCollector,
  objectCollectorDefaults,
  type ObjectCollectionStats,
  type ObjectCollectorSettings,
} from './object-collector.ts';
import { WindowWriter, entryInfoOf } from './window-writer.ts';
import type { StoredBatchLocation } from '../types.ts';

export interface ClusterStorageOptions {
  /** `metadata.url`: postgres://... */
  metadataUrl: string;
  /** `object.store.url`: s3://bucket/prefix?endpoint=...&region=... */
  objectStoreUrl: string;
  nodeId: number;
  rack: string | null;
  /** `cluster.lease.ms`. */
  leaseMs: number;
  windowMaxBytes?: number;
  tailCacheMaxBytes?: number;
  /**
   * `log.index.memory.max.bytes` (ADR 0017): resident sealed chunks of the batch indexes;
   * past it chunks are spilled to an unlinked file in `indexSpillDir` (default: the OS temp
   * directory; put it on a disk, not a tmpfs, for the bound to hold).
   */
  indexMemoryMaxBytes?: number;
  indexSpillDir?: string;
  retentionCheckIntervalMs?: number;
  /** Object garbage collection (cluster.object.* settings); defaults for what is not given. */
  objectGc?: Partial<ObjectCollectorSettings>;
  /** Record-level hooks for cleanup.policy=compact; without them nothing is compacted. */
  compactor?: RecordCompactor;
  /** Compaction (cluster.compaction.* settings); defaults for what is not given. */
  compaction?: Partial<ClusterCompactorSettings>;
  now?: () => number;
  log?: LeaseKeeperLog;
  /** Tests: components built elsewhere. */
  metadataStore?: PostgresMetadataStore;
  objectStore?: ObjectStore;
}

/** What the broker sees of the cluster (undefined on an embedded storage). */
export interface ClusterView {
  readonly nodeId: number;
  readonly rack: string | null;
  readonly leaseMs: number;
  /** Brokers alive at the last lease pass, by node id. */
  liveBrokers(): readonly BrokerRegistration[];
  /** The live leader of a partition and its epoch, or undefined while it has none. */
  leaderOf(topicId: TopicId, partition: number): { nodeId: number; epoch: number } | undefined;
  /** Whether this broker leads the partition now (it may append). */
  leads(topicId: TopicId, partition: number): boolean;
  /** The partition's leader epoch history, from the catalog (OffsetForLeaderEpoch). */
  epochHistory(topicId: TopicId, partition: number): Promise<EpochHistory | undefined>;
  /** Called whenever this broker gains or loses a partition. Returns an unsubscribe function. */
  onLeadership(
    listener: (topicId: TopicId, partition: number, leading: boolean) => void,
  ): () => void;
  /** What the object collector deleted so far (it runs on one broker: 0 on the others). */
  readonly objectCollection: Readonly<ObjectCollectionStats>;
  /** What this broker's compactions did so far (each leader compacts its own partitions). */
  readonly compaction: Readonly<CompactionStats> | undefined;
  /** Registers this broker at its advertised address and starts taking leases. */
  join(endpoint: { host: string; port: number }): Promise<void>;
  /**
   * Zone routing: writes a batch of a partition led in another zone into this broker's next
   * WAL object and resolves with where it is once the object is in the bucket and registered;
   * the leader then commits it by that location (PartitionLog.appendStored).
   */
  storeForeign(
    topicId: TopicId,
    partition: number,
    batch: Buffer,
    meta: BatchMeta,
  ): Promise<StoredBatchLocation>;
}

interface ClusterPartition {
  readonly topicId: TopicId;
  readonly index: number;
  log: IndexedPartitionLog;
  /** The epoch of the lease this broker holds, undefined when it does not lead. */
  leaderEpoch: number | undefined;
  refresh: Promise<void> | undefined;
  refreshAgain: boolean;
  /** Re-reads of compacted ranges, one after the other. */
  rereads: Promise<void>;
}

const defaultWindowMaxBytes = 8 * 1024 * 1024;
const producerIdBlockSize = 1000;
/** Delay before a failed re-read of a compacted range is tried again. */
const rereadRetryMs = 1000;
/** Batches read from the catalog per query while a follower catches up. */
const catchUpBatchLimit = 10_000;

export class ClusterLogStorage implements ClusterView {
  readonly clusterId: string;
  readonly nodeId: number;
  readonly rack: string | null;
  readonly leaseMs: number;
  readonly incarnation = randomUUID();
  readonly #metadata: PostgresMetadataStore;
  readonly #catalog: ClusterCatalog;
  readonly #store: ObjectStore;
  readonly #tailCache: TailCache;
  readonly #indexMemory: IndexMemory;
  readonly #writer: WindowWriter;
  readonly #keeper: LeaseKeeper;
  readonly #collector: ObjectCollector;
  readonly #compactor: ClusterCompactor | undefined;
  readonly #now: () => number;
  readonly #topicsByName = new Map<string, TopicRecord>();
  readonly #topicsById = new Map<TopicId, TopicRecord>();
  readonly #partitions = new Map<string, ClusterPartition>();
  readonly #objectNames = new Map<number, string>();
  readonly #leadershipListeners = new Set<
    (topicId: TopicId, partition: number, leading: boolean) => void
  >();
  #stopListening: (() => Promise<void>) | undefined;
  #adminChain: Promise<unknown> = Promise.resolve();
  #topicReload: Promise<void> | undefined;
  #topicReloadAgain = false;
  #retentionTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #producerIds = { next: 0n, end: 0n };
  #producerIdBlock: Promise<bigint> | undefined;
  #topicDefaults: Readonly<Record<string, string>> = Object.freeze({});

  private constructor(
    clusterId: string,
    components: { metadata: PostgresMetadataStore; store: ObjectStore },
    options: ClusterStorageOptions,
  ) {
    this.clusterId = clusterId;
    this.nodeId = options.nodeId;
    this.rack = options.rack;
    this.leaseMs = options.leaseMs;
    this.#metadata = components.metadata;
    this.#catalog = components.metadata.clusterCatalog();
    this.#store = components.store;
    this.#now = options.now ?? Date.now;
    this.#tailCache = new TailCache(options.tailCacheMaxBytes ?? 64 * 1024 * 1024);
    this.#indexMemory = new IndexMemory({
      maxBytes: options.indexMemoryMaxBytes ?? defaultIndexMemoryMaxBytes,
      spill: new FileSpillStore(
        options.indexSpillDir ?? join(tmpdir(), 'tributary-index-spill'),
        defaultIndexChunkEntries * batchIndexEntryBytes,
        { owned: false },
      ),
    });
    this.#writer = new WindowWriter({
      catalog: this.#catalog,
      store: this.#store,
      clusterId,
      nodeId: this.nodeId,
      incarnation: this.incarnation,
      windowMaxBytes: options.windowMaxBytes ?? defaultWindowMaxBytes,
      now: this.#now,
      onFailed: (keys, error) => this.#onWindowFailed(keys, error),
      onCommitted: (objectId, name) => this.#objectNames.set(objectId, name),
    });
    this.#keeper = new LeaseKeeper({
      catalog: this.#catalog,
      nodeId: this.nodeId,
      incarnation: this.incarnation,
      rack: this.rack,
      leaseMs: this.leaseMs,
      ...(options.log === undefined ? {} : { log: options.log }),
      leaderEpochOf: (key) => this.#partitions.get(key)?.leaderEpoch,
      ledKeys: () => this.#ledKeys(),
      promote: (lease) => this.#promote(lease),
      demote: (key) => this.#demote(key),
      drainWrites: () => this.#writer.drain(),
      beforePass: () => this.#reloadTopics(),
      companions: () => this.#companions(),
    });
    // The collector runs where the group coordinator runs: one broker at a time.
    this.#collector = new ObjectCollector({
      catalog: this.#catalog,
      store: this.#store,
      clusterId,
      settings: { ...objectCollectorDefaults, ...options.objectGc },
      active: () => this.#isCollector(),
      ...(options.log === undefined ? {} : { log: options.log }),
    });
    this.#compactor =
      options.compactor === undefined
        ? undefined
        : new ClusterCompactor({
            catalog: this.#catalog,
            store: this.#store,
            compactor: options.compactor,
            clusterId,
            nodeId: this.nodeId,
            incarnation: this.incarnation,
            settings: { ...clusterCompactorDefaults, ...options.compaction },
            now: this.#now,
            partitions: () => this.#compactablePartitions(),
            committed: (topicId, index, range) => this.#onCompactedHere(topicId, index, range),
            ...(options.log === undefined ? {} : { log: options.log }),
          });
    this.#startRetention(options.retentionCheckIntervalMs ?? 30_000);
  }

  static async open(options: ClusterStorageOptions): Promise<ClusterLogStorage> {
    const metadata =
      options.metadataStore ?? (await PostgresMetadataStore.open({ url: options.metadataUrl }));
    let store: ObjectStore | undefined;
    try {
      store = options.objectStore ?? S3ObjectStore.fromUrl(options.objectStoreUrl);
      const identity = await metadata.initCluster({ clusterId: newTopicId(), nodeId: 0 });
      const storage = new ClusterLogStorage(identity.clusterId, { metadata, store }, options);
      await storage.#load();
      return storage;
    } catch (error: unknown) {
      await store?.close().catch(() => undefined);
      await metadata.close().catch(() => undefined);
      throw asStorageError(error, 'opening cluster storage failed');
    }
  }

  /** The broker's view of the cluster (this object). */
  get cluster(): ClusterView {
    return this;
  }

  async join(endpoint: { host: string; port: number }): Promise<void> {
    this.#stopListening = await this.#catalog.listen({
      onAppend: (notices) => this.#onAppend(notices),
      onCompacted: (notice) => this.#onCompacted(notice),
      onLeasesChanged: () => this.#keeper.kick(),
      onTopicsChanged: () => {
        this.#collector.logStartsMoved();
        void this.#reloadTopics().catch(() => undefined);
      },
      onReconnect: () => this.#onReconnect(),
    });
    await this.#keeper.start(endpoint);
    this.#collector.start();
    this.#compactor?.start();
  }

  get objectCollection(): Readonly<ObjectCollectionStats> {
    return this.#collector.stats;
  }

  get compaction(): Readonly<CompactionStats> | undefined {
    return this.#compactor?.stats;
  }

  /** One compaction pass over the partitions led here now (tests; a timer runs them too). */
  async runCompaction(): Promise<void> {
    await this.#compactor?.runPass();
  }

  #isCollector(): boolean {
    const groups = this.#topicsByName.get('__consumer_offsets');
    return groups !== undefined && this.leads(groups.topicId, 0);
  }

  liveBrokers(): readonly BrokerRegistration[] {
    return this.#keeper.liveBrokers;
  }

  leaderOf(topicId: TopicId, partition: number): { nodeId: number; epoch: number } | undefined {
    const key = partitionKey(topicId, partition);
    const mine = this.#partitions.get(key)?.leaderEpoch;
    if (mine !== undefined) return { nodeId: this.nodeId, epoch: mine };
    return this.#keeper.leaderOf(key);
  }

  leads(topicId: TopicId, partition: number): boolean {
    return this.#partitions.get(partitionKey(topicId, partition))?.leaderEpoch !== undefined;
  }

  epochHistory(topicId: TopicId, partition: number): Promise<EpochHistory | undefined> {
    return this.#catalog.epochHistory(topicId, partition);
  }

  onLeadership(
    listener: (topicId: TopicId, partition: number, leading: boolean) => void,
  ): () => void {
    this.#leadershipListeners.add(listener);
    return () => this.#leadershipListeners.delete(listener);
  }

  async storeForeign(
    topicId: TopicId,
    partition: number,
    batch: Buffer,
    meta: BatchMeta,
  ): Promise<StoredBatchLocation> {
    this.#checkOpen();
    const info = await this.#writer.store({ topicId, partition, baseOffset: 0n, meta, batch });
    return {
      objectId: info.segmentId,
      position: info.position,
      sizeBytes: info.sizeBytes,
      entryVersion: info.entryVersion,
    };
  }

  async allocateProducerId(): Promise<bigint> {
    this.#checkOpen();
    if (this.#producerIds.next >= this.#producerIds.end) {
      this.#producerIdBlock ??= this.#metadata
        .allocateProducerIds(producerIdBlockSize)
        .finally(() => {
          this.#producerIdBlock = undefined;
        });
      const first = await this.#producerIdBlock;
      if (this.#producerIds.next >= this.#producerIds.end) {
        this.#producerIds = { next: first, end: first + BigInt(producerIdBlockSize) };
      }
      return this.allocateProducerId();
    }
    return this.#producerIds.next++;
  }

  listAcls(): Promise<AclBinding[]> {
    return this.#admin(() => this.#metadata.listAcls());
  }

  createAcls(bindings: readonly AclBinding[]): Promise<void> {
    return this.#admin(() => this.#metadata.createAcls(bindings));
  }

  deleteAcls(bindings: readonly AclBinding[]): Promise<AclBinding[]> {
    return this.#admin(() => this.#metadata.deleteAcls(bindings));
  }

  listScramCredentials(): Promise<ScramCredential[]> {
    return this.#admin(() => this.#metadata.listScramCredentials());
  }

  alterScramCredentials(change: ScramCredentialChange): Promise<void> {
    return this.#admin(() => this.#metadata.alterScramCredentials(change));
  }

  listTopics(): TopicRecord[] {
    return [...this.#topicsByName.values()];
  }

  getTopic(name: string): TopicRecord | undefined {
    return this.#topicsByName.get(name);
  }

  getTopicById(topicId: TopicId): TopicRecord | undefined {
    return this.#topicsById.get(topicId);
  }

  partition(topicId: TopicId, index: number): PartitionLog | undefined {
    return this.#partitions.get(partitionKey(topicId, index))?.log;
  }

  createTopic(spec: {
    name: string;
    partitionCount: number;
    configs?: Record<string, string>;
  }): Promise<TopicRecord> {
    return this.#admin(async () => {
      if (!Number.isInteger(spec.partitionCount) || spec.partitionCount < 1) {
        throw new StorageError('INVALID_PARTITIONS', 'Number of partitions must be at least 1.');
      }
      const configs = { ...spec.configs };
      checkConfigs(configs);
      const topic = freezeTopic({
        name: spec.name,
        topicId: newTopicId(),
        partitionCount: spec.partitionCount,
        configs,
      });
      // The database decides between brokers creating one name at once (TOPIC_EXISTS).
      await this.#metadata.createTopic(topic);
      await this.#catalog.ensureLeaseRows();
      this.#putTopic(topic);
      this.#addPartitions(topic, 0, new Map());
      this.#keeper.kick();
      return topic;
    });
  }

  deleteTopic(name: string): Promise<void> {
    return this.#admin(async () => {
      const topic = this.#requireTopic(name);
      await this.#metadata.deleteTopic(name);
      this.#dropTopic(topic);
      this.#keeper.kick();
    });
  }

  createPartitions(name: string, totalCount: number): Promise<void> {
    return this.#admin(async () => {
      const topic = this.#requireTopic(name);
      if (!Number.isInteger(totalCount) || totalCount <= topic.partitionCount) {
        throw new StorageError(
          'INVALID_PARTITIONS',
          `Topic currently has ${topic.partitionCount} partitions, ` +
            `which is higher than or equal to the requested ${totalCount}.`,
        );
      }
      const updated = freezeTopic({ ...topic, partitionCount: totalCount });
      await this.#metadata.updateTopic(updated);
      await this.#catalog.ensureLeaseRows();
      this.#putTopic(updated);
      this.#addPartitions(updated, topic.partitionCount, new Map());
      this.#keeper.kick();
    });
  }

  alterTopicConfigs(name: string, changes: Record<string, string | null>): Promise<TopicRecord> {
    return this.#admin(async () => {
      const topic = this.#requireTopic(name);
      const configs: Record<string, string> = { ...topic.configs };
      for (const [key, value] of Object.entries(changes)) {
        if (value === null) delete configs[key];
        else configs[key] = value;
      }
      checkConfigs(configs);
      const updated = freezeTopic({ ...topic, configs });
      await this.#metadata.updateTopic(updated);
      this.#putTopic(updated);
      return updated;
    });
  }

  get topicConfigDefaults(): Readonly<Record<string, string>> {
    return this.#topicDefaults;
  }

  setTopicConfigDefaults(defaults: Readonly<Record<string, string>>): void {
    checkConfigs(defaults);
    this.#topicDefaults = Object.freeze({ ...defaults });
  }

  listBrokerConfigs(): Promise<BrokerConfigScope[]> {
    return this.#admin(() => this.#metadata.listBrokerConfigs());
  }

  setBrokerConfigs(scope: string, configs: Readonly<Record<string, string>>): Promise<void> {
    return this.#admin(() => this.#metadata.setBrokerConfigs(scope, configs));
  }

  /** Waits until every append so far is committed (the cluster's "seal"). */
  async sealActiveSegment(): Promise<void> {
    this.#checkOpen();
    await this.#writer.drain();
  }

  /**
   * Retention for the partitions led here: the log start moves (in the metadata store, so every
   * broker sees it), then index rows wholly below every log start are deleted. The objects left
   * unreferenced are deleted later by the ObjectCollector, after its grace delay.
   */
  async runRetention(): Promise<void> {
    if (this.#closed) return;
    const now = BigInt(this.#now());
    let moved = false;
    for (const topic of this.#topicsByName.values()) {
      const config = effectiveTopicConfig(topic, this.#topicDefaults);
      if (!hasCleanupPolicy(config, 'delete')) continue;
      const retentionMs = BigInt(config['retention.ms'] ?? '-1');
      const retentionBytes = BigInt(config['retention.bytes'] ?? '-1');
      for (let index = 0; index < topic.partitionCount; index++) {
        const partition = this.#partitions.get(partitionKey(topic.topicId, index));
        if (partition?.leaderEpoch === undefined) continue;
        const start = partition.log.retentionStart(now, retentionMs, retentionBytes);
        if (start <= partition.log.logStartOffset) continue;
        await this.#metadata.setLogStartOffset(topic.topicId, index, start);
        partition.log.advanceLogStart(start);
        moved = true;
      }
    }
    if (moved) await this.#catalog.deleteBatchesBelowLogStart();
  }

  stats(): {
    objectCount: number;
    pendingSegments: number;
    tailCacheBytes: number;
    index: IndexMemoryStats;
  } {
    return {
      objectCount: this.#objectNames.size,
      pendingSegments: 0,
      tailCacheBytes: this.#tailCache.bytes,
      index: this.#indexMemory.stats(),
    };
  }

  /** Windows written by this broker (tests). */
  get windowCount(): number {
    return this.#writer.windowCount;
  }

  /**
   * Clean shutdown: stop taking leases, finish every append, hand each lease back so another
   * broker takes it at once (not after the lease time), deregister, close the connections.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retentionTimer !== undefined) clearInterval(this.#retentionTimer);
    await this.#adminChain.catch(() => undefined);
    await this.#collector.stop();
    await this.#compactor?.stop();
    await this.#keeper.stop();
    await this.#writer.close().catch(() => undefined);
    await this.#stopListening?.().catch(() => undefined);
    await this.#store.close().catch(() => undefined);
    await this.#metadata.close().catch(() => undefined);
    this.#indexMemory.close();
  }

  #admin<T>(work: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.#checkOpen();
      return work();
    };
    const result = this.#adminChain.then(run, run);
    this.#adminChain = result.catch(() => undefined);
    return result;
  }

  #checkOpen(): void {
    if (this.#closed) throw new StorageError('CLOSED', 'storage is closed');
  }

  #requireTopic(name: string): TopicRecord {
    const topic = this.#topicsByName.get(name);
    if (topic === undefined) {
      throw new StorageError('UNKNOWN_TOPIC', `This server does not host topic ${name}.`);
    }
    return topic;
  }

  #putTopic(topic: TopicRecord): void {
    this.#topicsByName.set(topic.name, topic);
    this.#topicsById.set(topic.topicId, topic);
  }

  #dropTopic(topic: TopicRecord): void {
    this.#topicsByName.delete(topic.name);
    this.#topicsById.delete(topic.topicId);
    const keys = new Set<string>();
    for (let index = 0; index < topic.partitionCount; index++) {
      const key = partitionKey(topic.topicId, index);
      const partition = this.#partitions.get(key);
      if (partition === undefined) continue;
      keys.add(key);
      partition.log.markDeleted();
      this.#partitions.delete(key);
      if (partition.leaderEpoch !== undefined) this.#emit(topic.topicId, index, false);
    }
    this.#writer.dropOpen(keys, new StorageError('UNKNOWN_TOPIC', 'the topic was deleted'));
  }

  /** Follower logs for partitions [from, count) of `topic`, starting at their log starts. */
  #addPartitions(topic: TopicRecord, from: number, starts: ReadonlyMap<string, bigint>): void {
    for (let index = from; index < topic.partitionCount; index++) {
      const key = partitionKey(topic.topicId, index);
      if (this.#partitions.has(key)) continue;
      const partition: ClusterPartition = {
        topicId: topic.topicId,
        index,
        log: this.#followerLog(topic.topicId, index, starts.get(key) ?? 0n),
        leaderEpoch: undefined,
        refresh: undefined,
        refreshAgain: false,
        rereads: Promise.resolve(),
      };
      this.#partitions.set(key, partition);
    }
  }

  #followerLog(topicId: TopicId, index: number, logStart: bigint): IndexedPartitionLog {
    return new IndexedPartitionLog(topicId, index, logStart, {
      wal: {
        append: () =>
          Promise.reject(
            new StorageError('NOT_LEADER', `this broker does not lead partition ${index}`),
          ),
      },
      tailCache: this.#tailCache,
      indexMemory: this.#indexMemory,
      readBatches: (run) => this.#readBatches(run),
      persistLogStart: (topic, partition, offset) =>
        this.#persistLogStart(topic, partition, offset),
      checkOpen: () => this.#checkOpen(),
    });
  }

  #leaderLog(partition: ClusterPartition, epoch: number): IndexedPartitionLog {
    const key = partitionKey(partition.topicId, partition.index);
    const log: IndexedPartitionLog = new IndexedPartitionLog(
      partition.topicId,
      partition.index,
      partition.log.logStartOffset,
      {
        wal: {
          append: (entry) => {
            // A handler holding the log of an earlier term must not write under this epoch.
            if (this.#partitions.get(key)?.log !== log) {
              return Promise.reject(
                new StorageError('NOT_LEADER', 'the partition moved while appending'),
              );
            }
            return this.#writer.append(entry, epoch);
          },
        },
        appendPointer: (entry, location) => {
          if (this.#partitions.get(key)?.log !== log) {
            return Promise.reject(
              new StorageError('NOT_LEADER', 'the partition moved while appending'),
            );
          }
          return this.#writer.appendPointer(entry, location, epoch);
        },
        tailCache: this.#tailCache,
        indexMemory: this.#indexMemory,
        readBatches: (run) => this.#readBatches(run),
        persistLogStart: (topic, index, offset) => this.#persistLogStart(topic, index, offset),
        checkOpen: () => this.#checkOpen(),
      },
    );
    log.adopt(partition.log);
    return log;
  }

  async #persistLogStart(topicId: TopicId, index: number, offset: bigint): Promise<void> {
    await this.#metadata.setLogStartOffset(topicId, index, offset);
  }

  /** Loads topics, log starts and the committed index of every partition. */
  async #load(): Promise<void> {
    const starts = new Map<string, bigint>();
    for (const start of await this.#metadata.listLogStartOffsets()) {
      starts.set(partitionKey(start.topicId, start.partition), start.logStartOffset);
    }
    for (const topic of await this.#metadata.listTopics()) {
      const frozen = freezeTopic(topic);
      this.#putTopic(frozen);
      this.#addPartitions(frozen, 0, starts);
    }
    const batches = await this.#catalog.listBatches();
    await this.#resolveObjectNames(batches.map((batch) => batch.objectId));
    const byKey = new Map<string, ReturnType<typeof entryInfoOf>[]>();
    for (const batch of batches) {
      const key = partitionKey(batch.topicId, batch.partition);
      let list = byKey.get(key);
      if (list === undefined) byKey.set(key, (list = []));
      list.push(entryInfoOf(batch));
    }
    for (const [key, infos] of byKey) this.#partitions.get(key)?.log.restoreCommitted(infos);
  }

  /** Re-reads topics and log starts from the metadata store (another broker changed them). */
  #reloadTopics(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#topicReload !== undefined) {
      this.#topicReloadAgain = true;
      return this.#topicReload;
    }
    this.#topicReload = (async () => {
      do {
        this.#topicReloadAgain = false;
        await this.#reloadTopicsOnce();
      } while (this.#topicReloadAgain && !this.#closed);
    })().finally(() => {
      this.#topicReload = undefined;
    });
    return this.#topicReload;
  }

  async #reloadTopicsOnce(): Promise<void> {
    const topics = await this.#metadata.listTopics();
    const starts = new Map<string, bigint>();
    for (const start of await this.#metadata.listLogStartOffsets()) {
      starts.set(partitionKey(start.topicId, start.partition), start.logStartOffset);
    }
    const seen = new Set<string>();
    for (const stored of topics) {
      seen.add(stored.name);
      const known = this.#topicsByName.get(stored.name);
      if (known !== undefined && known.topicId !== stored.topicId) this.#dropTopic(known);
      const topic = freezeTopic(stored);
      this.#putTopic(topic);
      this.#addPartitions(topic, 0, starts);
    }
    for (const topic of this.#topicsByName.values()) {
      if (!seen.has(topic.name)) this.#dropTopic(topic);
    }
    for (const [key, start] of starts) this.#partitions.get(key)?.log.advanceLogStart(start);
  }

  #onAppend(notices: readonly AppendNotice[]): void {
    if (notices.length === 0) {
      for (const key of this.#partitions.keys()) this.#refresh(key);
      return;
    }
    for (const notice of notices) {
      const key = partitionKey(notice.topicId, notice.partition);
      const partition = this.#partitions.get(key);
      if (partition === undefined) {
        void this.#reloadTopics()
          .then(() => this.#refresh(key))
          .catch(() => undefined);
        continue;
      }
      if (partition.leaderEpoch === undefined && partition.log.highWatermark < notice.nextOffset) {
        this.#refresh(key);
      }
    }
  }

  /** The partitions led here whose topic is compacted, for the compactor's pass. */
  #compactablePartitions(): CompactablePartition[] {
    const found: CompactablePartition[] = [];
    for (const topic of this.#topicsByName.values()) {
      const config = effectiveTopicConfig(topic, this.#topicDefaults);
      if (!hasCleanupPolicy(config, 'compact')) continue;
      for (let index = 0; index < topic.partitionCount; index++) {
        const partition = this.#partitions.get(partitionKey(topic.topicId, index));
        if (partition?.leaderEpoch === undefined) continue;
        const { log, leaderEpoch } = partition;
        found.push({ topicId: topic.topicId, index, log, leaderEpoch, config });
      }
    }
    return found;
  }

  /**
   * This broker committed a compaction: its log swaps the range's rows at once (the notice that
   * follows re-reads them, which changes nothing then).
   */
  #onCompactedHere(topicId: TopicId, index: number, range: ReplacedRange): void {
    const key = partitionKey(topicId, index);
    const partition = this.#partitions.get(key);
    if (range.objectId !== undefined && range.objectName !== undefined) {
      this.#objectNames.set(range.objectId, range.objectName);
    }
    if (partition === undefined) return;
    replaceRange(partition.log, range.fromOffset, range.toOffset, range.batches);
  }

  /**
   * A leader compacted a range (notice): re-read its rows so reads go to the new object. Reads
   * already holding an old location finish from the old object (deleted only after the
   * collector's grace delay).
   */
  #onCompacted(notice: CompactionNotice): void {
    const key = partitionKey(notice.topicId, notice.partition);
    const partition = this.#partitions.get(key);
    if (partition === undefined) return;
    partition.rereads = partition.rereads
      .then(() => this.#reread(partition, notice))
      .catch(() => {
        // Until it is re-read the range points at old objects, which the collector deletes
        // after its grace delay: try again (the database may be back by then).
        if (this.#closed) return;
        setTimeout(() => this.#onCompacted(notice), rereadRetryMs).unref();
      });
  }

  async #reread(partition: ClusterPartition, notice: CompactionNotice): Promise<void> {
    if (this.#closed) return;
    if (partition.log.logEndOffset <= notice.toOffset) {
      await this.#catchUp(partition, notice.toOffset + 1n);
    }
    const rows: CommittedBatch[] = [];
    let from = notice.fromOffset;
    for (;;) {
      const page = await this.#catalog.batchesFrom(
        notice.topicId,
        notice.partition,
        from,
        catchUpBatchLimit,
      );
      const inRange = page.filter((row) => row.baseOffset <= notice.toOffset);
      rows.push(...inRange.filter((row) => row.baseOffset >= notice.fromOffset));
      const last = page.at(-1);
      if (inRange.length < page.length || page.length < catchUpBatchLimit || last === undefined) {
        break;
      }
      from = last.lastOffset + 1n;
    }
    await this.#resolveObjectNames(rows.map((row) => row.objectId));
    replaceRange(partition.log, notice.fromOffset, notice.toOffset, rows);
  }

  #onReconnect(): void {
    this.#collector.logStartsMoved();
    void this.#reloadTopics().catch(() => undefined);
    for (const key of this.#partitions.keys()) this.#refresh(key);
    this.#rereadCompacted();
    this.#keeper.kick();
  }

  /** Compaction notices may have been missed: compacted partitions re-read all their rows. */
  #rereadCompacted(): void {
    for (const topic of this.#topicsByName.values()) {
      const config = effectiveTopicConfig(topic, this.#topicDefaults);
      if (!hasCleanupPolicy(config, 'compact')) continue;
      for (let index = 0; index < topic.partitionCount; index++) {
        const log = this.#partitions.get(partitionKey(topic.topicId, index))?.log;
        if (log === undefined || log.highWatermark <= log.logStartOffset) continue;
        this.#onCompacted({
          topicId: topic.topicId,
          partition: index,
          fromOffset: log.logStartOffset,
          toOffset: log.highWatermark - 1n,
        });
      }
    }
  }

  /** Brings a follower log up to the catalog; one refresh per partition at a time. */
  #refresh(key: string): void {
    const partition = this.#partitions.get(key);
    if (partition === undefined || partition.leaderEpoch !== undefined) return;
    if (partition.refresh !== undefined) {
      partition.refreshAgain = true;
      return;
    }
    partition.refresh = (async () => {
      do {
        partition.refreshAgain = false;
        await this.#catchUp(partition, undefined);
      } while (partition.refreshAgain && !this.#closed);
    })()
      .catch(() => undefined)
      .finally(() => {
        partition.refresh = undefined;
      });
  }

  /** Reads committed batches past the log end of `partition`'s log, until `until` if given. */
  async #catchUp(partition: ClusterPartition, until: bigint | undefined): Promise<void> {
    for (;;) {
      const log = partition.log;
      const from = log.logEndOffset;
      if (until !== undefined && from >= until) return;
      const batches = await this.#catalog.batchesFrom(
        partition.topicId,
        partition.index,
        from,
        catchUpBatchLimit,
      );
      await this.#resolveObjectNames(batches.map((batch) => batch.objectId));
      if (partition.log !== log || partition.leaderEpoch !== undefined) return;
      log.restoreCommitted(batches.map(entryInfoOf));
      if (batches.length < catchUpBatchLimit) return;
    }
  }

  async #resolveObjectNames(objectIds: readonly number[]): Promise<void> {
    const missing = [...new Set(objectIds)].filter((id) => !this.#objectNames.has(id));
    if (missing.length === 0) return;
    for (const [id, name] of await this.#catalog.objectNames(missing)) {
      this.#objectNames.set(id, name);
    }
  }

  /** Becomes leader of a partition whose lease this broker just took. */
  async #promote(lease: PartitionLease): Promise<void> {
    const key = partitionKey(lease.topicId, lease.partition);
    let partition = this.#partitions.get(key);
    if (partition === undefined) {
      await this.#reloadTopics();
      partition = this.#partitions.get(key);
      if (partition === undefined) return;
    }
    await partition.refresh;
    await this.#catchUp(partition, lease.nextOffset);
    if (partition.log.logEndOffset < lease.nextOffset && lease.nextOffset > 0n) {
      throw new StorageError(
        'CORRUPT_DATA',
        `partition ${key}: the index ends at ${partition.log.logEndOffset}, ` +
          `the lease says ${lease.nextOffset}`,
      );
    }
    partition.log = this.#leaderLog(partition, lease.leaderEpoch);
    partition.leaderEpoch = lease.leaderEpoch;
    this.#emit(partition.topicId, partition.index, true);
  }

  /** Stops leading: open appends fail, the log becomes a follower copy of what is committed. */
  #demote(key: string): void {
    const partition = this.#partitions.get(key);
    if (partition === undefined || partition.leaderEpoch === undefined) return;
    partition.leaderEpoch = undefined;
    this.#writer.dropOpen(
      new Set([key]),
      new StorageError('NOT_LEADER', 'the partition moved to another broker'),
    );
    const follower = this.#followerLog(
      partition.topicId,
      partition.index,
      partition.log.logStartOffset,
    );
    follower.adopt(partition.log);
    partition.log = follower;
    this.#emit(partition.topicId, partition.index, false);
    this.#refresh(key);
  }

  /** A window failed: fenced partitions are given up, the others restart from the committed. */
  #onWindowFailed(keys: ReadonlySet<string>, error: StorageError): void {
    for (const key of keys) {
      const partition = this.#partitions.get(key);
      if (partition?.leaderEpoch === undefined) continue;
      if (error.code === 'NOT_LEADER') {
        this.#demote(key);
        this.#keeper.kick();
      } else {
        partition.log = this.#leaderLog(partition, partition.leaderEpoch);
      }
    }
  }

  /** The transaction coordinator's partition follows the group coordinator's (LeaseKeeper). */
  #companions(): (readonly [string, string])[] {
    const groups = this.#topicsByName.get('__consumer_offsets');
    const transactions = this.#topicsByName.get('__transaction_state');
    if (groups === undefined || transactions === undefined) return [];
    return [[partitionKey(groups.topicId, 0), partitionKey(transactions.topicId, 0)]];
  }

  *#ledKeys(): Iterable<string> {
    for (const [key, partition] of this.#partitions) {
      if (partition.leaderEpoch !== undefined) yield key;
    }
  }

  #emit(topicId: TopicId, partition: number, leading: boolean): void {
    for (const listener of this.#leadershipListeners) {
      try {
        listener(topicId, partition, leading);
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  /** Reads batches stored back to back in one object with one ranged GET. */
  async #readBatches(run: readonly BatchEntry[]): Promise<Buffer[]> {
    const first = run[0];
    const last = run.at(-1);
    if (first === undefined || last === undefined) return [];
    const start = first.position - entryBatchOffsetOf(first.entryVersion);
    const length = last.position + last.sizeBytes - start;
    await this.#resolveObjectNames([first.segmentId]);
    const name = this.#objectNames.get(first.segmentId);
    if (name === undefined) {
      throw new StorageError('CORRUPT_DATA', `object ${first.segmentId} is not in the catalog`);
    }
    let data: Buffer;
    try {
      data = await this.#store.get(name, start, length);
    } catch (error: unknown) {
      throw asStorageError(error, `reading object ${name}`);
    }
    // A batch stored by another broker for this partition's leader (zone routing) carries the
    // offset it had then; the index holds the one the leader assigned. The base offset lies
    // outside both checksums (the frame's was checked above, on the bytes as stored).
    return run.map((entry) => {
      const batch = batchOfFrame(data, start, entry);
      if (batch.readBigInt64BE(0) !== entry.baseOffset) batch.writeBigInt64BE(entry.baseOffset, 0);
      return batch;
    });
  }

  #startRetention(intervalMs: number): void {
    this.#retentionTimer = setInterval(
      () => void this.runRetention().catch(() => undefined),
      intervalMs,
    );
    this.#retentionTimer.unref();
  }
}

/** Swaps the batches of `log` whose base offset lies in [from, to] for `rows`. */
function replaceRange(
  log: IndexedPartitionLog,
  from: bigint,
  to: bigint,
  rows: readonly CommittedBatch[],
): void {
  const replaced = log.batchesBetween(from, to);
  if (replaced.length === 0 && rows.length === 0) return;
  log.replaceHead(
    replaced,
    rows.map((row) => entryFromWal(entryInfoOf(row))),
  );
}

function checkConfigs(configs: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(configs)) {
    const problem = validateTopicConfig(name, value);
    if (problem !== undefined) throw new StorageError('INVALID_CONFIG', problem);
  }
}

function freezeTopic(topic: TopicRecord): TopicRecord {
  return Object.freeze({ ...topic, configs: Object.freeze({ ...topic.configs }) });
}
