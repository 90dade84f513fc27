/**
 * DirectorySegmentFiles: WAL segments as files `<20-digit id>.wal` in one directory, and the
 * sync point (wal-sync-point.ts) beside that directory, as `<directory>-sync-point` (so the
 * directory holds segments only). Creating or removing a file fsyncs
 * the directory so the entry itself survives a crash; reads go through a bounded
 * FileHandleCache. `openFile` is node's `open` except in tests that watch the file handles
 * (the WAL contract checks that every write group is made durable before it is acknowledged).
 */
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, readdir, rm, truncate } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FileHandleCache } from './file-handle-cache.ts';
import type { SegmentFiles, SegmentWriter } from './segment-files.ts';
import { segmentFileName } from './segment-format.ts';

const suffix = '.wal';
/** The WAL's sync point file is the WAL directory's path with this suffix (beside it). */
export const syncPointSuffix = '-sync-point';
const dsyncCreateFlags =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC;
const syncPointFlags = constants.O_WRONLY | constants.O_CREAT | constants.O_DSYNC;

export type OpenFile = (path: string, flags: string | number) => Promise<FileHandle>;

export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class DirectorySegmentFiles implements SegmentFiles {
  readonly #directory: string;
  readonly #readers: FileHandleCache;
  readonly #open: OpenFile;
  #syncPoint: Promise<FileHandle> | undefined;

  constructor(directory: string, maxOpenFiles = 16, openFile: OpenFile = open) {
    this.#directory = directory;
    this.#readers = new FileHandleCache(maxOpenFiles);
    this.#open = openFile;
  }

  async list(): Promise<number[]> {
    await mkdir(this.#directory, { recursive: true });
    const names = await readdir(this.#directory);
    return names
      .filter((name) => /^\d{20}\.wal$/.test(name))
      .map((name) => Number(name.slice(0, 20)))
      .toSorted((a, b) => a - b);
  }

  /**
   * The new segment is opened O_DSYNC: each write returns once its bytes are durable, as a write
   * followed by fdatasync would, but in one thread-pool round trip instead of two (the group
   * commit waits for both, and on a busy machine each hand-off to a pool thread costs a wake-up).
   * So `sync` has nothing left to do.
   */
  async create(segmentId: number): Promise<SegmentWriter> {
    await mkdir(this.#directory, { recursive: true });
    const handle = await this.#open(this.pathOf(segmentId), dsyncCreateFlags);
    try {
      await syncDirectory(this.#directory);
    } catch (error: unknown) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    return writerOf(handle, () => Promise.resolve());
  }

  async openForWrite(segmentId: number): Promise<SegmentWriter> {
    const handle = await this.#open(this.pathOf(segmentId), 'r+');
    return writerOf(handle, () => handle.datasync());
  }

  /** One O_DSYNC write of the whole (fixed-size) file at 0: it never changes length. */
  async writeSyncPoint(bytes: Buffer): Promise<void> {
    this.#syncPoint ??= this.#openSyncPoint();
    const pending = this.#syncPoint;
    pending.catch(() => {
      if (this.#syncPoint === pending) this.#syncPoint = undefined;
    });
    const handle = await pending;
    await handle.write(bytes, 0, bytes.length, 0);
  }

  async readSyncPoint(): Promise<Buffer | undefined> {
    try {
      return await readFile(this.#directory + syncPointSuffix);
    } catch (error: unknown) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async #openSyncPoint(): Promise<FileHandle> {
    await mkdir(this.#directory, { recursive: true });
    const handle = await this.#open(this.#directory + syncPointSuffix, syncPointFlags);
    await syncDirectory(dirname(this.#directory));
    return handle;
  }

  readAll(segmentId: number): Promise<Buffer> {
    return readFile(this.pathOf(segmentId));
  }

  read(segmentId: number, position: number, length: number): Promise<Buffer> {
    return this.#readers.read(this.pathOf(segmentId), position, length);
  }

  async truncate(segmentId: number, length: number): Promise<void> {
    const path = this.pathOf(segmentId);
    await this.#readers.forget(path);
    await truncate(path, length);
    const handle = await open(path, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async remove(segmentId: number): Promise<void> {
    await this.forget(segmentId);
    await rm(this.pathOf(segmentId), { force: true });
    await syncDirectory(this.#directory);
  }

  forget(segmentId: number): Promise<void> {
    return this.#readers.forget(this.pathOf(segmentId));
  }

  pathOf(segmentId: number): string {
    return join(this.#directory, segmentFileName(segmentId, suffix));
  }

  async close(): Promise<void> {
    const syncPoint = this.#syncPoint;
    this.#syncPoint = undefined;
    await (await syncPoint?.catch(() => undefined))?.close();
    await this.#readers.close();
  }
}

function writerOf(handle: FileHandle, sync: () => Promise<void>): SegmentWriter {
  return {
    async writev(buffers, position) {
      // Usually one call writes everything; only a partial write builds a new list.
      let remaining = buffers;
      let at = position;
      let left = 0;
      for (const buffer of buffers) left += buffer.length;
      while (left > 0) {
        const { bytesWritten } = await handle.writev(remaining, at);
        at += bytesWritten;
        left -= bytesWritten;
        if (left > 0) remaining = skipBytes(remaining, bytesWritten);
      }
    },
    sync,
    close: () => handle.close(),
  };
}

/** The buffers left after the first `count` bytes were written (writev may write partially). */
function skipBytes(buffers: readonly Buffer[], count: number): Buffer[] {
  const rest: Buffer[] = [];
  let skip = count;
  for (const buffer of buffers) {
    if (skip >= buffer.length) {
      skip -= buffer.length;
      continue;
    }
    rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
    skip = 0;
  }
  return rest;
}
