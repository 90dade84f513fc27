/**
 * ClusterCompactor: log compaction (cleanup.policy=compact) in cluster mode, ADR 0013. Only a
 * partition's leader compacts it, under its lease: it picks a committed range, rewrites it with
 * the embedded mode's policy (partition-compaction.ts: keys latest-wins, null keys kept,
 * tombstones kept for delete.retention.ms, nothing younger than min.compaction.lag.ms, a pass
 * only once min.cleanable.dirty.ratio of the range is dirty), uploads the result as a new object
 * (the WAL objects' naming scheme, its own object id) and swaps the range's index rows for the
 * new ones in ONE catalog transaction that checks the lease epoch (commitCompaction). Offsets
 * never change: a rewritten batch keeps its base and last offset, a batch with nothing kept
 * leaves a gap. The old objects become unreferenced and the ObjectCollector deletes them after
 * its grace delay, so a reader still holding an old location reads on. Every broker (this one
 * too) hears the compaction notice and re-reads the range's rows.
 *
 * Bounded work: a pass reads at most `maxBytesPerPass` bytes of batches over all partitions. A
 * partition is worked on in windows of that size: the keys of the whole window decide what is
 * superseded, and a cursor moves the next window on when this one is still large after
 * compaction (or had nothing to remove), and back to the log start when the end is reached.
 * Removing a record needs a later one with its key in the same window, so nothing is lost by
 * not seeing the rest; tombstones are dropped only by a window starting at the log start (else
 * an older value before the window could come back).
 *
 * Kept whole and out of the key scan (their records never supersede others): batches of a
 * transaction that is still open or was aborted (from the index's transaction fields and
 * markers: an aborted value must not hide the committed one before it), each producer's last
 * batch (a new leader rebuilds idempotent producer state from the index), and the partition's
 * last committed batch (its end must stay where the lease says). Control batches are kept as the
 * embedded mode keeps them.
 */
import type { ObjectStore } from '../object-store.ts';
import { buildCompactedObject, planCompaction } from '../partition-compaction.ts';
import type { BatchEntry, IndexedPartitionLog } from '../partition-log.ts';
import { asStorageError } from '../storage-error.ts';
import type { RecordCompactor, TopicId } from '../types.ts';
import { partitionKey } from '../types.ts';
import type { ClusterCatalog, CommittedBatch } from './cluster-catalog.ts';
import type { LeaseKeeperLog } from './lease-keeper.ts';
import { committedBatchOf } from './window-writer.ts';

export interface ClusterCompactorSettings {
  /** `cluster.compaction.interval.ms`: time between two passes. */
  intervalMs: number;
  /** `cluster.compaction.max.bytes.per.pass`: batch bytes one pass reads at most. */
  maxBytesPerPass: number;
}

export const clusterCompactorDefaults: ClusterCompactorSettings = {
  intervalMs: 30_000,
  // Below the object store's multipart threshold (16 MiB): the output is one plain PUT.
  maxBytesPerPass: 16 * 1024 * 1024,
};

/** A partition this broker leads whose topic has cleanup.policy=compact. */
export interface CompactablePartition {
  topicId: TopicId;
  index: number;
  log: IndexedPartitionLog;
  leaderEpoch: number;
  /** The topic's effective configs (min.compaction.lag.ms, delete.retention.ms, ...). */
  config: Readonly<Record<string, string>>;
}

export interface ClusterCompactorOptions {
  catalog: ClusterCatalog;
  store: ObjectStore;
  compactor: RecordCompactor;
  clusterId: string;
  nodeId: number;
  incarnation: string;
  settings: ClusterCompactorSettings;
  now: () => number;
  /** The partitions to compact now, in a stable order. */
  partitions: () => CompactablePartition[];
  /** A compaction committed: the leader's log takes the new rows (the notice follows too). */
  committed: (topicId: TopicId, index: number, range: ReplacedRange) => void;
  log?: LeaseKeeperLog;
}

export interface ReplacedRange {
  fromOffset: bigint;
  toOffset: bigint;
  objectId: number | undefined;
  objectName: string | undefined;
  batches: CommittedBatch[];
}

/** Totals since start (tests, metrics). */
export interface CompactionStats {
  passes: number;
  /** Ranges committed, and what they held before and after. */
  compactions: number;
  bytesBefore: number;
  bytesAfter: number;
  recordsRemoved: number;
  /** Commits refused because the lease moved on. */
  fenced: number;
}

/** What one partition's window will be: entries, and whether it starts at the log start. */
interface Window {
  entries: BatchEntry[];
  atLogStart: boolean;
  /** More committed batches follow the window (it was cut by the byte budget). */
  cut: boolean;
  bytes: number;
}

export class ClusterCompactor {
  readonly #options: ClusterCompactorOptions;
  readonly #stats: CompactionStats = {
    passes: 0,
    compactions: 0,
    bytesBefore: 0,
    bytesAfter: 0,
    recordsRemoved: 0,
    fenced: 0,
  };
  /** Where each partition's next window starts, for the epoch it was set under. */
  readonly #cursors = new Map<string, { epoch: number; offset: bigint }>();
  /** Partitions are taken in turn from here, so a large one does not starve the others. */
  #nextPartition = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: ClusterCompactorOptions) {
    this.#options = options;
  }

  get stats(): Readonly<CompactionStats> {
    return this.#stats;
  }

  start(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#timer = setInterval(
      () => void this.runPass().catch(() => undefined),
      this.#options.settings.intervalMs,
    );
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  /** One pass over the partitions led here, unless one is running. */
  runPass(): Promise<void> {
    if (this.#stopped || this.#running !== undefined) return Promise.resolve();
    this.#running = this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #pass(): Promise<void> {
    this.#stats.passes++;
    const partitions = this.#options.partitions();
    let budget = this.#options.settings.maxBytesPerPass;
    const first = this.#nextPartition % Math.max(1, partitions.length);
    for (let i = 0; i < partitions.length && budget > 0 && !this.#stopped; i++) {
      const partition = partitions[(first + i) % partitions.length];
      if (partition === undefined) continue;
      this.#nextPartition = first + i + 1;
      try {
        budget -= await this.#compact(partition, budget);
      } catch (error: unknown) {
        const failure = asStorageError(error, 'compacting');
        this.#options.log?.warn('cluster: compaction failed', {
          partition: `${partition.topicId}/${partition.index}`,
          error: failure.message,
        });
      }
    }
  }

  /** Compacts one window of `partition`; returns the bytes it read. */
  async #compact(partition: CompactablePartition, budget: number): Promise<number> {
    const { log, leaderEpoch, config } = partition;
    const key = partitionKey(partition.topicId, partition.index);
    const committed: BatchEntry[] = [];
    for (const entry of log.entries()) {
      if (entry.lastOffset < log.highWatermark) committed.push(entry);
    }
    const window = this.#window(key, leaderEpoch, committed, budget);
    if (window === undefined) return 0;
    const frozen = frozenBatches(committed);
    const now = BigInt(this.#options.now());
    const input = {
      compactor: this.#options.compactor,
      topicId: partition.topicId,
      partition: partition.index,
      // Cluster mode swaps index rows, not whole objects: no object boundary to keep, so each
      // entry counts as its own object for planCompaction's run.
      entries: () => window.entries.map((entry, i) => ({ ...entry, segmentId: i })),
      isSealed: () => true,
      nowMs: now,
      minCompactionLagMs: BigInt(config['min.compaction.lag.ms'] ?? '0'),
      // A window after the log start must keep tombstones: older values may precede it.
      deleteRetentionMs: window.atLogStart
        ? BigInt(config['delete.retention.ms'] ?? '86400000')
        : now + 1n,
      minCleanableDirtyRatio: Number(config['min.cleanable.dirty.ratio'] ?? '0.5'),
      cleanedThrough: window.atLogStart ? log.cleanedThrough : 0n,
    };
    const last = window.entries.at(-1) as BatchEntry;
    // Nothing is read when the dirty share is too small: planCompaction decides that first.
    let bytes: Map<bigint, Buffer> | undefined;
    const plan = await planCompaction({
      ...input,
      compactor: hideFrozen(this.#options.compactor, frozen),
      readBatch: async (entry) => {
        bytes ??= await readWindow(log, window);
        const batch = bytes.get(entry.baseOffset);
        if (batch === undefined) throw new Error(`batch ${entry.baseOffset} was not read`);
        return batch;
      },
    });
    const replaced = plan?.replaced ?? [];
    const through = replaced.at(-1);
    if (plan === undefined || through === undefined) {
      // Clean enough here: look further on if there is more, else from the start next time.
      this.#moveCursor(key, leaderEpoch, window.cut ? last.lastOffset + 1n : undefined);
      return bytes === undefined ? 0 : window.bytes;
    }
    const before = sumBytes(replaced);
    let after = before;
    if (plan.changed) {
      const read = bytes ?? new Map<bigint, Buffer>();
      const recordsBefore = replaced.reduce(
        (sum, entry) => sum + recordsOf(read.get(entry.baseOffset)),
        0,
      );
      after = await this.#commit(partition, plan, window.entries, recordsBefore);
      if (after < 0) return window.bytes;
    }
    if (window.atLogStart && through.lastOffset + 1n > log.cleanedThrough) {
      log.cleanedThrough = through.lastOffset + 1n;
    }
    // Still large after compaction, or nothing to remove: the next window starts past this one.
    const large = after * 2 > this.#options.settings.maxBytesPerPass || !plan.changed;
    this.#moveCursor(key, leaderEpoch, large && window.cut ? through.lastOffset + 1n : undefined);
    return window.bytes;
  }

  /**
   * Uploads and commits a planned rewrite; returns its bytes, or -1 when the catalog refused
   * it (fenced: the lease moved on; changed: the rows moved under it, retried next pass).
   */
  async #commit(
    partition: CompactablePartition,
    plan: { replaced: readonly BatchEntry[]; batches: Parameters<typeof buildCompactedObject>[2] },
    original: readonly BatchEntry[],
    recordsBefore: number,
  ): Promise<number> {
    const { catalog, store, nodeId } = this.#options;
    const { replaced, batches } = plan;
    const first = replaced[0] as BatchEntry;
    const last = replaced.at(-1) as BatchEntry;
    const byBase = new Map(original.map((entry) => [entry.baseOffset, entry]));
    let object: { objectId: number; name: string; sizeBytes: number; nodeId: number } | undefined;
    let rows: CommittedBatch[] = [];
    if (batches.length > 0) {
      const objectId = await catalog.allocateObjectIds(1);
      const built = buildCompactedObject(objectId, this.#options.now(), batches);
      object = {
        objectId,
        name: this.#objectName(objectId),
        sizeBytes: built.bytes.length,
        nodeId,
      };
      await store.put(object.name, built.bytes);
      rows = built.infos.map(committedBatchOf);
    }
    const outcome = await catalog.commitCompaction({
      topicId: partition.topicId,
      partition: partition.index,
      leaderEpoch: partition.leaderEpoch,
      fromOffset: first.baseOffset,
      toOffset: last.lastOffset,
      replaced: replaced.map((entry) => ({
        baseOffset: entry.baseOffset,
        objectId: byBase.get(entry.baseOffset)?.segmentId ?? -1,
      })),
      object,
      batches: rows,
    });
    const where = `${partition.topicId}/${partition.index}`;
    if (outcome !== 'committed') {
      // The uploaded object, if any, is an orphan now: the collector adopts and deletes it.
      if (outcome === 'fenced') this.#stats.fenced++;
      this.#options.log?.info('cluster: compaction refused', { partition: where, outcome });
      return -1;
    }
    const before = sumBytes(replaced);
    const after = rows.reduce((sum, row) => sum + row.sizeBytes, 0);
    const kept = batches.reduce((sum, { batch }) => sum + recordsOf(batch), 0);
    const removed = { kept, records: Math.max(0, recordsBefore - kept) };
    this.#stats.compactions++;
    this.#stats.bytesBefore += before;
    this.#stats.bytesAfter += after;
    this.#stats.recordsRemoved += removed.records;
    this.#options.committed(partition.topicId, partition.index, {
      fromOffset: first.baseOffset,
      toOffset: last.lastOffset,
      objectId: object?.objectId,
      objectName: object?.name,
      batches: rows,
    });
    this.#options.log?.info('cluster: compacted', {
      partition: where,
      offsets: `${first.baseOffset}-${last.lastOffset}`,
      bytesBefore: before,
      bytesAfter: after,
      batchesBefore: replaced.length,
      batchesAfter: rows.length,
      recordsKept: removed.kept,
      recordsRemoved: removed.records,
    });
    return after;
  }

  /** The next window of `committed` for `key`: from its cursor, at most `budget` bytes. */
  #window(
    key: string,
    epoch: number,
    committed: readonly BatchEntry[],
    budget: number,
  ): Window | undefined {
    // The last committed batch stays out: the log's end must stay where the lease says.
    const candidates = committed.slice(0, -1);
    if (candidates.length < 2) return undefined;
    const cursor = this.#cursors.get(key);
    let start = 0;
    if (cursor !== undefined && cursor.epoch === epoch) {
      start = candidates.findIndex((entry) => entry.baseOffset >= cursor.offset);
      if (start < 0 || start >= candidates.length - 1) start = 0;
    }
    const entries: BatchEntry[] = [];
    let bytes = 0;
    for (let i = start; i < candidates.length; i++) {
      const entry = candidates[i] as BatchEntry;
      if (entries.length > 0 && bytes + entry.sizeBytes > budget) break;
      entries.push(entry);
      bytes += entry.sizeBytes;
    }
    if (entries.length < 2 && start > 0) {
      this.#cursors.delete(key);
      return undefined;
    }
    const cut = start + entries.length < candidates.length;
    return { entries, atLogStart: start === 0, cut, bytes };
  }

  #moveCursor(key: string, epoch: number, offset: bigint | undefined): void {
    if (offset === undefined) this.#cursors.delete(key);
    else this.#cursors.set(key, { epoch, offset });
  }

  /** `<cluster>/<node>/<incarnation>/<object id>`, as the WindowWriter names its objects. */
  #objectName(objectId: number): string {
    const { clusterId, nodeId, incarnation } = this.#options;
    return `${clusterId}/${nodeId}/${incarnation}/${String(objectId).padStart(12, '0')}`;
  }
}

/**
 * Base offsets of the batches kept whole and out of the key scan: open or aborted transactions'
 * batches, each producer's last batch and the log's last batch (see the header).
 */
export function frozenBatches(committed: readonly BatchEntry[]): Set<bigint> {
  const frozen = new Set<bigint>();
  const lastOfProducer = new Map<bigint, bigint>();
  const openTxn = new Map<bigint, bigint[]>();
  for (const entry of committed) {
    if (entry.producerId >= 0n) lastOfProducer.set(entry.producerId, entry.baseOffset);
    const txn = entry.txn;
    if (txn === undefined || !txn.transactional) continue;
    if (!txn.control) {
      const pending = openTxn.get(entry.producerId) ?? [];
      pending.push(entry.baseOffset);
      openTxn.set(entry.producerId, pending);
      continue;
    }
    // A marker ends the producer's transaction: COMMIT (1) releases its batches, ABORT freezes.
    const pending = openTxn.get(entry.producerId) ?? [];
    if (txn.controlType !== 1) for (const offset of pending) frozen.add(offset);
    openTxn.delete(entry.producerId);
  }
  for (const pending of openTxn.values()) for (const offset of pending) frozen.add(offset);
  for (const offset of lastOfProducer.values()) frozen.add(offset);
  const last = committed.at(-1);
  if (last !== undefined) frozen.add(last.baseOffset);
  return frozen;
}

/** The compactor, with frozen batches showing no keys (planCompaction then keeps them whole). */
function hideFrozen(compactor: RecordCompactor, frozen: ReadonlySet<bigint>): RecordCompactor {
  return {
    keysOf: (batch) => (frozen.has(batch.readBigInt64BE(0)) ? [] : compactor.keysOf(batch)),
    retain: (batch, keep) => compactor.retain(batch, keep),
  };
}

/** The window's batches by base offset, read in runs (one ranged GET per object run). */
async function readWindow(log: IndexedPartitionLog, window: Window): Promise<Map<bigint, Buffer>> {
  const first = window.entries[0] as BatchEntry;
  const last = window.entries.at(-1) as BatchEntry;
  // DeleteRecords may cut inside the first batch: read from the log start then.
  const from = first.baseOffset > log.logStartOffset ? first.baseOffset : log.logStartOffset;
  const batches = await log.read(from, window.bytes, last.lastOffset + 1n);
  const byBase = new Map<bigint, Buffer>();
  for (const batch of batches) byBase.set(batch.readBigInt64BE(0), batch);
  return byBase;
}

function sumBytes(entries: readonly BatchEntry[]): number {
  return entries.reduce((sum, entry) => sum + entry.sizeBytes, 0);
}

/** A batch's record count, from its header (byte 57 of a magic 2 batch). */
function recordsOf(batch: Buffer | undefined): number {
  return batch !== undefined && batch.length >= 61 ? batch.readInt32BE(57) : 0;
}
