/**
 * BatchIndex: one partition's batches in offset order, as columns in fixed-size chunks instead
 * of an object per batch (docs/adr/0017). A batch takes `batchIndexEntryBytes` (57) bytes and
 * no JS object or bigint until it is read (`entryAt` makes a BatchEntry on demand). Every chunk
 * but the last holds exactly `chunkEntries` batches and never changes again (sealed): it goes
 * to IndexMemory, which may spill it to a file under the broker's budget and load it back when
 * a read needs it. The last chunk (open) takes appends and grows by doubling. Per chunk, a few
 * numbers stay in memory (last offset, largest timestamp), so finding a chunk reads no chunk.
 *
 * Positions: `ordinal`s number the batches since the index was built; the live ones are
 * [firstOrdinal, endOrdinal). Dropping the oldest batches (retention) keeps ordinals stable.
 */
import type { IndexMemory, SpillableChunk } from './index-memory.ts';
import type { TxnFields } from './types.ts';

/** Bytes of one batch in a chunk (the sum of the column widths below). */
export const batchIndexEntryBytes = 57;
/**
 * Batches of a new open chunk. Small: with 100,000 partitions most hold a batch or a few, and
 * each doubling copies a few dozen bytes.
 */
const firstOpenCapacity = 2;

/** One durable batch, as the index gives it out (a copy: changing it changes nothing). */
export interface BatchEntry {
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
  sizeBytes: number;
}

/** What `push` needs: a BatchEntry, or a WAL entry (lastOffsetDelta instead of lastOffset). */
export type IndexInput = Omit<BatchEntry, 'lastOffset'> &
  ({ lastOffset: bigint } | { lastOffsetDelta: number });

interface Columns {
  baseOffset: BigInt64Array;
  maxTimestamp: BigInt64Array;
  producerId: BigInt64Array;
  segmentId: Float64Array;
  position: Float64Array;
  lastOffsetDelta: Int32Array;
  baseSequence: Int32Array;
  sizeBytes: Int32Array;
  producerEpoch: Int16Array;
  txn: Uint16Array;
  entryVersion: Uint8Array;
}

function columnsOver(bytes: Uint8Array, capacity: number): Columns {
  const buffer = bytes.buffer;
  const at = bytes.byteOffset;
  return {
    baseOffset: new BigInt64Array(buffer, at, capacity),
    maxTimestamp: new BigInt64Array(buffer, at + 8 * capacity, capacity),
    producerId: new BigInt64Array(buffer, at + 16 * capacity, capacity),
    segmentId: new Float64Array(buffer, at + 24 * capacity, capacity),
    position: new Float64Array(buffer, at + 32 * capacity, capacity),
    lastOffsetDelta: new Int32Array(buffer, at + 40 * capacity, capacity),
    baseSequence: new Int32Array(buffer, at + 44 * capacity, capacity),
    sizeBytes: new Int32Array(buffer, at + 48 * capacity, capacity),
    producerEpoch: new Int16Array(buffer, at + 52 * capacity, capacity),
    txn: new Uint16Array(buffer, at + 54 * capacity, capacity),
    entryVersion: new Uint8Array(buffer, at + 56 * capacity, capacity),
  };
}

class Chunk implements SpillableChunk {
  bytes: Uint8Array | undefined;
  slot = -1;
  capacity: number;
  count = 0;
  #columns: Columns | undefined;
  /** Last offset of the chunk's last batch (kept while spilled, to find chunks). */
  lastOffset = -1n;
  /** Sum of the batches' sizes (kept while spilled, for retention). */
  sumBytes = 0;
  /** Largest max timestamp in the chunk and where it first occurs (kept while spilled). */
  maxTimestamp: bigint | undefined;
  maxTimestampAt = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.bytes = new Uint8Array(capacity * batchIndexEntryBytes);
  }

  onDropped(): void {
    this.#columns = undefined;
  }

  columns(memory: IndexMemory, sealed: boolean): Columns {
    if (this.#columns !== undefined && this.bytes !== undefined) {
      if (sealed) memory.bytesOf(this, this.capacity * batchIndexEntryBytes);
      return this.#columns;
    }
    const bytes = sealed
      ? memory.bytesOf(this, this.capacity * batchIndexEntryBytes)
      : (this.bytes as Uint8Array);
    this.#columns = columnsOver(bytes, this.capacity);
    return this.#columns;
  }

  /** Open chunk: doubles its capacity (copying each column). */
  grow(capacity: number): void {
    const old = this.#columns ?? columnsOver(this.bytes as Uint8Array, this.capacity);
    this.bytes = new Uint8Array(capacity * batchIndexEntryBytes);
    this.capacity = capacity;
    const next = columnsOver(this.bytes, capacity);
    for (const name of Object.keys(next) as (keyof Columns)[]) {
      (next[name] as Int32Array).set((old[name] as Int32Array).subarray(0, this.count));
    }
    this.#columns = next;
  }
}

export class BatchIndex {
  readonly #memory: IndexMemory;
  readonly #chunkEntries: number;
  #chunks: Chunk[] = [];
  /** Ordinal of the first batch of chunks[0]. */
  #chunkBase = 0;
  #firstOrdinal = 0;
  #endOrdinal = 0;
  #liveBytes = 0;
  /** Bytes of the dropped batches at the start of chunks[0]. */
  #headDroppedBytes = 0;
  #released = false;

  constructor(memory: IndexMemory) {
    this.#memory = memory;
    this.#chunkEntries = memory.chunkEntries;
  }

  get firstOrdinal(): number {
    return this.#firstOrdinal;
  }

  get endOrdinal(): number {
    return this.#endOrdinal;
  }

  get length(): number {
    return this.#endOrdinal - this.#firstOrdinal;
  }

  /** Sum of the live batches' sizes. */
  get liveBytes(): number {
    return this.#liveBytes;
  }

  push(input: IndexInput): void {
    let chunk = this.#chunks.at(-1);
    if (chunk === undefined || chunk.count === this.#chunkEntries) {
      chunk = new Chunk(Math.min(firstOpenCapacity, this.#chunkEntries));
      this.#chunks.push(chunk);
    } else if (chunk.count === chunk.capacity) {
      chunk.grow(Math.min(chunk.capacity * 2, this.#chunkEntries));
    }
    const columns = chunk.columns(this.#memory, false);
    const j = chunk.count;
    const lastOffsetDelta =
      'lastOffsetDelta' in input
        ? input.lastOffsetDelta
        : Number(input.lastOffset - input.baseOffset);
    columns.baseOffset[j] = input.baseOffset;
    columns.maxTimestamp[j] = input.maxTimestamp;
    columns.producerId[j] = input.producerId;
    columns.segmentId[j] = input.segmentId;
    columns.position[j] = input.position;
    columns.lastOffsetDelta[j] = lastOffsetDelta;
    columns.baseSequence[j] = input.baseSequence;
    columns.sizeBytes[j] = input.sizeBytes;
    columns.producerEpoch[j] = input.producerEpoch;
    columns.txn[j] = encodeTxn(input.txn);
    columns.entryVersion[j] = input.entryVersion;
    chunk.count += 1;
    chunk.lastOffset = input.baseOffset + BigInt(lastOffsetDelta);
    chunk.sumBytes += input.sizeBytes;
    if (chunk.maxTimestamp === undefined || input.maxTimestamp > chunk.maxTimestamp) {
      chunk.maxTimestamp = input.maxTimestamp;
      chunk.maxTimestampAt = j;
    }
    this.#endOrdinal += 1;
    this.#liveBytes += input.sizeBytes;
    if (chunk.count === this.#chunkEntries && !this.#released) this.#memory.sealed(chunk);
  }

  /** The batch at `ordinal` (firstOrdinal <= ordinal < endOrdinal), as a new object. */
  entryAt(ordinal: number): BatchEntry {
    const { columns, j } = this.#locate(ordinal);
    const baseOffset = columns.baseOffset[j] as bigint;
    return {
      baseOffset,
      lastOffset: baseOffset + BigInt(columns.lastOffsetDelta[j] as number),
      maxTimestamp: columns.maxTimestamp[j] as bigint,
      producerId: columns.producerId[j] as bigint,
      producerEpoch: columns.producerEpoch[j] as number,
      baseSequence: columns.baseSequence[j] as number,
      txn: decodeTxn(columns.txn[j] as number),
      entryVersion: columns.entryVersion[j] as number,
      segmentId: columns.segmentId[j] as number,
      position: columns.position[j] as number,
      sizeBytes: columns.sizeBytes[j] as number,
    };
  }

  baseOffsetAt(ordinal: number): bigint {
    const { columns, j } = this.#locate(ordinal);
    return columns.baseOffset[j] as bigint;
  }

  lastOffsetAt(ordinal: number): bigint {
    const { columns, j } = this.#locate(ordinal);
    return (columns.baseOffset[j] as bigint) + BigInt(columns.lastOffsetDelta[j] as number);
  }

  maxTimestampAt(ordinal: number): bigint {
    const { columns, j } = this.#locate(ordinal);
    return columns.maxTimestamp[j] as bigint;
  }

  sizeAt(ordinal: number): number {
    const { columns, j } = this.#locate(ordinal);
    return columns.sizeBytes[j] as number;
  }

  /** Ordinal of the first live batch whose last offset is >= offset (endOrdinal if none). */
  findLastOffsetAtLeast(offset: bigint): number {
    // Whole chunks first, by the last offsets kept in memory; then inside the one chunk.
    let low = 0;
    let high = this.#chunks.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#chunks[middle] as Chunk).lastOffset < offset) low = middle + 1;
      else high = middle;
    }
    let lowOrdinal = Math.max(this.#firstOrdinal, this.#chunkBase + low * this.#chunkEntries);
    let highOrdinal = Math.min(this.#endOrdinal, lowOrdinal + this.#chunkEntries);
    while (lowOrdinal < highOrdinal) {
      const middle = Math.floor((lowOrdinal + highOrdinal) / 2);
      if (this.lastOffsetAt(middle) < offset) lowOrdinal = middle + 1;
      else highOrdinal = middle;
    }
    return Math.min(lowOrdinal, this.#endOrdinal);
  }

  /** Drops the live batches before `ordinal` (retention); whole chunks leave memory. */
  dropBefore(ordinal: number): void {
    const end = Math.min(ordinal, this.#endOrdinal);
    while (this.#firstOrdinal < end) {
      const first = this.#chunks[0] as Chunk;
      const chunkEnd = this.#chunkBase + first.count;
      if (end >= chunkEnd && first.count === this.#chunkEntries) {
        // A whole sealed chunk: its byte sum is in memory, so a spilled one is not read back.
        this.#liveBytes -= first.sumBytes - this.#headDroppedBytes;
        this.#headDroppedBytes = 0;
        this.#memory.release(first);
        this.#chunks.shift();
        this.#chunkBase += this.#chunkEntries;
        this.#firstOrdinal = chunkEnd;
        continue;
      }
      const stop = Math.min(end, chunkEnd);
      for (let o = this.#firstOrdinal; o < stop; o++) {
        const size = this.sizeAt(o);
        this.#liveBytes -= size;
        this.#headDroppedBytes += size;
      }
      this.#firstOrdinal = stop;
      break;
    }
  }

  /** Ordinal of the first live batch whose max timestamp is >= timestamp (endOrdinal if none). */
  findTimestampAtLeast(timestamp: bigint): number {
    for (let k = 0; k < this.#chunks.length; k++) {
      const chunk = this.#chunks[k] as Chunk;
      if (chunk.maxTimestamp === undefined || chunk.maxTimestamp < timestamp) continue;
      const from = Math.max(this.#firstOrdinal, this.#chunkBase + k * this.#chunkEntries);
      const to = this.#chunkBase + k * this.#chunkEntries + chunk.count;
      for (let o = from; o < to; o++) if (this.maxTimestampAt(o) >= timestamp) return o;
    }
    return this.#endOrdinal;
  }

  /** Ordinal of the live batch with the largest max timestamp (the first on ties), or -1. */
  maxTimestampOrdinal(): number {
    let best = -1;
    let bestTimestamp = 0n;
    for (let k = 0; k < this.#chunks.length; k++) {
      const chunk = this.#chunks[k] as Chunk;
      const start = this.#chunkBase + k * this.#chunkEntries;
      if (chunk.maxTimestamp === undefined) continue;
      if (best >= 0 && chunk.maxTimestamp <= bestTimestamp) continue;
      if (start + chunk.maxTimestampAt >= this.#firstOrdinal) {
        best = start + chunk.maxTimestampAt;
        bestTimestamp = chunk.maxTimestamp;
        continue;
      }
      // The chunk's largest lies before the log start: look at its live batches.
      for (let o = this.#firstOrdinal; o < start + chunk.count; o++) {
        const timestamp = this.maxTimestampAt(o);
        if (best < 0 || timestamp > bestTimestamp) {
          best = o;
          bestTimestamp = timestamp;
        }
      }
    }
    return best;
  }

  /** Frees this index's chunks (the index is not used again, or only for resident chunks). */
  /**
   * Forgets the open chunk's column views (eleven typed arrays over its bytes); the next read or
   * append makes them again. Recovery calls it once a partition is rebuilt, so the many
   * partitions nobody reads soon hold their bytes only.
   */
  dropViews(): void {
    const open = this.#chunks.at(-1);
    if (open !== undefined && open.count < this.#chunkEntries) open.onDropped();
  }

  release(): void {
    this.#released = true;
    for (const chunk of this.#chunks) this.#memory.release(chunk);
  }

  #locate(ordinal: number): { columns: Columns; j: number } {
    const relative = ordinal - this.#chunkBase;
    const k = Math.floor(relative / this.#chunkEntries);
    const chunk = this.#chunks[k];
    if (chunk === undefined || ordinal < this.#firstOrdinal || ordinal >= this.#endOrdinal) {
      throw new RangeError(`batch index ordinal ${ordinal} is not live`);
    }
    const sealed = chunk.count === this.#chunkEntries;
    return { columns: chunk.columns(this.#memory, sealed), j: relative - k * this.#chunkEntries };
  }
}

/** 0: no flags recorded; else bit 0 set, bit 1 transactional, bit 2 control, type + 1 above. */
function encodeTxn(txn: TxnFields | undefined): number {
  if (txn === undefined) return 0;
  const type = txn.controlType >= 0 && txn.controlType <= 254 ? txn.controlType + 1 : 0;
  return 1 | (txn.transactional ? 2 : 0) | (txn.control ? 4 : 0) | (type << 3);
}

const decodedTxn = new Map<number, TxnFields>();

function decodeTxn(code: number): TxnFields | undefined {
  if (code === 0) return undefined;
  let txn = decodedTxn.get(code);
  if (txn === undefined) {
    txn = Object.freeze({
      transactional: (code & 2) !== 0,
      control: (code & 4) !== 0,
      controlType: (code >> 3) - 1,
    });
    decodedTxn.set(code, txn);
  }
  return txn;
}
