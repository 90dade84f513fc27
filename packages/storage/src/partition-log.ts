/**
 * PartitionLog: one partition's offsets over the WAL and objects.
 *
 * Invariants: logStartOffset <= highWatermark <= logEndOffset. Offsets are assigned in call
 * order at `append` (so LEO runs ahead of durability); the high watermark moves only when the WAL
 * sync covering a batch completes, and the WAL completes appends in order, so the durable
 * batches always form a prefix. Reads never see past the high watermark. The batch index is a
 * BatchIndex (57 bytes a batch in columnar chunks, bounded by IndexMemory: docs/adr/0017);
 * batch bytes come from the tail cache (by base offset) or positional reads.
 */
import { type BatchEntry, BatchIndex } from './batch-index.ts';
import { IndexMemory } from './index-memory.ts';
import { type WalEntryInfo, batchEndOf, frameStartOf, viewOf } from './segment-format.ts';
import { StorageError } from './storage-error.ts';
import type { TailCache, TailIndex } from './tail-cache.ts';
import type { BatchMeta, StoredBatchLocation, TopicId } from './types.ts';
import type { WalAppend, WriteAheadLog } from './write-ahead-log.ts';

export interface PartitionLog {
  readonly topicId: TopicId;
  readonly index: number;
  readonly logStartOffset: bigint;
  /** One past the last durable offset; reads never go beyond it. */
  readonly highWatermark: bigint;
  /** One past the last assigned offset (>= highWatermark). */
  readonly logEndOffset: bigint;
  /**
   * Assigns the next offsets, rewrites the batch's base offset in place, appends it to the WAL;
   * resolves once the WAL sync covering it has completed, with the base offset. Appends to one
   * partition get offsets in call order. The caller must not modify `batch` afterwards.
   */
  append(batch: Buffer, meta: BatchMeta): Promise<{ baseOffset: bigint }>;
  /**
   * Cluster mode, zone routing: appends a batch another broker already wrote to object storage
   * (`location`), given its header (the first 61 bytes; the base offset is assigned here, as by
   * `append`). Rejects with NOT_LEADER where the partition is not led, STORAGE_FAILURE where
   * the storage has no such path (embedded).
   */
  appendStored(
    header: Buffer,
    meta: BatchMeta,
    location: StoredBatchLocation,
  ): Promise<{ baseOffset: bigint }>;
  /**
   * Whole batches holding offsets >= fetchOffset and < min(highWatermark, maxOffset), in order,
   * stopping before maxBytes would be exceeded but always at least one batch if any exists
   * (KIP-74). Offsets below logStartOffset or above highWatermark: OFFSET_OUT_OF_RANGE.
   * Returned buffers are shared with the cache: treat them as read-only.
   */
  read(fetchOffset: bigint, maxBytes: number, maxOffset?: bigint): Promise<Buffer[]>;
  /** The first batch whose maxTimestamp >= timestamp, or undefined. */
  batchForTimestamp(timestamp: bigint): Promise<Buffer | undefined>;
  /**
   * The batch with the largest maxTimestamp (first one on ties): `offset` is its last offset
   * (Kafka's shallow offset of the max timestamp), `baseOffset` lets the broker read it.
   */
  maxTimestampBatch(): { offset: bigint; timestamp: bigint; baseOffset: bigint } | undefined;
  /** DeleteRecords: advances logStartOffset to `offset` (<= highWatermark), durably. */
  deleteRecordsBefore(offset: bigint): Promise<bigint>;
  /**
   * Durable batches from the one holding `fromOffset` on (from the log start by default),
   * oldest first, one BatchEntry made per step and nothing kept: walking a long history needs
   * no memory in proportion to it. Each carries the producer numbers and transaction flags
   * stored with it (BatchMeta.producer, BatchMeta.txn), so the broker can rebuild
   * idempotent-producer and transaction state after a restart without reading batch bytes.
   * The walk may be paused across awaits: it follows the log by offset when retention or
   * compaction changes it meanwhile, and ends at the last batch present when it gets there.
   */
  entries(fromOffset?: bigint): Generator<BatchEntry, void, undefined>;
  /** Called after every high watermark advance. Returns an unsubscribe function. */
  onHighWatermark(listener: () => void): () => void;
  /**
   * Calls the high-watermark listeners although no append moved it: something readers see
   * changed beside the log (a transaction marker's index update moved the last stable offset).
   */
  wakeReaders(): void;
}

export type { BatchEntry } from './batch-index.ts';

export interface PartitionLogContext {
  /** Where appends go: the WAL (embedded) or this leader term's window writer (cluster). */
  wal: Pick<WriteAheadLog, 'append'>;
  /** Cluster mode: commits a batch stored by another broker (PartitionLog.appendStored). */
  appendPointer?: (entry: WalAppend, location: StoredBatchLocation) => Promise<WalEntryInfo>;
  tailCache: TailCache;
  /** The broker's index budget (one per storage); without it the index is never spilled. */
  indexMemory?: IndexMemory;
  /**
   * Reads batches that are not cached, stored back to back in one segment or object (each
   * entry's frame starts where the previous batch ends), with one read; one buffer per batch.
   * `log` is the partition reading, so one context can serve every partition of a storage.
   */
  readBatches(run: readonly BatchEntry[], log: PartitionLog): Promise<Buffer[]>;
  persistLogStart(topicId: TopicId, index: number, offset: bigint): Promise<void>;
  /** Throws CLOSED after LogStorage.close. */
  checkOpen(): void;
}

/** Upper bound on one read of batches stored back to back (PartitionLogContext.readBatches). */
export const readRunMaxBytes = 8 * 1024 * 1024;

export function entryFromWal(info: WalEntryInfo): BatchEntry {
  return {
    baseOffset: info.baseOffset,
    lastOffset: info.baseOffset + BigInt(info.lastOffsetDelta),
    maxTimestamp: info.maxTimestamp,
    producerId: info.producerId,
    producerEpoch: info.producerEpoch,
    baseSequence: info.baseSequence,
    txn: info.txn,
    entryVersion: info.entryVersion,
    segmentId: info.segmentId,
    position: info.position,
    sizeBytes: info.sizeBytes,
  };
}

/** Index budget of logs built without one: nothing is spilled. */
const unboundedMemory = IndexMemory.unbounded();

export class IndexedPartitionLog implements PartitionLog {
  readonly topicId: TopicId;
  readonly index: number;
  #logStartOffset: bigint;
  #highWatermark: bigint;
  #logEndOffset: bigint;
  #batches: BatchIndex;
  /**
   * Tail-cached batches by base offset (the TailCache evicts from this index); made at the
   * first append, so the many partitions that only restored or never took data carry none.
   */
  #cache: TailIndex | undefined;
  /** Ordinal of the batch with the largest max timestamp (-1: none; undefined: recompute). */
  #maxTimestampOrdinal: number | undefined = -1;
  #maxTimestamp = 0n;
  #deleted = false;
  /** Compaction bookkeeping: offsets below this were compacted (in memory; restarts redo it). */
  cleanedThrough: bigint;
  /** Waiting fetches; made at the first subscription. */
  #listeners: Set<() => void> | undefined;
  readonly #context: PartitionLogContext;
  readonly #memory: IndexMemory;

  constructor(
    topicId: TopicId,
    index: number,
    logStartOffset: bigint,
    context: PartitionLogContext,
  ) {
    this.topicId = topicId;
    this.index = index;
    this.#logStartOffset = logStartOffset;
    this.#highWatermark = logStartOffset;
    this.#logEndOffset = logStartOffset;
    this.cleanedThrough = logStartOffset;
    this.#context = context;
    this.#memory = context.indexMemory ?? unboundedMemory;
    this.#batches = new BatchIndex(this.#memory);
  }

  get logStartOffset(): bigint {
    return this.#logStartOffset;
  }

  get highWatermark(): bigint {
    return this.#highWatermark;
  }

  get logEndOffset(): bigint {
    return this.#logEndOffset;
  }

  *entries(fromOffset = -1n): Generator<BatchEntry, void, undefined> {
    let next = fromOffset;
    let index = this.#batches;
    let ordinal = index.findLastOffsetAtLeast(next);
    for (;;) {
      // Compaction swaps in a new index and retention drops the oldest: find the place again.
      if (index !== this.#batches || ordinal < index.firstOrdinal) {
        index = this.#batches;
        ordinal = index.findLastOffsetAtLeast(next);
      }
      if (ordinal >= index.endOrdinal) return;
      const entry = index.entryAt(ordinal++);
      next = entry.lastOffset + 1n;
      yield entry;
    }
  }

  /** Live batches whose base offset lies in [from, to], oldest first (a copy). */
  batchesBetween(from: bigint, to: bigint): BatchEntry[] {
    const entries: BatchEntry[] = [];
    const batches = this.#batches;
    for (let o = batches.findLastOffsetAtLeast(from); o < batches.endOrdinal; o++) {
      const entry = batches.entryAt(o);
      if (entry.baseOffset > to) break;
      if (entry.baseOffset >= from) entries.push(entry);
    }
    return entries;
  }

  /** The tail-cached bytes of the batch at `baseOffset`, if it is cached. */
  cachedBatch(baseOffset: bigint): Buffer | undefined {
    return this.#cache?.get(baseOffset);
  }

  /** Recovery: adds a durable batch found in an object or WAL segment, in offset order. */
  restore(info: WalEntryInfo): void {
    const lastOffset = info.baseOffset + BigInt(info.lastOffsetDelta);
    if (lastOffset < this.#logStartOffset) return;
    // The first live batch may start below the log start: DeleteRecords can cut inside a batch,
    // and the batch stays whole. Every later batch must start past the one before it.
    if (this.#batches.length > 0 && info.baseOffset < this.#logEndOffset) {
      throw this.#overlap(info.baseOffset, this.#logEndOffset);
    }
    this.#push(info);
    this.#logEndOffset = lastOffset + 1n;
    this.#highWatermark = this.#logEndOffset;
  }

  /** Recovery is done with this partition: its index lets go of what a read makes again. */
  restored(): void {
    this.#batches.dropViews();
  }

  /**
   * Recovery: adds the batches one object or WAL segment holds for this partition (`run`, in
   * offset order). Sources are read oldest first, so a run normally follows what is held; one
   * that belongs before it (an object compacted out of order) is merged in with one rebuild of
   * the index. Overlapping batches are damage: CORRUPT_DATA.
   */
  restoreRun(run: readonly WalEntryInfo[]): void {
    const first = run[0];
    if (first === undefined) return;
    if (this.#batches.length === 0 || first.baseOffset >= this.#logEndOffset) {
      for (const info of run) this.restore(info);
      return;
    }
    const old = this.#batches;
    const merged = new BatchIndex(this.#memory);
    this.#batches = merged;
    this.#maxTimestampOrdinal = -1;
    this.#logEndOffset = this.#logStartOffset;
    let next = 0;
    for (let o = old.firstOrdinal; o < old.endOrdinal; o++) {
      const held = old.entryAt(o);
      while (next < run.length && (run[next] as WalEntryInfo).baseOffset < held.baseOffset) {
        this.restore(run[next++] as WalEntryInfo);
      }
      if (merged.length > 0 && held.baseOffset < this.#logEndOffset) {
        throw this.#overlap(held.baseOffset, this.#logEndOffset);
      }
      this.#push(held);
      this.#logEndOffset = held.lastOffset + 1n;
    }
    old.release();
    while (next < run.length) this.restore(run[next++] as WalEntryInfo);
    this.#highWatermark = this.#logEndOffset;
  }

  #overlap(baseOffset: bigint, before: bigint): StorageError {
    return new StorageError(
      'CORRUPT_DATA',
      `partition ${this.topicId}/${this.index}: batch at ${baseOffset} overlaps ` +
        `offsets before ${before}`,
    );
  }

  /**
   * Cluster mode: batches another broker committed, in offset order (ones already held are
   * skipped); the high watermark moves past them and waiting fetches wake.
   */
  restoreCommitted(infos: readonly WalEntryInfo[]): void {
    let added = false;
    for (const info of infos) {
      if (this.#batches.length > 0 && info.baseOffset < this.#logEndOffset) continue;
      this.restore(info);
      added = true;
    }
    if (added) this.#notify();
  }

  /**
   * Cluster mode: takes over the durable batches of `previous` (the same partition's log of an
   * earlier leader term), so a new term starts from exactly what is committed: its log end is
   * the previous high watermark, and offsets appended but never committed are forgotten. The
   * previous log's index is released (its spilled chunks can no longer be read through it).
   */
  adopt(previous: IndexedPartitionLog): void {
    const from = previous.#batches;
    for (let o = from.firstOrdinal; o < from.endOrdinal; o++) {
      const entry = from.entryAt(o);
      if (entry.baseOffset >= previous.highWatermark) break;
      this.#push(entry);
      this.#logEndOffset = entry.lastOffset + 1n;
    }
    from.release();
    // Shared: the tail cache evicts through the map it was given, whichever log holds it.
    this.#cache = previous.#cache;
    if (previous.logStartOffset > this.#logStartOffset) {
      this.#logStartOffset = previous.logStartOffset;
    }
    if (this.#logEndOffset < this.#logStartOffset) this.#logEndOffset = this.#logStartOffset;
    this.#highWatermark = this.#logEndOffset;
    this.cleanedThrough = previous.cleanedThrough;
  }

  async append(batch: Buffer, meta: BatchMeta): Promise<{ baseOffset: bigint }> {
    this.#context.checkOpen();
    if (this.#deleted) throw new StorageError('UNKNOWN_TOPIC', 'the topic was deleted');
    if (batch.length < 8 || meta.lastOffsetDelta < 0) {
      throw new StorageError('STORAGE_FAILURE', 'malformed batch passed to append');
    }
    const baseOffset = this.#logEndOffset;
    viewOf(batch).setBigInt64(0, baseOffset);
    this.#logEndOffset = baseOffset + BigInt(meta.lastOffsetDelta) + 1n;
    const info = await this.#context.wal.append({
      topicId: this.topicId,
      partition: this.index,
      baseOffset,
      meta,
      batch,
    });
    this.#push(info);
    if (!this.#deleted) this.#context.tailCache.add(this.#tailIndex(), baseOffset, batch);
    const end = baseOffset + BigInt(info.lastOffsetDelta) + 1n;
    if (end > this.#highWatermark) this.#highWatermark = end;
    this.#notify();
    return { baseOffset };
  }

  #tailIndex(): TailIndex {
    this.#cache ??= this.#context.tailCache.newIndex();
    return this.#cache;
  }

  async appendStored(
    header: Buffer,
    meta: BatchMeta,
    location: StoredBatchLocation,
  ): Promise<{ baseOffset: bigint }> {
    this.#context.checkOpen();
    if (this.#deleted) throw new StorageError('UNKNOWN_TOPIC', 'the topic was deleted');
    const appendPointer = this.#context.appendPointer;
    if (appendPointer === undefined) {
      throw new StorageError('STORAGE_FAILURE', 'this storage keeps no batches of other brokers');
    }
    if (header.length < 8 || meta.lastOffsetDelta < 0) {
      throw new StorageError('STORAGE_FAILURE', 'malformed batch header passed to appendStored');
    }
    const baseOffset = this.#logEndOffset;
    this.#logEndOffset = baseOffset + BigInt(meta.lastOffsetDelta) + 1n;
    const info = await appendPointer(
      { topicId: this.topicId, partition: this.index, baseOffset, meta, batch: header },
      location,
    );
    this.#push(info);
    const end = info.baseOffset + BigInt(info.lastOffsetDelta) + 1n;
    if (end > this.#highWatermark) this.#highWatermark = end;
    this.#notify();
    return { baseOffset };
  }

  async read(fetchOffset: bigint, maxBytes: number, maxOffset?: bigint): Promise<Buffer[]> {
    try {
      return await this.#read(fetchOffset, maxBytes, maxOffset);
    } catch (error: unknown) {
      // Compaction may have swapped the batches (and deleted their old object) while the bytes
      // were being read: the index is current again by now, so one retry sees the new batches.
      if (!(error instanceof StorageError) || error.code !== 'OFFSET_OUT_OF_RANGE') throw error;
      return this.#read(fetchOffset, maxBytes, maxOffset);
    }
  }

  async #read(fetchOffset: bigint, maxBytes: number, maxOffset?: bigint): Promise<Buffer[]> {
    this.#context.checkOpen();
    if (fetchOffset < this.#logStartOffset || fetchOffset > this.#highWatermark) {
      throw new StorageError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${fetchOffset} is outside [${this.#logStartOffset}, ${this.#highWatermark}]`,
      );
    }
    const limit =
      maxOffset !== undefined && maxOffset < this.#highWatermark ? maxOffset : this.#highWatermark;
    const chosen: Chosen[] = [];
    let bytes = 0;
    const batches = this.#batches;
    for (let o = batches.findLastOffsetAtLeast(fetchOffset); o < batches.endOrdinal; o++) {
      if (batches.baseOffsetAt(o) >= limit) break;
      const size = batches.sizeAt(o);
      if (chosen.length > 0 && bytes + size > maxBytes) break;
      const entry = batches.entryAt(o);
      chosen.push({ entry, cached: this.#cache?.get(entry.baseOffset) });
      bytes += size;
    }
    const cached = cachedBytesOf(chosen);
    if (cached !== undefined) return cached;
    const parts = await Promise.all(runsOf(chosen).map((run) => this.#bytesOfRun(run)));
    return parts.flat();
  }

  async batchForTimestamp(timestamp: bigint): Promise<Buffer | undefined> {
    this.#context.checkOpen();
    const ordinal = this.#batches.findTimestampAtLeast(timestamp);
    if (ordinal >= this.#batches.endOrdinal) return undefined;
    const entry = this.#batches.entryAt(ordinal);
    const cached = this.#cache?.get(entry.baseOffset);
    if (cached !== undefined) return cached;
    return this.#context.readBatches([entry], this).then((batches) => batches[0] as Buffer);
  }

  maxTimestampBatch(): { offset: bigint; timestamp: bigint; baseOffset: bigint } | undefined {
    let ordinal = this.#maxTimestampOrdinal;
    if (ordinal === undefined) {
      ordinal = this.#batches.maxTimestampOrdinal();
      this.#maxTimestampOrdinal = ordinal;
      if (ordinal >= 0) this.#maxTimestamp = this.#batches.maxTimestampAt(ordinal);
    }
    if (ordinal < 0) return undefined;
    const entry = this.#batches.entryAt(ordinal);
    return {
      offset: entry.lastOffset,
      timestamp: entry.maxTimestamp,
      baseOffset: entry.baseOffset,
    };
  }

  async deleteRecordsBefore(offset: bigint): Promise<bigint> {
    this.#context.checkOpen();
    if (offset < 0n || offset > this.#highWatermark) {
      throw new StorageError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${offset} is above the high watermark ${this.#highWatermark}`,
      );
    }
    if (offset > this.#logStartOffset) {
      await this.#context.persistLogStart(this.topicId, this.index, offset);
      this.advanceLogStart(offset);
    }
    return this.#logStartOffset;
  }

  onHighWatermark(listener: () => void): () => void {
    const wrapped = (): void => listener();
    const listeners = (this.#listeners ??= new Set());
    listeners.add(wrapped);
    return () => listeners.delete(wrapped);
  }

  /**
   * The log start offset retention wants: past every batch older than `retentionMs` before
   * `nowMs` and past the oldest batches while the partition holds more than `retentionBytes`.
   * Negative limits mean unlimited. Never beyond the high watermark.
   */
  retentionStart(nowMs: bigint, retentionMs: bigint, retentionBytes: bigint): bigint {
    let start = this.#logStartOffset;
    let total = BigInt(this.#batches.liveBytes);
    const batches = this.#batches;
    for (let o = batches.firstOrdinal; o < batches.endOrdinal; o++) {
      if (batches.baseOffsetAt(o) >= this.#highWatermark) break;
      const size = BigInt(batches.sizeAt(o));
      const expired = retentionMs >= 0n && batches.maxTimestampAt(o) < nowMs - retentionMs;
      // Kafka's rule: drop data only while what remains is still at least retention.bytes.
      const oversized = retentionBytes >= 0n && total - size >= retentionBytes;
      if (!expired && !oversized) break;
      total -= size;
      start = batches.lastOffsetAt(o) + 1n;
    }
    return start;
  }

  /** Moves the log start forward (already persisted) and drops the batches wholly before it. */
  advanceLogStart(offset: bigint): void {
    if (offset <= this.#logStartOffset) return;
    this.#logStartOffset = offset;
    if (this.#highWatermark < offset) this.#highWatermark = offset;
    if (this.#logEndOffset < offset) this.#logEndOffset = offset;
    const batches = this.#batches;
    const first = batches.findLastOffsetAtLeast(offset);
    if (first <= batches.firstOrdinal) return;
    const max = this.#maxTimestampOrdinal;
    if (max === undefined || max < first) this.#maxTimestampOrdinal = undefined;
    batches.dropBefore(first);
    const keep = first < batches.endOrdinal ? batches.baseOffsetAt(first) : offset;
    this.#cache?.dropBefore(keep);
  }

  /**
   * Compaction: swaps the batches `replaced` for `replacement` (same offsets, fewer bytes). The
   * embedded mode replaces the head; cluster mode may replace a range further on, so the result
   * is ordered by offset. Batches retention dropped meanwhile stay dropped. Batches are told
   * apart by base offset.
   */
  replaceHead(replaced: readonly BatchEntry[], replacement: readonly BatchEntry[]): void {
    const gone = new Set(replaced.map((entry) => entry.baseOffset));
    const fresh = replacement
      .filter((entry) => entry.lastOffset >= this.#logStartOffset)
      .toSorted((a, b) => (a.baseOffset < b.baseOffset ? -1 : a.baseOffset > b.baseOffset ? 1 : 0));
    for (const baseOffset of gone) this.#cache?.delete(baseOffset);
    const old = this.#batches;
    const rebuilt = new BatchIndex(this.#memory);
    let next = 0;
    for (let o = old.firstOrdinal; o < old.endOrdinal; o++) {
      const entry = old.entryAt(o);
      if (gone.has(entry.baseOffset)) continue;
      // Equal base offsets: the replacement first, as a stable sort of [fresh, rest] would.
      while (next < fresh.length && (fresh[next] as BatchEntry).baseOffset <= entry.baseOffset) {
        rebuilt.push(fresh[next++] as BatchEntry);
      }
      rebuilt.push(entry);
    }
    while (next < fresh.length) rebuilt.push(fresh[next++] as BatchEntry);
    old.release();
    this.#batches = rebuilt;
    this.#maxTimestampOrdinal = undefined;
  }

  /** The topic was deleted: later appends fail, cached bytes and the index are released. */
  markDeleted(): void {
    this.#deleted = true;
    this.#cache?.clear();
    this.#batches.release();
    this.#listeners?.clear();
  }

  #push(input: WalEntryInfo | BatchEntry): void {
    const batches = this.#batches;
    const ordinal = batches.endOrdinal;
    batches.push(input);
    const max = this.#maxTimestampOrdinal;
    if (max === undefined) return;
    if (max < 0 || input.maxTimestamp > this.#maxTimestamp) {
      this.#maxTimestampOrdinal = ordinal;
      this.#maxTimestamp = input.maxTimestamp;
    }
  }

  #bytesOfRun(run: readonly Chosen[]): Promise<Buffer[]> {
    const first = run[0];
    if (run.length === 1 && first?.cached !== undefined) return Promise.resolve([first.cached]);
    return this.#context.readBatches(
      run.map((chosen) => chosen.entry),
      this,
    );
  }

  wakeReaders(): void {
    this.#notify();
  }

  #notify(): void {
    for (const listener of this.#listeners ?? []) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; the append is already durable and must resolve.
      }
    }
  }
}

/** A batch picked for a read, with its tail-cached bytes when it has them. */
interface Chosen {
  entry: BatchEntry;
  cached: Buffer | undefined;
}

/** The cached bytes of every batch, or undefined when one of them is not cached (a tail read). */
function cachedBytesOf(chosen: readonly Chosen[]): Buffer[] | undefined {
  const bytes: Buffer[] = [];
  for (const { cached } of chosen) {
    if (cached === undefined) return undefined;
    bytes.push(cached);
  }
  return bytes;
}

/**
 * Splits `chosen` (in offset order) into runs to read at once: each cached batch alone, and
 * uncached batches stored back to back in one segment together, up to `readRunMaxBytes`.
 */
function runsOf(chosen: readonly Chosen[]): Chosen[][] {
  const runs: Chosen[][] = [];
  let run: Chosen[] = [];
  let runBytes = 0;
  for (const item of chosen) {
    const previous = run.at(-1);
    const joins =
      previous !== undefined &&
      previous.cached === undefined &&
      item.cached === undefined &&
      follows(previous.entry, item.entry) &&
      runBytes + item.entry.sizeBytes <= readRunMaxBytes;
    if (!joins && run.length > 0) {
      runs.push(run);
      run = [];
      runBytes = 0;
    }
    run.push(item);
    runBytes += item.entry.sizeBytes;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** Whether `next`'s frame starts right where `previous`'s batch ends, in the same segment. */
function follows(previous: BatchEntry, next: BatchEntry): boolean {
  return previous.segmentId === next.segmentId && frameStartOf(next) === batchEndOf(previous);
}
