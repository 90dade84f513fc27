/**
 * ReadBufferPool: reusable buffers for positional reads of stored batches. A catch-up consumer
 * makes the broker read hundreds of megabytes a second; a fresh buffer per read is memory outside
 * the JS heap, and V8 answers every ~64 MiB of it with a full mark-compact collection, which
 * stalls the event loop (and the live producers' acknowledgements) for milliseconds each time.
 *
 * Invariants: a buffer is leased by `acquire` and comes back only through `release`, which its
 * holder calls once nothing reads it any more (the connection, after the socket took the bytes).
 * Buffers never released are simply collected. Sizes are powers of two from
 * `readBufferPoolMinBytes` to `readBufferPoolMaxBufferBytes`; smaller and larger reads are not
 * pooled. At most `readBufferPoolMaxIdleBytes` wait idle. Pooled buffers are shared memory
 * (SharedArrayBuffer), so the frame check thread (frame-check-thread.ts) can check a read's
 * batches where they lie.
 */

export const readBufferPoolMinBytes = 64 * 1024;
export const readBufferPoolMaxBufferBytes = 8 * 1024 * 1024;
/**
 * Enough for one whole Fetch of 64 MiB read in 8 MiB runs: a catch-up consumer's next Fetch
 * then reuses every buffer of the last (shared memory is zeroed when allocated, so a miss costs
 * a pass over the bytes on the event loop).
 */
export const readBufferPoolMaxIdleBytes = 64 * 1024 * 1024;

export class ReadBufferPool {
  readonly #idle = new Map<number, Buffer[]>();
  readonly #leased = new WeakSet<ArrayBufferLike>();
  #idleBytes = 0;

  get idleBytes(): number {
    return this.#idleBytes;
  }

  /** A buffer of at least `length` bytes (its contents are arbitrary; it may be larger). */
  acquire(length: number): Buffer {
    if (length < readBufferPoolMinBytes || length > readBufferPoolMaxBufferBytes) {
      return Buffer.allocUnsafe(length);
    }
    const size = sizeClassOf(length);
    const reused = this.#idleAtLeast(size);
    const buffer = reused ?? Buffer.from(new SharedArrayBuffer(size));
    this.#leased.add(buffer.buffer);
    return buffer;
  }

  /**
   * An idle buffer of class `size`, else of the next larger class that has one: a catch-up
   * read's runs end at segment boundaries, so every Fetch asks for a few odd sizes, and when
   * only exact classes matched those missed each time (about 200 MB/s of fresh shared memory
   * beside a 1.4 GB/s replay, enough to start a mark-compact every 0.8 s).
   */
  #idleAtLeast(size: number): Buffer | undefined {
    for (let candidate = size; candidate <= readBufferPoolMaxBufferBytes; candidate *= 2) {
      const reused = this.#idle.get(candidate)?.pop();
      if (reused === undefined) continue;
      this.#idleBytes -= candidate;
      return reused;
    }
    return undefined;
  }

  /**
   * Takes back the leased buffers that `views` are views of (others are ignored, and so is a
   * second release of the same buffer). The caller promises nothing reads those bytes any more.
   */
  release(views: readonly Buffer[]): void {
    for (const view of views) {
      const memory = view.buffer;
      if (!this.#leased.has(memory)) continue;
      this.#leased.delete(memory);
      const size = memory.byteLength;
      if (this.#idleBytes + size > readBufferPoolMaxIdleBytes) continue;
      let idle = this.#idle.get(size);
      if (idle === undefined) this.#idle.set(size, (idle = []));
      idle.push(Buffer.from(memory));
      this.#idleBytes += size;
    }
  }
}

function sizeClassOf(length: number): number {
  return 2 ** Math.ceil(Math.log2(length));
}

/** The pool every file read of stored batches leases from (FileHandleCache). */
export const readBuffers = new ReadBufferPool();

/**
 * Returns to the pool the read buffers that `views` (for example a response's frames) are views
 * of. Call it only once nothing reads those bytes any more: the socket has taken them.
 */
export function releaseReadBuffers(views: readonly Buffer[]): void {
  readBuffers.release(views);
}
