/**
 * TailCache: keeps the most recently appended batches of all partitions in memory, up to
 * `maxBytes`, so tail fetches never touch the disk. Eviction is FIFO by append order (the
 * oldest batch goes first), which is what a tail reader wants; catch-up reads go to files and
 * do not disturb it. Cached buffers are the producer's own bytes (no copy).
 */

export interface CachedBatch {
  cached: Buffer | undefined;
  sizeBytes: number;
}

export class TailCache {
  readonly maxBytes: number;
  #queue: CachedBatch[] = [];
  #head = 0;
  #bytes = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  add(batch: CachedBatch, data: Buffer): void {
    if (data.length > this.maxBytes) return;
    batch.cached = data;
    this.#queue.push(batch);
    this.#bytes += batch.sizeBytes;
    while (this.#bytes > this.maxBytes && this.#head < this.#queue.length) {
      const oldest = this.#queue[this.#head];
      this.#head += 1;
      if (oldest === undefined) continue;
      oldest.cached = undefined;
      this.#bytes -= oldest.sizeBytes;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
