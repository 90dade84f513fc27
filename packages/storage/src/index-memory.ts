/**
 * IndexMemory: the memory budget of every partition's batch index on one storage
 * (`log.index.memory.max.bytes`, docs/adr/0017). Batch indexes store batches in fixed-size
 * columnar chunks (batch-index.ts); a full chunk is sealed (immutable) and handed here. Sealed
 * chunks stay resident, least recently used first out, while their bytes fit the budget; past it
 * the oldest is written to a spill file once (it never changes again) and its bytes dropped. A
 * read of a spilled chunk loads it back synchronously (one positional read of one chunk) and
 * makes it the most recently used. Open chunks (at most one per partition, growing) are not
 * counted: they are what appends write to.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { StorageError } from './storage-error.ts';

/** Default `log.index.memory.max.bytes`: resident sealed index chunks of one broker. */
export const defaultIndexMemoryMaxBytes = 64 * 1024 * 1024;
/** Batches per sealed chunk (each batch takes `batchIndexEntryBytes`). */
export const defaultIndexChunkEntries = 512;

/** Where spilled chunks go: fixed-size slots, reused once freed. */
export interface IndexSpillStore {
  write(slot: number, bytes: Uint8Array): void;
  read(slot: number, into: Uint8Array): void;
  close(): void;
}

/** A sealed chunk as IndexMemory sees it: its bytes while resident, its slot once spilled. */
export interface SpillableChunk {
  bytes: Uint8Array | undefined;
  /** Spill slot holding the bytes, -1 before the first spill. */
  slot: number;
  /** Called after the bytes were dropped (the chunk forgets views over them). */
  onDropped(): void;
}

export interface IndexMemoryStats {
  residentBytes: number;
  spilledChunks: number;
  /** Spilled chunks read back since the start. */
  loads: number;
}

export class IndexMemory {
  readonly maxBytes: number;
  readonly chunkEntries: number;
  readonly #spill: IndexSpillStore;
  /** Resident sealed chunks, least recently used first (Map keeps insertion order). */
  readonly #resident = new Map<SpillableChunk, true>();
  #residentBytes = 0;
  #mostRecent: SpillableChunk | undefined;
  #nextSlot = 0;
  readonly #freeSlots: number[] = [];
  #spilled = 0;
  #loads = 0;

  constructor(options: { maxBytes: number; chunkEntries?: number; spill: IndexSpillStore }) {
    this.maxBytes = options.maxBytes;
    this.chunkEntries = options.chunkEntries ?? defaultIndexChunkEntries;
    this.#spill = options.spill;
  }

  /** No budget and no file: every chunk stays resident (tests, tools). */
  static unbounded(chunkEntries?: number): IndexMemory {
    return new IndexMemory({
      maxBytes: Number.POSITIVE_INFINITY,
      ...(chunkEntries === undefined ? {} : { chunkEntries }),
      spill: new MemorySpillStore(),
    });
  }

  stats(): IndexMemoryStats {
    return { residentBytes: this.#residentBytes, spilledChunks: this.#spilled, loads: this.#loads };
  }

  /** A chunk was sealed: it counts against the budget from now on. */
  sealed(chunk: SpillableChunk): void {
    const bytes = chunk.bytes;
    // Unbounded: nothing to account for (and nothing kept alive here).
    if (bytes === undefined || this.#resident.has(chunk) || this.maxBytes === Infinity) return;
    this.#resident.set(chunk, true);
    this.#residentBytes += bytes.byteLength;
    this.#mostRecent = chunk;
    this.#trim();
  }

  /** The chunk's bytes, loaded back from the spill file when it was spilled. */
  bytesOf(chunk: SpillableChunk, byteLength: number): Uint8Array {
    const bytes = chunk.bytes;
    if (bytes !== undefined) {
      if (this.#mostRecent !== chunk && this.#resident.delete(chunk)) {
        this.#resident.set(chunk, true);
        this.#mostRecent = chunk;
      }
      return bytes;
    }
    if (chunk.slot < 0) {
      throw new StorageError('STORAGE_FAILURE', 'a batch index chunk was released');
    }
    const loaded = new Uint8Array(byteLength);
    this.#spill.read(chunk.slot, loaded);
    this.#loads += 1;
    chunk.bytes = loaded;
    this.#resident.set(chunk, true);
    this.#residentBytes += loaded.byteLength;
    this.#mostRecent = chunk;
    this.#trim();
    return loaded;
  }

  /** The chunk left its index (retention, compaction, a deleted topic): forget it. */
  release(chunk: SpillableChunk): void {
    if (this.#resident.delete(chunk)) this.#residentBytes -= chunk.bytes?.byteLength ?? 0;
    if (this.#mostRecent === chunk) this.#mostRecent = undefined;
    if (chunk.slot >= 0) {
      this.#freeSlots.push(chunk.slot);
      this.#spilled -= 1;
      chunk.slot = -1;
    }
  }

  close(): void {
    this.#resident.clear();
    this.#residentBytes = 0;
    this.#spill.close();
  }

  #trim(): void {
    for (const chunk of this.#resident.keys()) {
      if (this.#residentBytes <= this.maxBytes || chunk === this.#mostRecent) return;
      const bytes = chunk.bytes;
      this.#resident.delete(chunk);
      if (bytes === undefined) continue;
      this.#residentBytes -= bytes.byteLength;
      // Sealed chunks never change, so one written before is still current in its slot.
      if (chunk.slot < 0) {
        chunk.slot = this.#freeSlots.pop() ?? this.#nextSlot++;
        this.#spill.write(chunk.slot, bytes);
        this.#spilled += 1;
      }
      chunk.bytes = undefined;
      chunk.onDropped();
    }
  }
}

/** Spilled chunks in a file that is unlinked at once: the kernel frees it when the fd closes. */
export class FileSpillStore implements IndexSpillStore {
  readonly #fd: number;
  readonly #slotBytes: number;

  /** `directory` is this process's own (a locked data dir): files left by a crash are removed. */
  constructor(directory: string, slotBytes: number, options: { owned: boolean }) {
    mkdirSync(directory, { recursive: true });
    if (options.owned) {
      for (const name of readdirSync(directory)) rmSync(join(directory, name), { force: true });
    }
    const path = join(directory, `batch-index-${process.pid}-${Date.now()}.spill`);
    this.#fd = openSync(path, 'w+');
    unlinkSync(path);
    this.#slotBytes = slotBytes;
  }

  write(slot: number, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.byteLength) {
      const position = slot * this.#slotBytes + done;
      done += writeSync(this.#fd, bytes, done, bytes.byteLength - done, position);
    }
  }

  read(slot: number, into: Uint8Array): void {
    let done = 0;
    while (done < into.byteLength) {
      const position = slot * this.#slotBytes + done;
      const read = readSync(this.#fd, into, done, into.byteLength - done, position);
      if (read === 0) throw new StorageError('STORAGE_FAILURE', 'batch index spill file is short');
      done += read;
    }
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** Spilled chunks kept as copies in memory: the in-memory storage of tests (no file). */
export class MemorySpillStore implements IndexSpillStore {
  readonly #slots = new Map<number, Uint8Array>();

  write(slot: number, bytes: Uint8Array): void {
    this.#slots.set(slot, bytes.slice());
  }

  read(slot: number, into: Uint8Array): void {
    const bytes = this.#slots.get(slot);
    if (bytes === undefined) throw new StorageError('STORAGE_FAILURE', 'no such spill slot');
    into.set(bytes);
  }

  close(): void {
    this.#slots.clear();
  }
}
