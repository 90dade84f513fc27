/**
 * LogStorage: the storage facade the broker uses — topics, partition logs, and the background
 * work that keeps the data directory bounded (sealing WAL segments into objects, retention,
 * compaction with an injected RecordCompactor, garbage collection of unreferenced objects).
 *
 * Embedded layout of `dataDir`: `metadata.sqlite` (SqliteMetadataStore), `wal/` (segments),
 * `objects/` (sealed segments, renamed in). `inMemory` uses the memory twins of all three.
 * Open recovers in this order: metadata, finish interrupted hand-offs, replay the WAL (torn
 * tail cut, corruption fails the open), load object indexes, rebuild every partition's batch
 * index, delete orphan objects, start a fresh active WAL segment, re-seal recovered segments.
 */
import { join } from 'node:path';
import { DataDirLock } from './data-dir-lock.ts';
import { DirectoryObjectStore, isNotFound } from './directory-object-store.ts';
import { FileWriteAheadLog } from './file-write-ahead-log.ts';
import { walEntryFrameIntact } from './frame.ts';
import { MemoryMetadataStore } from './memory-metadata-store.ts';
import { MemoryObjectStore } from './memory-object-store.ts';
import { MemoryWriteAheadLog } from './memory-write-ahead-log.ts';
import type {
  BrokerConfigScope,
  MetadataStore,
  ObjectRange,
  ObjectRecord,
} from './metadata-store.ts';
import type { ObjectStore } from './object-store.ts';
import type { ObjectVerdict } from './object-verifier.ts';
import { ObjectVerifyThread } from './object-verify-thread.ts';
import { FrameCheckThread } from './frame-check-thread.ts';
import type { AclBinding, ScramCredential, ScramCredentialChange } from './security-metadata.ts';
import {
  buildCompactedObject,
  compactedSegmentIdBase,
  planCompaction,
} from './partition-compaction.ts';
import {
  type BatchEntry,
  IndexedPartitionLog,
  type PartitionLog,
  type PartitionLogContext,
  entryFromWal,
} from './partition-log.ts';
import {
  type WalEntryInfo,
  decodeObjectFooter,
  decodeObjectIndex,
  batchEndOf,
  frameStartOf,
  footerFrameBytes,
} from './segment-format.ts';
import { SegmentUploader, handOffSegment, objectNameOf, rangesOf } from './segment-uploader.ts';
import { SqliteMetadataStore } from './sqlite-metadata-store.ts';
import { StorageError, asStorageError } from './storage-error.ts';
import { TailCache } from './tail-cache.ts';
import { batchIndexEntryBytes } from './batch-index.ts';
import {
  FileSpillStore,
  IndexMemory,
  type IndexMemoryStats,
  MemorySpillStore,
  defaultIndexChunkEntries,
  defaultIndexMemoryMaxBytes,
} from './index-memory.ts';
import { effectiveTopicConfig, hasCleanupPolicy, validateTopicConfig } from './topic-config.ts';
import {
  type RecordCompactor,
  type TopicId,
  type TopicRecord,
  newTopicId,
  partitionKey,
} from './types.ts';
import type { WalLog } from './segmented-write-ahead-log.ts';
import type { WalSegmentInfo, WalStats, WriteAheadLog } from './write-ahead-log.ts';

export interface StorageOptions {
  /** Embedded mode: all files in this directory. */
  dataDir?: string;
  /** Tests: in-memory WAL, object store and metadata store. */
  inMemory?: boolean;
  walSegmentMaxBytes?: number;
  walSegmentMaxAgeMs?: number;
  tailCacheMaxBytes?: number;
  /**
   * `log.index.memory.max.bytes`: resident sealed chunks of the batch indexes (ADR 0017); past
   * it the least recently used chunks are spilled to a file in the data directory (or kept as
   * copies in memory with `inMemory`). Default 64 MiB.
   */
  indexMemoryMaxBytes?: number;
  /** Batches per index chunk (tests use a few to spill early); default 512. */
  indexChunkEntries?: number;
  retentionCheckIntervalMs?: number;
  /** Injectable clock, ms. */
  now?: () => number;
  /** Record-level hooks for cleanup.policy=compact; without them such topics are not compacted. */
  compactor?: RecordCompactor;
  /** Replace one component (tests: reopen over the same memory WAL to simulate a crash). */
  writeAheadLog?: WriteAheadLog;
  objectStore?: ObjectStore;
  metadataStore?: MetadataStore;
  /** Where damage found in stored data is reported (the broker's logger); silent without. */
  log?: StorageLog;
  /** Where the WAL reports a full disk, its recovery, torn tails cut and I/O failures. */
  walLog?: WalLog;
  /**
   * Called once if the WAL fails for good (an I/O error other than a full disk, docs/adr/0014):
   * every later append is refused, so the broker should exit and be restarted.
   */
  onWalFailure?: (error: StorageError) => void;
  /** Told of each WAL group commit and object upload (the broker's metrics). */
  observer?: StorageObserver;
}

export interface StorageObserver {
  walGroupCommitted?(appends: number, bytes: number, ms: number): void;
  objectUploaded?(bytes: number, ms: number): void;
}

export interface StorageLog {
  warn(message: string, fields?: Record<string, string | number | bigint>): void;
}

export interface StorageStats {
  objectCount: number;
  pendingSegments: number;
  tailCacheBytes: number;
  /** Objects or WAL segments found damaged (at upload or on a read) since the broker started. */
  damagedObjects?: number;
  /** Reads refused because a stored batch failed its checksum. */
  corruptBatchReads?: number;
  /** The embedded WAL's counters (torn tails cut, disk full); absent in cluster mode. */
  wal?: WalStats;
  /** The batch indexes' resident and spilled chunks (log.index.memory.max.bytes). */
  index?: IndexMemoryStats;
}

interface Components {
  wal: WriteAheadLog;
  store: ObjectStore;
  metadata: MetadataStore;
  lock?: DataDirLock;
}

/** Which partition a read is for, to name it when its data turns out damaged. */
interface PartitionRef {
  readonly topicId: TopicId;
  readonly partition: number;
}

const defaultWalSegmentMaxAgeMs = 60_000;
const producerIdBlockSize = 1000;

export class LogStorage {
  /** Embedded: no cluster (BrokerStorage.cluster). */
  readonly cluster: undefined = undefined;
  readonly clusterId: string;
  readonly nodeId: number;
  readonly #wal: WriteAheadLog;
  readonly #store: ObjectStore;
  readonly #metadata: MetadataStore;
  readonly #lock: DataDirLock | undefined;
  readonly #now: () => number;
  readonly #tailCache: TailCache;
  readonly #indexMemory: IndexMemory;
  readonly #uploader: SegmentUploader;
  /** Reads back and verifies each uploaded object off the event loop (ADR 0013). */
  readonly #verifyThread: ObjectVerifyThread;
  /** Checks the frames of large reads off the event loop (frame-check-thread.ts). */
  readonly #frameCheck = new FrameCheckThread();
  readonly #topicsByName = new Map<string, TopicRecord>();
  readonly #topicsById = new Map<TopicId, TopicRecord>();
  /**
   * Each topic's partition logs by index: a fetch looks up every partition it names, and with
   * 10,000 of them a string key per lookup was a tenth of the broker's time.
   */
  readonly #partitions = new Map<TopicId, IndexedPartitionLog[]>();
  /** What every partition log shares (one object, not one per partition). */
  readonly #partitionContext: PartitionLogContext;
  /** Uploaded objects by segment id. */
  readonly #objects = new Map<number, ObjectRecord>();
  readonly #timers: NodeJS.Timeout[] = [];
  #adminChain: Promise<unknown> = Promise.resolve();
  #retention: Promise<void> | undefined;
  #closed = false;
  readonly #compactor: RecordCompactor | undefined;
  #nextCompactedId = compactedSegmentIdBase;
  #producerIds = { next: 0n, end: 0n };
  #producerIdBlock: Promise<bigint> | undefined;
  #topicDefaults: Readonly<Record<string, string>> = Object.freeze({});
  readonly #log: StorageLog | undefined;
  /** Objects and segments already reported damaged: each is logged once. */
  readonly #damaged = new Set<string>();
  #corruptBatchReads = 0;

  private constructor(
    identity: { clusterId: string; nodeId: number },
    components: Components,
    options: StorageOptions,
  ) {
    this.clusterId = identity.clusterId;
    this.nodeId = identity.nodeId;
    this.#wal = components.wal;
    this.#store = components.store;
    this.#metadata = components.metadata;
    this.#lock = components.lock;
    this.#now = options.now ?? Date.now;
    this.#tailCache = new TailCache(options.tailCacheMaxBytes ?? 64 * 1024 * 1024);
    this.#indexMemory = indexMemoryOf(options);
    this.#compactor = options.compactor;
    this.#log = options.log;
    this.#verifyThread = new ObjectVerifyThread(this.#store);
    this.#uploader = new SegmentUploader({
      files: this.#wal.files,
      store: this.#store,
      metadata: this.#metadata,
      isLive: (entry) => this.#partitionOf(entry.topicId, entry.partition) !== undefined,
      onUploaded: (object) => this.#objects.set(object.segmentId, object),
      onDamaged: (name, verdict) => this.#reportDamagedUpload(name, verdict),
      verify: (name, segmentId) => this.#verifyThread.verify(name, segmentId),
      ...(options.observer?.objectUploaded === undefined
        ? {}
        : { onUploadTimed: options.observer.objectUploaded.bind(options.observer) }),
    });
    this.#partitionContext = {
      wal: this.#wal,
      tailCache: this.#tailCache,
      indexMemory: this.#indexMemory,
      persistLogStart: (topicId: TopicId, index: number, offset: bigint) =>
        this.#metadata.setLogStartOffset(topicId, index, offset),
      checkOpen: () => this.#checkOpen(),
      readBatches: (run, log) =>
        this.#readBatches(run, { topicId: log.topicId, partition: log.index }),
    };
  }

  static async open(options: StorageOptions): Promise<LogStorage> {
    const components = await openComponents(options);
    let storage: LogStorage | undefined;
    try {
      const identity = await components.metadata.initCluster({
        clusterId: newTopicId(),
        nodeId: 0,
      });
      storage = new LogStorage(identity, components, options);
      await storage.#recover();
      storage.#startTimers(options);
      return storage;
    } catch (error: unknown) {
      if (storage !== undefined) storage.#indexMemory.close();
      await closeQuietly(components);
      throw asStorageError(error, 'opening storage failed');
    }
  }

  /**
   * A producer id never returned before, across restarts. Ids are reserved from the metadata
   * store in blocks of `producerIdBlockSize`, so most calls do no I/O; a restart skips the rest
   * of the block (ids are 63-bit: plenty).
   */
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

  /**
   * ACL bindings and SCRAM credentials, straight from the metadata store (SecurityMetadata's
   * contract); serialized with the other admin changes.
   */
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
    return this.#partitionOf(topicId, index);
  }

  createTopic(spec: {
    name: string;
    partitionCount: number;
    configs?: Record<string, string>;
  }): Promise<TopicRecord> {
    return this.#admin(async () => {
      if (this.#topicsByName.has(spec.name)) {
        throw new StorageError('TOPIC_EXISTS', `Topic '${spec.name}' already exists.`);
      }
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
      await this.#metadata.createTopic(topic);
      this.#putTopic(topic);
      this.#addPartitions(topic, 0, new Map());
      return topic;
    });
  }

  deleteTopic(name: string): Promise<void> {
    return this.#admin(async () => {
      const topic = this.#requireTopic(name);
      await this.#metadata.deleteTopic(name);
      this.#topicsByName.delete(name);
      this.#topicsById.delete(topic.topicId);
      for (const log of this.#partitions.get(topic.topicId) ?? []) log.markDeleted();
      this.#partitions.delete(topic.topicId);
      setImmediate(() => void this.runRetention().catch(() => undefined));
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
      this.#putTopic(updated);
      this.#addPartitions(updated, topic.partitionCount, new Map());
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

  /**
   * The broker's defaults for topic configs (retention.ms from log.retention.ms, ...), used by
   * retention and compaction for every topic without its own value. A new object on each change,
   * so callers may cache derived views keyed by it.
   */
  get topicConfigDefaults(): Readonly<Record<string, string>> {
    return this.#topicDefaults;
  }

  /** Replaces the broker's topic config defaults; INVALID_CONFIG if a value is not valid. */
  setTopicConfigDefaults(defaults: Readonly<Record<string, string>>): void {
    checkConfigs(defaults);
    this.#topicDefaults = Object.freeze({ ...defaults });
  }

  /** Dynamic broker settings by scope, as the metadata store holds them. */
  listBrokerConfigs(): Promise<BrokerConfigScope[]> {
    return this.#admin(() => this.#metadata.listBrokerConfigs());
  }

  /** Durably replaces one scope's dynamic broker settings ('' = cluster-wide default). */
  setBrokerConfigs(scope: string, configs: Readonly<Record<string, string>>): Promise<void> {
    return this.#admin(() => this.#metadata.setBrokerConfigs(scope, configs));
  }

  /** Seals the active WAL segment now and waits until it is an object (tests, shutdown tools). */
  async sealActiveSegment(): Promise<void> {
    this.#checkOpen();
    await this.#wal.roll();
    await this.#uploader.whenIdle();
  }

  /** One retention and garbage-collection pass (also runs every retentionCheckIntervalMs). */
  runRetention(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#retention ??= this.#retentionPass().finally(() => {
      this.#retention = undefined;
    });
    return this.#retention;
  }

  stats(): StorageStats {
    return {
      objectCount: this.#objects.size,
      pendingSegments: this.#uploader.pendingSegments,
      tailCacheBytes: this.#tailCache.bytes,
      index: this.#indexMemory.stats(),
      damagedObjects: this.#damaged.size,
      corruptBatchReads: this.#corruptBatchReads,
      wal: this.#wal.stats(),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    await this.#adminChain.catch(() => undefined);
    await this.#wal.close();
    await this.#retention?.catch(() => undefined);
    await this.#uploader.whenIdle();
    await this.#verifyThread.close();
    await this.#frameCheck.close();
    await closeQuietly({
      wal: this.#wal,
      store: this.#store,
      metadata: this.#metadata,
      ...(this.#lock === undefined ? {} : { lock: this.#lock }),
    });
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

  #partitionOf(topicId: TopicId, index: number): IndexedPartitionLog | undefined {
    return this.#partitions.get(topicId)?.[index];
  }

  #addPartitions(topic: TopicRecord, from: number, starts: ReadonlyMap<string, bigint>): void {
    let logs = this.#partitions.get(topic.topicId);
    if (logs === undefined) this.#partitions.set(topic.topicId, (logs = []));
    for (let index = from; index < topic.partitionCount; index++) {
      const start = starts.size === 0 ? 0n : (starts.get(partitionKey(topic.topicId, index)) ?? 0n);
      logs[index] = new IndexedPartitionLog(topic.topicId, index, start, this.#partitionContext);
    }
  }

  /** Reads a batch from its object or WAL segment, verifying the WAL entry frame's crc. */
  async #readBatch(entry: BatchEntry, where: PartitionRef): Promise<Buffer> {
    const batches = await this.#readBatches([entry], where);
    return batches[0] as Buffer;
  }

  /**
   * Reads batches stored back to back in one segment (see PartitionLog's `readBatches`) with one
   * read, then checks each WAL entry frame's crc and returns each batch as a view of that read.
   */
  async #readBatches(run: readonly BatchEntry[], where: PartitionRef): Promise<Buffer[]> {
    const first = run[0];
    const last = run.at(-1);
    if (first === undefined || last === undefined) return [];
    const start = frameStartOf(first);
    const length = batchEndOf(last) - start;
    const segmentId = first.segmentId;
    const fromObject = (): Promise<Buffer> =>
      this.#store.get(objectNameOf(segmentId), start, length);
    const fromWal = (): Promise<Buffer> => this.#wal.read(segmentId, start, length);
    const inObject = this.#objects.has(segmentId);
    const [primary, secondary] = inObject ? [fromObject, fromWal] : [fromWal, fromObject];
    let data: Buffer;
    let source = inObject ? `object ${objectNameOf(segmentId)}` : `WAL segment ${segmentId}`;
    try {
      data = await primary().catch((error: unknown) => {
        // The segment may have moved into the object store while this read started.
        if (isNotFound(error)) {
          source = inObject ? `WAL segment ${segmentId}` : `object ${objectNameOf(segmentId)}`;
          return secondary();
        }
        throw error;
      });
    } catch (error: unknown) {
      if (isNotFound(error)) {
        throw new StorageError('OFFSET_OUT_OF_RANGE', 'the data was deleted by retention');
      }
      throw asStorageError(error, `reading segment ${segmentId}`);
    }
    const damaged = await this.#firstDamaged(data, start, run);
    if (damaged >= 0) {
      const entry = run[damaged] as BatchEntry;
      throw this.#corruptRead(source, where, entry, batchChecksumError(entry));
    }
    return run.map((entry) => batchIn(data, start, entry));
  }

  /**
   * Index in `run` of the first batch whose entry frame in `data` (read from byte `start` of
   * its segment) fails its crc, or -1. Large reads are checked on the frame check thread, small
   * ones here and now: for them the round trip would cost more than the check.
   */
  #firstDamaged(data: Buffer, start: number, run: readonly BatchEntry[]): Promise<number> | number {
    if (!this.#frameCheck.checkedOnThread(data)) {
      return run.findIndex((entry) => !batchFrameIntact(data, start, entry));
    }
    const starts = new Int32Array(run.length);
    const ends = new Int32Array(run.length);
    for (let index = 0; index < run.length; index++) {
      const entry = run[index] as BatchEntry;
      starts[index] = frameStartOf(entry) - start;
      ends[index] = batchEndOf(entry) - start;
    }
    return this.#frameCheck.firstDamaged(data, starts, ends);
  }

  /**
   * A stored batch failed its checksum: count it, log it once per object or segment (with its
   * partition, offsets and byte position) and give the reader an error that says what to do.
   */
  #corruptRead(
    source: string,
    where: PartitionRef,
    entry: BatchEntry,
    error: unknown,
  ): StorageError {
    if (!(error instanceof StorageError) || error.code !== 'CORRUPT_DATA') {
      return asStorageError(error, `reading ${source}`);
    }
    this.#corruptBatchReads++;
    const topic = this.#topicsById.get(where.topicId)?.name ?? where.topicId;
    const offsets = `${entry.baseOffset}..${entry.lastOffset}`;
    const position = frameStartOf(entry);
    const message =
      `the batch at offsets ${offsets} of ${topic}-${where.partition} in ${source} at byte ` +
      `${position} fails its ` +
      `checksum; run 'tributary doctor' on the stopped broker's data directory`;
    if (!this.#damaged.has(source)) {
      this.#damaged.add(source);
      this.#log?.warn('damaged stored data: a batch fails its checksum', {
        source,
        position,
        topic,
        partition: where.partition,
        offsets,
      });
    }
    return new StorageError('CORRUPT_DATA', message, { cause: error });
  }

  #reportDamagedUpload(name: string, verdict: ObjectVerdict): void {
    const source = `object ${name}`;
    if (this.#damaged.has(source)) return;
    this.#damaged.add(source);
    const first = verdict.damaged[0];
    this.#log?.warn('damaged stored data: the object read back after its upload fails checks', {
      source,
      problem: verdict.trailerProblem ?? first?.reason ?? '',
      damagedBatches: verdict.damaged.length,
      ...(first === undefined
        ? {}
        : {
            position: first.framePosition,
            topic: this.#topicsById.get(first.entry.topicId)?.name ?? first.entry.topicId,
            partition: first.entry.partition,
            firstOffset: first.entry.baseOffset,
          }),
    });
  }

  async #recover(): Promise<void> {
    for (const topic of await this.#metadata.listTopics()) this.#putTopic(freezeTopic(topic));
    const starts = new Map<string, bigint>();
    for (const start of await this.#metadata.listLogStartOffsets()) {
      // Every partition has a row; only moved starts need a key (100,000 strings otherwise).
      if (start.logStartOffset === 0n) continue;
      starts.set(partitionKey(start.topicId, start.partition), start.logStartOffset);
    }
    for (const topic of this.#topicsByName.values()) this.#addPartitions(topic, 0, starts);

    const objects = await this.#metadata.listObjects();
    const objectIds = new Set(objects.map((object) => object.segmentId));
    let maxSegmentId = 0;
    for (const segmentId of await this.#wal.files.list()) {
      maxSegmentId = Math.max(maxSegmentId, segmentId);
      if (objectIds.has(segmentId)) {
        await handOffSegment(this.#wal.files, this.#store, segmentId, objectNameOf(segmentId));
      }
    }
    const recovered = await this.#wal.recover();
    await this.#restoreObjects(objects);
    for (const segment of recovered) this.#restoreEntries(segment.entries);
    // Rebuilt: every index lets go of what a read makes again (the open chunks' views).
    for (const logs of this.#partitions.values()) for (const log of logs) log.restored();
    await this.#deleteOrphanObjects();

    for (const object of objects) {
      if (object.segmentId < compactedSegmentIdBase) {
        maxSegmentId = Math.max(maxSegmentId, object.segmentId);
      } else {
        this.#nextCompactedId = Math.max(this.#nextCompactedId, object.segmentId + 1);
      }
    }
    await this.#wal.start(maxSegmentId + 1);
    this.#wal.onSegmentSealed((segment) => this.#uploader.enqueue(segment));
    for (const segment of recovered) this.#uploader.enqueue(segment);
  }

  /**
   * Adds one object's or WAL segment's batches to the partition indexes. Sources come oldest
   * first, so nothing but one source's entries is held at a time (startup memory does not grow
   * with the history); a source that belongs before what a partition holds is merged in.
   */
  #restoreEntries(entries: readonly WalEntryInfo[]): void {
    const byPartition = new Map<IndexedPartitionLog, WalEntryInfo[]>();
    for (const entry of entries) {
      const partition = this.#partitionOf(entry.topicId, entry.partition);
      if (partition === undefined) continue;
      let list = byPartition.get(partition);
      if (list === undefined) byPartition.set(partition, (list = []));
      list.push(entry);
    }
    for (const [partition, list] of byPartition) {
      list.sort((a, b) => (a.baseOffset < b.baseOffset ? -1 : a.baseOffset > b.baseOffset ? 1 : 0));
      partition.restoreRun(list);
    }
  }

  /**
   * Reads each recorded object's index into the partitions, one object at a time: compacted
   * objects first (each holds the head of one partition), then the others in WAL order. A
   * missing object that still holds live data fails.
   */
  async #restoreObjects(objects: readonly ObjectRecord[]): Promise<void> {
    const ordered = objects.toSorted((a, b) => {
      const aCompacted = a.segmentId >= compactedSegmentIdBase;
      const bCompacted = b.segmentId >= compactedSegmentIdBase;
      return aCompacted === bCompacted ? a.segmentId - b.segmentId : aCompacted ? -1 : 1;
    });
    for (const object of ordered) {
      const name = object.name;
      // An object wholly below the log starts (retention, or `tributary doctor --skip-damaged`
      // past its damage) is never read again: dropped before its index is, as it may be damaged.
      const info = this.#isLive(object) ? await this.#store.head(name) : undefined;
      if (info === undefined) {
        if (this.#isLive(object)) {
          throw new StorageError('CORRUPT_DATA', `object ${name} is recorded but missing`);
        }
        await this.#metadata.deleteObject(name);
        continue;
      }
      // Only what the metadata says the object holds: compaction may have moved ranges out.
      // An object holds a range for each of up to every partition: look them up, not scan.
      const ranges = rangesByPartition(object.ranges);
      const index = await this.#readObjectIndex(name, info.sizeBytes, object.segmentId);
      this.#restoreEntries(
        index.filter(
          (entry) =>
            ranges
              .get(partitionKey(entry.topicId, entry.partition))
              ?.some((range) => rangeHolds(range, entry)) === true,
        ),
      );
      this.#objects.set(object.segmentId, object);
    }
  }

  async #readObjectIndex(name: string, sizeBytes: number, segmentId: number) {
    try {
      const footer = await this.#store.get(name, sizeBytes - footerFrameBytes, footerFrameBytes);
      const { indexPosition } = decodeObjectFooter(footer);
      const indexLength = sizeBytes - footerFrameBytes - indexPosition;
      const index = await this.#store.get(name, indexPosition, indexLength);
      return decodeObjectIndex(index, segmentId);
    } catch (error: unknown) {
      if (!(error instanceof StorageError && error.code === 'CORRUPT_DATA')) throw error;
      this.#damaged.add(`object ${name}`);
      throw new StorageError(
        'CORRUPT_DATA',
        `object ${name}: ${error.message}; run 'tributary doctor' on this data directory ` +
          `(--skip-damaged moves the log start of its partitions past it)`,
        { cause: error },
      );
    }
  }

  async #deleteOrphanObjects(): Promise<void> {
    const known = new Set([...this.#objects.values()].map((object) => object.name));
    for (const info of await this.#store.list()) {
      if (!known.has(info.name)) await this.#store.delete(info.name);
    }
  }

  #isLive(object: ObjectRecord): boolean {
    return object.ranges.some((range) => {
      const partition = this.#partitionOf(range.topicId, range.partition);
      return partition !== undefined && range.lastOffset >= partition.logStartOffset;
    });
  }

  async #retentionPass(): Promise<void> {
    const now = BigInt(this.#now());
    for (const topic of this.#topicsByName.values()) {
      const config = effectiveTopicConfig(topic, this.#topicDefaults);
      if (!hasCleanupPolicy(config, 'delete')) continue;
      const retentionMs = BigInt(config['retention.ms'] ?? '-1');
      const retentionBytes = BigInt(config['retention.bytes'] ?? '-1');
      for (let index = 0; index < topic.partitionCount; index++) {
        const partition = this.#partitionOf(topic.topicId, index);
        if (partition === undefined) continue;
        const start = partition.retentionStart(now, retentionMs, retentionBytes);
        if (start <= partition.logStartOffset) continue;
        await this.#metadata.setLogStartOffset(topic.topicId, index, start);
        partition.advanceLogStart(start);
      }
    }
    if (this.#compactor !== undefined) await this.#compactAll(now, this.#compactor);
    await this.#collectGarbage();
    this.#uploader.kick();
  }

  async #compactAll(now: bigint, compactor: RecordCompactor): Promise<void> {
    for (const topic of this.#topicsByName.values()) {
      const config = effectiveTopicConfig(topic, this.#topicDefaults);
      if (!hasCleanupPolicy(config, 'compact')) continue;
      for (let index = 0; index < topic.partitionCount; index++) {
        const partition = this.#partitionOf(topic.topicId, index);
        if (partition !== undefined) await this.#compact(partition, config, now, compactor);
      }
    }
  }

  /** Compacts one partition's sealed head into a new object (see partition-compaction.ts). */
  async #compact(
    partition: IndexedPartitionLog,
    config: Record<string, string>,
    now: bigint,
    compactor: RecordCompactor,
  ): Promise<void> {
    const { topicId, index } = partition;
    const plan = await planCompaction({
      compactor,
      topicId,
      partition: index,
      entries: () => partition.entries(),
      isSealed: (entry) => this.#objects.has(entry.segmentId),
      readBatch: (entry) => {
        const cached = partition.cachedBatch(entry.baseOffset);
        return cached === undefined
          ? this.#readBatch(entry, { topicId, partition: index })
          : Promise.resolve(cached);
      },
      nowMs: now,
      minCompactionLagMs: BigInt(config['min.compaction.lag.ms'] ?? '0'),
      deleteRetentionMs: BigInt(config['delete.retention.ms'] ?? '86400000'),
      minCleanableDirtyRatio: Number(config['min.cleanable.dirty.ratio'] ?? '0.5'),
      cleanedThrough: partition.cleanedThrough,
    });
    const last = plan?.replaced.at(-1);
    if (plan === undefined || last === undefined) return;
    if (!plan.changed) {
      partition.cleanedThrough = last.lastOffset + 1n;
      return;
    }
    const segmentId = this.#nextCompactedId++;
    const { bytes, infos } = buildCompactedObject(segmentId, Number(now), plan.batches);
    const object: ObjectRecord = {
      name: objectNameOf(segmentId),
      segmentId,
      sizeBytes: bytes.length,
      ranges: rangesOf(infos, () => true),
    };
    await this.#store.put(object.name, bytes);
    const replacedIds = new Set(plan.replaced.map((entry) => entry.segmentId));
    const replacedObjects = [...replacedIds].flatMap((id) => this.#objects.get(id) ?? []);
    await this.#metadata.replacePartitionRanges({
      object,
      topicId,
      partition: index,
      replacedObjects: replacedObjects.map((replaced) => replaced.name),
    });
    for (const replaced of replacedObjects) {
      replaced.ranges = replaced.ranges.filter(
        (range) => range.topicId !== topicId || range.partition !== index,
      );
    }
    this.#objects.set(segmentId, object);
    partition.replaceHead(plan.replaced, infos.map(entryFromWal));
    partition.cleanedThrough = last.lastOffset + 1n;
  }

  /** Deletes objects no partition references: metadata first, then the bytes. */
  async #collectGarbage(): Promise<void> {
    for (const [segmentId, object] of this.#objects) {
      if (this.#isLive(object)) continue;
      await this.#metadata.deleteObject(object.name);
      this.#objects.delete(segmentId);
      await this.#store.delete(object.name);
    }
  }

  #startTimers(options: StorageOptions): void {
    const retentionMs = options.retentionCheckIntervalMs ?? 30_000;
    const retention = setInterval(
      () => void this.runRetention().catch(() => undefined),
      retentionMs,
    );
    const ageMs = options.walSegmentMaxAgeMs ?? defaultWalSegmentMaxAgeMs;
    const roll = setInterval(
      () => {
        this.#wal.rollIfDue();
        this.#uploader.kick();
      },
      Math.max(10, Math.min(ageMs, 1000)),
    );
    retention.unref();
    roll.unref();
    this.#timers.push(retention, roll);
  }
}

/** The index budget; its spill file lives in the data directory, unlinked at once. */
function indexMemoryOf(options: StorageOptions): IndexMemory {
  const chunkEntries = options.indexChunkEntries ?? defaultIndexChunkEntries;
  const slotBytes = chunkEntries * batchIndexEntryBytes;
  return new IndexMemory({
    maxBytes: options.indexMemoryMaxBytes ?? defaultIndexMemoryMaxBytes,
    chunkEntries,
    spill:
      options.dataDir === undefined || options.inMemory === true
        ? new MemorySpillStore()
        : new FileSpillStore(join(options.dataDir, 'index-spill'), slotBytes, { owned: true }),
  });
}

async function openComponents(options: StorageOptions): Promise<Components> {
  const walOptions = {
    segmentMaxBytes: options.walSegmentMaxBytes ?? 64 * 1024 * 1024,
    segmentMaxAgeMs: options.walSegmentMaxAgeMs ?? defaultWalSegmentMaxAgeMs,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.walLog === undefined ? {} : { log: options.walLog }),
    ...(options.onWalFailure === undefined ? {} : { onFailure: options.onWalFailure }),
    ...(options.observer?.walGroupCommitted === undefined
      ? {}
      : { onGroupCommitted: options.observer.walGroupCommitted.bind(options.observer) }),
  };
  if (options.inMemory === true) {
    return {
      wal: options.writeAheadLog ?? new MemoryWriteAheadLog(walOptions),
      store: options.objectStore ?? new MemoryObjectStore(),
      metadata: options.metadataStore ?? new MemoryMetadataStore(),
    };
  }
  const dataDir = options.dataDir;
  if (dataDir === undefined) {
    throw new StorageError('STORAGE_FAILURE', 'StorageOptions needs dataDir or inMemory');
  }
  const lock = await DataDirLock.acquire(dataDir);
  try {
    return {
      wal: options.writeAheadLog ?? new FileWriteAheadLog(join(dataDir, 'wal'), walOptions),
      store: options.objectStore ?? (await DirectoryObjectStore.open(join(dataDir, 'objects'))),
      metadata: options.metadataStore ?? SqliteMetadataStore.open(join(dataDir, 'metadata.sqlite')),
      lock,
    };
  } catch (error: unknown) {
    await lock.release();
    throw error;
  }
}

async function closeQuietly(components: Components): Promise<void> {
  await components.wal.close().catch(() => undefined);
  await components.wal.files.close().catch(() => undefined);
  await components.store.close().catch(() => undefined);
  await components.metadata.close().catch(() => undefined);
  await components.lock?.release().catch(() => undefined);
}

/** The batch of `entry` inside `data` (read from `start` of its segment), its frame checked. */
export function batchOfFrame(data: Buffer, start: number, entry: BatchEntry): Buffer {
  if (!batchFrameIntact(data, start, entry)) throw batchChecksumError(entry);
  return batchIn(data, start, entry);
}

/** Whether the entry frame holding `entry`'s batch is intact in `data` (read from `start`). */
function batchFrameIntact(data: Buffer, start: number, entry: BatchEntry): boolean {
  return walEntryFrameIntact(data, frameStartOf(entry) - start, batchEndOf(entry) - start);
}

/** `entry`'s batch bytes inside `data` (read from byte `start` of its segment), as a view. */
function batchIn(data: Buffer, start: number, entry: BatchEntry): Buffer {
  return data.subarray(entry.position - start, batchEndOf(entry) - start);
}

function batchChecksumError(entry: BatchEntry): StorageError {
  return new StorageError(
    'CORRUPT_DATA',
    `batch at offset ${entry.baseOffset} in segment ${entry.segmentId} fails its checksum`,
  );
}

function rangesByPartition(ranges: readonly ObjectRange[]): Map<string, ObjectRange[]> {
  const byPartition = new Map<string, ObjectRange[]>();
  for (const range of ranges) {
    const key = partitionKey(range.topicId, range.partition);
    const list = byPartition.get(key);
    if (list === undefined) byPartition.set(key, [range]);
    else list.push(range);
  }
  return byPartition;
}

function rangeHolds(range: ObjectRange, entry: WalEntryInfo): boolean {
  return (
    range.topicId === entry.topicId &&
    range.partition === entry.partition &&
    entry.baseOffset >= range.baseOffset &&
    entry.baseOffset <= range.lastOffset
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

export type { WalSegmentInfo };
