/**
 * PartitionLog: one partition's offsets over the WAL and objects.
 *
 * Invariants: logStartOffset <= highWatermark <= logEndOffset. Offsets are assigned in call
 * order at `append` (so LEO runs ahead of durability); the high watermark moves only when the WAL
 * sync covering a batch completes, and the WAL completes appends in order, so the durable
 * batches always form a prefix. Reads never see past the high watermark. The batch index is in
 * memory (one small record per batch); batch bytes come from the tail cache or positional reads.
 */
import { type WalEntryInfo, entryBatchOffsetOf, viewOf } from './segment-format.ts';
import { StorageError } from './storage-error.ts';
import type { CachedBatch, TailCache } from './tail-cache.ts';
import type { BatchMeta, StoredBatchLocation, TopicId, TxnFields } from './types.ts';
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
   * Durable batches, oldest first (a copy). Each carries the producer numbers and transaction
   * flags stored with it (BatchMeta.producer, BatchMeta.txn), so the broker can rebuild
   * idempotent-producer and transaction state after a restart without reading batch bytes.
   */
  readonly batches: readonly BatchEntry[];
  /** Called after every high watermark advance. Returns an unsubscribe function. */
  onHighWatermark(listener: () => void): () => void;
}

/** One durable batch in the in-memory index. */
export interface BatchEntry extends CachedBatch {
  baseOffset: bigint;
  lastOffset: bigint;
  maxTimestamp: bigint;
  /** Producer numbers stored with the batch (BatchMeta.producer), -1 when it had none. */
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  /**
   * Transaction flags stored with the batch (BatchMeta.txn); undefined when the batch was
   * appended without them or written by a format before them (the broker then reads the batch).
   */
  txn: TxnFields | undefined;
  entryVersion: number;
  segmentId: number;
  position: number;
}

export interface PartitionLogContext {
  /** Where appends go: the WAL (embedded) or this leader term's window writer (cluster). */
  wal: Pick<WriteAheadLog, 'append'>;
  /** Cluster mode: commits a batch stored by another broker (PartitionLog.appendStored). */
  appendPointer?: (entry: WalAppend, location: StoredBatchLocation) => Promise<WalEntryInfo>;
  tailCache: TailCache;
  /**
   * Reads batches that are not cached, stored back to back in one segment or object (each
   * entry's frame starts where the previous batch ends), with one read; one buffer per batch.
   */
  readBatches(run: readonly BatchEntry[]): Promise<Buffer[]>;
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
    cached: undefined,
  };
}

export class IndexedPartitionLog implements PartitionLog {
  readonly topicId: TopicId;
  readonly index: number;
  #logStartOffset: bigint;
  #highWatermark: bigint;
  #logEndOffset: bigint;
  #entries: BatchEntry[] = [];
  #head = 0;
  #maxTimestampEntry: BatchEntry | undefined;
  #deleted = false;
  /** Compaction bookkeeping: offsets below this were compacted (in memory; restarts redo it). */
  cleanedThrough: bigint;
  readonly #listeners = new Set<() => void>();
  readonly #context: PartitionLogContext;

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

  /** Live batches, oldest first (for retention and tests). */
  get batches(): readonly BatchEntry[] {
    return this.#entries.slice(this.#head);
  }

  /** Recovery: adds a durable batch found in an object or WAL segment, in offset order. */
  restore(info: WalEntryInfo): void {
    const entry = entryFromWal(info);
    if (entry.lastOffset < this.#logStartOffset) return;
    // The first live batch may start below the log start: DeleteRecords can cut inside a batch,
    // and the batch stays whole. Every later batch must start past the one before it.
    const first = this.#head === this.#entries.length;
    if (!first && entry.baseOffset < this.#logEndOffset) {
      throw new StorageError(
        'CORRUPT_DATA',
        `partition ${this.topicId}/${this.index}: batch at ${entry.baseOffset} overlaps ` +
          `offsets before ${this.#logEndOffset}`,
      );
    }
    this.#push(entry);
    this.#logEndOffset = entry.lastOffset + 1n;
    this.#highWatermark = this.#logEndOffset;
  }

  /**
   * Cluster mode: batches another broker committed, in offset order (ones already held are
   * skipped); the high watermark moves past them and waiting fetches wake.
   */
  restoreCommitted(infos: readonly WalEntryInfo[]): void {
    let added = false;
    for (const info of infos) {
      const hasEntries = this.#head < this.#entries.length;
      if (hasEntries && info.baseOffset < this.#logEndOffset) continue;
      this.restore(info);
      added = true;
    }
    if (added) this.#notify();
  }

  /**
   * Cluster mode: takes over the durable batches of `previous` (the same partition's log of an
   * earlier leader term), so a new term starts from exactly what is committed: its log end is
   * the previous high watermark, and offsets appended but never committed are forgotten.
   */
  adopt(previous: IndexedPartitionLog): void {
    for (const entry of previous.batches) {
      if (entry.baseOffset >= previous.highWatermark) break;
      this.#push(entry);
      this.#logEndOffset = entry.lastOffset + 1n;
    }
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
    const entry = entryFromWal(info);
    this.#push(entry);
    this.#context.tailCache.add(entry, batch);
    if (entry.lastOffset + 1n > this.#highWatermark) this.#highWatermark = entry.lastOffset + 1n;
    this.#notify();
    return { baseOffset };
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
    const entry = entryFromWal(info);
    this.#push(entry);
    if (entry.lastOffset + 1n > this.#highWatermark) this.#highWatermark = entry.lastOffset + 1n;
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
    const chosen: BatchEntry[] = [];
    let bytes = 0;
    for (let i = this.#find(fetchOffset); i < this.#entries.length; i++) {
      const entry = this.#entries[i];
      if (entry === undefined || entry.baseOffset >= limit) break;
      if (chosen.length > 0 && bytes + entry.sizeBytes > maxBytes) break;
      chosen.push(entry);
      bytes += entry.sizeBytes;
    }
    const cached = cachedBytesOf(chosen);
    if (cached !== undefined) return cached;
    const parts = await Promise.all(runsOf(chosen).map((run) => this.#bytesOfRun(run)));
    return parts.flat();
  }

  async batchForTimestamp(timestamp: bigint): Promise<Buffer | undefined> {
    this.#context.checkOpen();
    for (let i = this.#head; i < this.#entries.length; i++) {
      const entry = this.#entries[i];
      if (entry !== undefined && entry.maxTimestamp >= timestamp) return this.#bytesOf(entry);
    }
    return undefined;
  }

  maxTimestampBatch(): { offset: bigint; timestamp: bigint; baseOffset: bigint } | undefined {
    const entry = this.#maxTimestampEntry;
    if (entry === undefined) return undefined;
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
    this.#listeners.add(wrapped);
    return () => this.#listeners.delete(wrapped);
  }

  /**
   * The log start offset retention wants: past every batch older than `retentionMs` before
   * `nowMs` and past the oldest batches while the partition holds more than `retentionBytes`.
   * Negative limits mean unlimited. Never beyond the high watermark.
   */
  retentionStart(nowMs: bigint, retentionMs: bigint, retentionBytes: bigint): bigint {
    let start = this.#logStartOffset;
    let total = 0n;
    for (let i = this.#head; i < this.#entries.length; i++) {
      total += BigInt(this.#entries[i]?.sizeBytes ?? 0);
    }
    for (let i = this.#head; i < this.#entries.length; i++) {
      const entry = this.#entries[i];
      if (entry === undefined || entry.baseOffset >= this.#highWatermark) break;
      const expired = retentionMs >= 0n && entry.maxTimestamp < nowMs - retentionMs;
      // Kafka's rule: drop data only while what remains is still at least retention.bytes.
      const oversized = retentionBytes >= 0n && total - BigInt(entry.sizeBytes) >= retentionBytes;
      if (!expired && !oversized) break;
      total -= BigInt(entry.sizeBytes);
      start = entry.lastOffset + 1n;
    }
    return start;
  }

  /** Moves the log start forward (already persisted) and drops the batches wholly before it. */
  advanceLogStart(offset: bigint): void {
    if (offset <= this.#logStartOffset) return;
    this.#logStartOffset = offset;
    if (this.#highWatermark < offset) this.#highWatermark = offset;
    if (this.#logEndOffset < offset) this.#logEndOffset = offset;
    let droppedMax = false;
    while (this.#head < this.#entries.length) {
      const entry = this.#entries[this.#head];
      if (entry === undefined || entry.lastOffset >= offset) break;
      entry.cached = undefined;
      if (entry === this.#maxTimestampEntry) droppedMax = true;
      this.#head += 1;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    if (droppedMax) this.#recomputeMaxTimestamp();
  }

  /**
   * Compaction: swaps the batches `replaced` for `replacement` (same offsets, fewer bytes). The
   * embedded mode replaces the head; cluster mode may replace a range further on, so the result
   * is ordered by offset. Batches retention dropped meanwhile stay dropped.
   */
  replaceHead(replaced: readonly BatchEntry[], replacement: readonly BatchEntry[]): void {
    const gone = new Set(replaced);
    const rest = this.#entries.slice(this.#head).filter((entry) => !gone.has(entry));
    const fresh = replacement.filter((entry) => entry.lastOffset >= this.#logStartOffset);
    for (const entry of replaced) entry.cached = undefined;
    this.#entries = [...fresh, ...rest].toSorted((a, b) =>
      a.baseOffset < b.baseOffset ? -1 : a.baseOffset > b.baseOffset ? 1 : 0,
    );
    this.#head = 0;
    this.#recomputeMaxTimestamp();
  }

  /** The topic was deleted: later appends fail, cached bytes are released. */
  markDeleted(): void {
    this.#deleted = true;
    for (const entry of this.#entries) entry.cached = undefined;
    this.#listeners.clear();
  }

  #push(entry: BatchEntry): void {
    this.#entries.push(entry);
    const max = this.#maxTimestampEntry;
    if (max === undefined || entry.maxTimestamp > max.maxTimestamp) {
      this.#maxTimestampEntry = entry;
    }
  }

  #recomputeMaxTimestamp(): void {
    this.#maxTimestampEntry = undefined;
    for (let i = this.#head; i < this.#entries.length; i++) {
      const entry = this.#entries[i];
      const max = this.#maxTimestampEntry;
      if (entry !== undefined && (max === undefined || entry.maxTimestamp > max.maxTimestamp)) {
        this.#maxTimestampEntry = entry;
      }
    }
  }

  /** Index of the first live batch whose last offset is >= offset. */
  #find(offset: bigint): number {
    let low = this.#head;
    let high = this.#entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const entry = this.#entries[middle];
      if (entry !== undefined && entry.lastOffset < offset) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  #bytesOf(entry: BatchEntry): Promise<Buffer> {
    return entry.cached !== undefined
      ? Promise.resolve(entry.cached)
      : this.#context.readBatches([entry]).then((batches) => batches[0] as Buffer);
  }

  #bytesOfRun(run: readonly BatchEntry[]): Promise<Buffer[]> {
    const first = run[0];
    if (run.length === 1 && first?.cached !== undefined) return Promise.resolve([first.cached]);
    return this.#context.readBatches(run);
  }

  #notify(): void {
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; the append is already durable and must resolve.
      }
    }
  }
}

/** The cached bytes of every entry, or undefined when one of them is not cached (a tail read). */
function cachedBytesOf(entries: readonly BatchEntry[]): Buffer[] | undefined {
  const bytes: Buffer[] = [];
  for (const entry of entries) {
    if (entry.cached === undefined) return undefined;
    bytes.push(entry.cached);
  }
  return bytes;
}

/**
 * Splits `entries` (in offset order) into runs to read at once: each cached batch alone, and
 * uncached batches stored back to back in one segment together, up to `readRunMaxBytes`.
 */
function runsOf(entries: readonly BatchEntry[]): BatchEntry[][] {
  const runs: BatchEntry[][] = [];
  let run: BatchEntry[] = [];
  let runBytes = 0;
  for (const entry of entries) {
    const previous = run.at(-1);
    const joins =
      previous !== undefined &&
      previous.cached === undefined &&
      entry.cached === undefined &&
      follows(previous, entry) &&
      runBytes + entry.sizeBytes <= readRunMaxBytes;
    if (!joins && run.length > 0) {
      runs.push(run);
      run = [];
      runBytes = 0;
    }
    run.push(entry);
    runBytes += entry.sizeBytes;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** Whether `next`'s frame starts right where `previous`'s batch ends, in the same segment. */
function follows(previous: BatchEntry, next: BatchEntry): boolean {
  return (
    previous.segmentId === next.segmentId &&
    next.position - entryBatchOffsetOf(next.entryVersion) === previous.position + previous.sizeBytes
  );
}
