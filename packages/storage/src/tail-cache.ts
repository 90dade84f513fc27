/**
 * TailCache: keeps the most recently appended batches of all partitions in memory, up to
 * `maxBytes`, so tail fetches never touch the disk. Eviction is FIFO by append order, which is
 * what a tail reader wants; catch-up reads go to files and do not disturb it.
 *
 * Small batches are copied into slabs (`tailCacheSlabBytes` each) and the per-batch bookkeeping
 * is flat typed arrays (TailIndex, one per partition): the cache holds no JavaScript object per
 * small batch. Holding the producer's own buffers kept tens of thousands of buffers and bigint
 * keys alive in the old generation, which the garbage collector walked and copied: with 200
 * small producers, alternating runs of the two layouts gave ack p99 12-22 ms against 25-121 ms
 * and a fifth less scavenge time (docs/adr/0029, docs/benchmarks.md small-producers).
 *
 * Eviction drops the oldest slab whole. Copy slabs are then reused (allocating a fresh one each
 * time made V8 count the released ones as external memory and start extra full collections),
 * so a batch is handed out as a copy; a large batch is its own slab, never reused, and handed
 * out as it is.
 */

/** Bytes of one slab that small batches are copied into. */
export const tailCacheSlabBytes = 1024 * 1024;
/**
 * Batches of at least this many bytes are kept as they came (a slab of their own, no copy):
 * few enough that their objects cost the garbage collector nothing worth a copy.
 */
export const tailCacheCopyMaxBytes = 64 * 1024;
/** Evicted copy slabs kept for reuse, at most (memory held beyond the budget). */
const tailCacheFreeSlabsMax = 4;
/** Largest base offset a TailIndex keeps (exact in a float64); later batches are not cached. */
const maxCachedOffset = Number.MAX_SAFE_INTEGER;

export class TailCache {
  readonly maxBytes: number;
  readonly #slabBytes: number;
  /** Live slabs, oldest first; `#firstSlab` is the sequence number of `#slabs[0]`. */
  #slabs: Buffer[] = [];
  #slabUsed: number[] = [];
  /** Whether each slab is a copy slab (reused once evicted) rather than a large batch's own. */
  #slabCopied: boolean[] = [];
  /** Evicted copy slabs, reused before a new one is allocated. */
  #free: Buffer[] = [];
  #firstSlab = 0;
  /** Sequence number of the slab small batches are copied into now (-1: none yet). */
  #copySlab = -1;
  #capacity = 0;
  #bytes = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
    this.#slabBytes = Math.max(1, Math.min(tailCacheSlabBytes, Math.floor(maxBytes / 8)));
  }

  /** Bytes of batches cached now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes of the slabs held (cached batches plus the unused end of the slab being filled). */
  get slabBytes(): number {
    return this.#capacity;
  }

  /** A new, empty index for one partition's batches. */
  newIndex(): TailIndex {
    return new TailIndex(this);
  }

  /**
   * Caches `data` as the batch at `baseOffset` of `index`: small batches as a copy, large ones
   * as they are. An append at an offset supersedes whatever the index held at or after it (a
   * log cut back to its high watermark appends those offsets again), whether or not the new
   * batch is cached (it is not when larger than the budget).
   */
  add(index: TailIndex, baseOffset: bigint, data: Buffer): void {
    const offset = Number(baseOffset);
    index.truncateFrom(offset);
    const length = data.length;
    if (length === 0 || length > this.maxBytes || offset > maxCachedOffset) return;
    if (length >= Math.min(tailCacheCopyMaxBytes, this.#slabBytes)) {
      const slab = this.#pushSlab(data, length, false);
      this.#bytes += length;
      index.push(offset, slab, 0, length);
      return;
    }
    let slab = this.#copySlab;
    let at = slab - this.#firstSlab;
    let used = at < 0 ? 0 : (this.#slabUsed[at] as number);
    if (at < 0 || used + length > (this.#slabs[at] as Buffer).length) {
      slab = this.#pushSlab(this.#free.pop() ?? Buffer.allocUnsafeSlow(this.#slabBytes), 0, true);
      this.#copySlab = slab;
      at = slab - this.#firstSlab;
      used = 0;
    }
    // TypedArray#set: a builtin, cheaper per call than Buffer#copy for batches this small.
    (this.#slabs[at] as Buffer).set(data, used);
    this.#slabUsed[at] = used + length;
    this.#bytes += length;
    index.push(offset, slab, used, length);
  }

  /** Whether slab `slab` (a sequence number) is still held. */
  holds(slab: number): boolean {
    return slab >= this.#firstSlab;
  }

  /**
   * The bytes at `position` of slab `slab`, which the caller checked is held: a copy out of a
   * copy slab (which is reused once evicted), the batch itself for a large batch's own slab.
   */
  view(slab: number, position: number, length: number): Buffer {
    const at = slab - this.#firstSlab;
    const bytes = this.#slabs[at] as Buffer;
    if (!this.#slabCopied[at]) return bytes.subarray(position, position + length);
    const copy = Buffer.allocUnsafe(length);
    copy.set(bytes.subarray(position, position + length));
    return copy;
  }

  /**
   * Appends `slab` (holding `used` bytes of batches) after evicting the oldest slabs it does not
   * fit beside; returns its sequence number. The slab being filled may go too: the next small
   * batch opens another, so its batches leave a little before strict FIFO would have them go.
   */
  #pushSlab(slab: Buffer, used: number, copied: boolean): number {
    while (this.#slabs.length > 0 && this.#capacity + slab.length > this.maxBytes) {
      const evicted = this.#slabs.shift() as Buffer;
      this.#capacity -= evicted.length;
      this.#bytes -= this.#slabUsed.shift() as number;
      const reusable = this.#slabCopied.shift() === true;
      if (reusable && this.#free.length < tailCacheFreeSlabsMax) this.#free.push(evicted);
      this.#firstSlab += 1;
    }
    this.#slabs.push(slab);
    this.#slabUsed.push(used);
    this.#slabCopied.push(copied);
    this.#capacity += slab.length;
    return this.#firstSlab + this.#slabs.length - 1;
  }
}

/**
 * The cached batches of one partition, in offset order, as four parallel typed arrays used as
 * a queue (`#head` to `#end`). Entries whose slab was evicted are dropped from the head as the
 * index is used; lookups are a binary search over base offsets.
 */
export class TailIndex {
  readonly #cache: TailCache;
  #offsets = new Float64Array(16);
  #slabs = new Float64Array(16);
  #positions = new Int32Array(16);
  #lengths = new Int32Array(16);
  #head = 0;
  #end = 0;

  constructor(cache: TailCache) {
    this.#cache = cache;
  }

  /** Entries held (evicted ones not yet dropped included). */
  get size(): number {
    return this.#end - this.#head;
  }

  /** Forgets the entries at `offset` and after (they are superseded by a new append there). */
  truncateFrom(offset: number): void {
    while (this.#end > this.#head && (this.#offsets[this.#end - 1] as number) >= offset) {
      this.#end--;
    }
  }

  push(offset: number, slab: number, position: number, length: number): void {
    this.#dropEvicted();
    if (this.#end === this.#offsets.length) this.#makeRoom();
    const at = this.#end;
    this.#offsets[at] = offset;
    this.#slabs[at] = slab;
    this.#positions[at] = position;
    this.#lengths[at] = length;
    this.#end = at + 1;
  }

  /** The cached bytes of the batch at `baseOffset`, or undefined. */
  get(baseOffset: bigint): Buffer | undefined {
    this.#dropEvicted();
    const at = this.#find(Number(baseOffset));
    if (at < 0) return undefined;
    const length = this.#lengths[at] as number;
    const slab = this.#slabs[at] as number;
    // Slabs of one index need not be in order (a large batch's own slab may come before the
    // copy slab's next batch), so one in the middle may be gone.
    if (length === 0 || !this.#cache.holds(slab)) return undefined;
    return this.#cache.view(slab, this.#positions[at] as number, length);
  }

  /** Forgets the batch at `baseOffset` (compaction replaced it). */
  delete(baseOffset: bigint): void {
    const at = this.#find(Number(baseOffset));
    if (at >= 0) this.#lengths[at] = 0;
  }

  /** Forgets every batch whose base offset is below `offset` (retention moved the start). */
  dropBefore(offset: bigint): void {
    const below = Number(offset);
    while (this.#head < this.#end && (this.#offsets[this.#head] as number) < below) this.#head++;
  }

  clear(): void {
    this.#head = 0;
    this.#end = 0;
  }

  #dropEvicted(): void {
    while (this.#head < this.#end && !this.#cache.holds(this.#slabs[this.#head] as number)) {
      this.#head++;
    }
  }

  /** The slot holding `offset`, or -1. */
  #find(offset: number): number {
    let low = this.#head;
    let high = this.#end - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const at = this.#offsets[middle] as number;
      if (at === offset) return middle;
      if (at < offset) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  /** Moves the live entries to the front, growing the arrays when they are more than half full. */
  #makeRoom(): void {
    const head = this.#head;
    const end = this.#end;
    const live = end - head;
    if (live * 2 <= this.#offsets.length) {
      this.#offsets.copyWithin(0, head, end);
      this.#slabs.copyWithin(0, head, end);
      this.#positions.copyWithin(0, head, end);
      this.#lengths.copyWithin(0, head, end);
    } else {
      const capacity = this.#offsets.length * 2;
      this.#offsets = grown(this.#offsets, head, end, new Float64Array(capacity));
      this.#slabs = grown(this.#slabs, head, end, new Float64Array(capacity));
      this.#positions = grown(this.#positions, head, end, new Int32Array(capacity));
      this.#lengths = grown(this.#lengths, head, end, new Int32Array(capacity));
    }
    this.#head = 0;
    this.#end = live;
  }
}

function grown<T extends Float64Array | Int32Array>(from: T, start: number, end: number, to: T): T {
  to.set(from.subarray(start, end));
  return to;
}
