/**
 * FileHandleCache: a small bounded LRU of read-only file handles for positional reads. Handles
 * are reference-counted so an eviction never closes a handle a read is still using; the handle
 * closes when its last user releases it. At most `maxOpenFiles` idle handles stay open.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { readBuffers } from './read-buffer-pool.ts';

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
  async read(path: string, position: number, length: number): Promise<Buffer> {
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
