/**
 * TailCache: keeps the most recently appended batches of all partitions in memory, up to
 * `maxBytes`, so tail fetches never touch the disk. Eviction is FIFO by append order (the
 * oldest batch goes first), which is what a tail reader wants; catch-up reads go to files and
 * do not disturb it. Cached buffers are the producer's own bytes (no copy). Each partition log
 * owns a map from base offset to bytes; the cache puts a batch there and deletes it on eviction
 * (unless the log replaced or dropped it meanwhile). The queue is three flat arrays.
 */

export class TailCache {
  readonly maxBytes: number;
  #owners: (Map<bigint, Buffer> | undefined)[] = [];
  #offsets: bigint[] = [];
  #data: (Buffer | undefined)[] = [];
  #head = 0;
  #bytes = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Caches `data` as the batch at `baseOffset` of the log owning `owner`. */
  add(owner: Map<bigint, Buffer>, baseOffset: bigint, data: Buffer): void {
    if (data.length > this.maxBytes) return;
    owner.set(baseOffset, data);
    this.#owners.push(owner);
    this.#offsets.push(baseOffset);
    this.#data.push(data);
    this.#bytes += data.length;
    while (this.#bytes > this.maxBytes && this.#head < this.#data.length) {
      const i = this.#head;
      this.#head += 1;
      const oldest = this.#data[i] as Buffer;
      const map = this.#owners[i] as Map<bigint, Buffer>;
      const offset = this.#offsets[i] as bigint;
      if (map.get(offset) === oldest) map.delete(offset);
      this.#bytes -= oldest.length;
      // Evicted slots wait for the next slice: let go of the bytes now.
      this.#data[i] = undefined;
      this.#owners[i] = undefined;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#data.length) {
      this.#owners = this.#owners.slice(this.#head);
      this.#offsets = this.#offsets.slice(this.#head);
      this.#data = this.#data.slice(this.#head);
      this.#head = 0;
    }
  }
}
