/**
 * FileHandleCache: a small bounded LRU of read-only file handles for positional reads. Handles
 * are reference-counted so an eviction never closes a handle a read is still using; the handle
 * closes when its last user releases it. At most `maxOpenFiles` idle handles stay open.
 *
 * Large reads (`largeReadMinBytes` or more: a replaying consumer's catch-up) pass one at a time
 * through a process-wide gate. File I/O runs on libuv's four threads, and a 64 MiB catch-up
 * fetch read as eight 8 MiB runs at once took all four, so the WAL write of every live produce
 * queued behind them: beside a replay, 2% of WAL group commits took over 5 ms. Small reads (a
 * live consumer's cache misses) never wait for the gate.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { readBuffers } from './read-buffer-pool.ts';

/** Reads of at least this many bytes wait for the large-read gate. */
export const largeReadMinBytes = 1024 * 1024;
/**
 * Large reads in flight at once, process-wide. One: a read of 8 MiB from the page cache takes
 * 1-2 ms of one libuv thread, so one at a time still reads over 1 GB/s, and a WAL write finds
 * a free thread instead of a queue behind eight of them.
 */
export const largeReadsInFlightMax = 1;

/** Admits `max` large reads at a time; the others wait in arrival order. */
export class ReadGate {
  readonly #max: number;
  readonly #waiting: (() => void)[] = [];
  #inFlight = 0;

  constructor(max: number) {
    this.#max = max;
  }

  async run<T>(read: () => Promise<T>): Promise<T> {
    if (this.#inFlight < this.#max) this.#inFlight += 1;
    else await new Promise<void>((admitted) => this.#waiting.push(admitted));
    try {
      return await read();
    } finally {
      // The slot passes straight to the next waiter, or is given back.
      const next = this.#waiting.shift();
      if (next === undefined) this.#inFlight -= 1;
      else next();
    }
  }
}

const largeReads = new ReadGate(largeReadsInFlightMax);

interface CachedHandle {
  handle: FileHandle;
  users: number;
  evicted: boolean;
}

export class FileHandleCache {
  readonly #handles = new Map<string, CachedHandle>();
  readonly #maxOpenFiles: number;

  constructor(maxOpenFiles = 32) {
    this.#maxOpenFiles = maxOpenFiles;
  }

  /**
   * Reads `length` bytes at `position` of `path`; a short file yields a short buffer. The buffer
   * is leased from `readBuffers`: whoever is done with it last may release it there.
   */
  read(path: string, position: number, length: number): Promise<Buffer> {
    return length >= largeReadMinBytes
      ? largeReads.run(() => this.#read(path, position, length))
      : this.#read(path, position, length);
  }

  async #read(path: string, position: number, length: number): Promise<Buffer> {
    const cached = await this.#acquire(path);
    try {
      const buffer = readBuffers.acquire(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await cached.handle.read(
          buffer,
          done,
          length - done,
          position + done,
        );
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buffer.subarray(0, done);
    } finally {
      this.#release(cached);
    }
  }

  /** Closes the cached handle of `path` (after its current users finish). */
  async forget(path: string): Promise<void> {
    const cached = this.#handles.get(path);
    if (cached === undefined) return;
    this.#handles.delete(path);
    cached.evicted = true;
    if (cached.users === 0) await cached.handle.close();
  }

  async close(): Promise<void> {
    await Promise.all([...this.#handles.keys()].map((path) => this.forget(path)));
  }

  async #acquire(path: string): Promise<CachedHandle> {
    let cached = this.#handles.get(path);
    if (cached === undefined) {
      const handle = await open(path, 'r');
      cached = this.#handles.get(path);
      if (cached === undefined) {
        // Counted as in use before evicting, so the eviction cannot pick this very handle.
        cached = { handle, users: 1, evicted: false };
        this.#handles.set(path, cached);
        this.#evictIdle();
        return cached;
      }
      // Another read opened it meanwhile: use that one (synchronously, before it can be evicted).
      void handle.close().catch(() => undefined);
    } else {
      this.#handles.delete(path);
      this.#handles.set(path, cached);
    }
    cached.users += 1;
    return cached;
  }

  #release(cached: CachedHandle): void {
    cached.users -= 1;
    if (cached.evicted && cached.users === 0) void cached.handle.close().catch(() => undefined);
  }

  #evictIdle(): void {
    for (const [path, cached] of this.#handles) {
      if (this.#handles.size <= this.#maxOpenFiles) return;
      if (cached.users > 0) continue;
      this.#handles.delete(path);
      cached.evicted = true;
      void cached.handle.close().catch(() => undefined);
    }
  }
}
