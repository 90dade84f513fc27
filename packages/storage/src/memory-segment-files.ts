/**
 * MemorySegmentFiles: WAL segments held in memory, for tests. `crash()` simulates a power loss:
 * every byte written since the last sync of its segment is lost (possibly partially, when a
 * `keepUnsyncedBytes` hook says so), which is the failure kill -9 alone cannot show.
 */
import type { SegmentFiles, SegmentWriter } from './segment-files.ts';

interface MemorySegment {
  data: Buffer;
  length: number;
  syncedLength: number;
}

export class MemorySegmentFiles implements SegmentFiles {
  readonly #segments = new Map<number, MemorySegment>();
  /** The sync point; memory writes of it are durable at once (it is rewritten whole). */
  #syncPoint: Buffer | undefined;

  writeSyncPoint(bytes: Buffer): Promise<void> {
    this.#syncPoint = Buffer.from(bytes);
    return Promise.resolve();
  }

  readSyncPoint(): Promise<Buffer | undefined> {
    return Promise.resolve(this.#syncPoint);
  }

  list(): Promise<number[]> {
    return Promise.resolve([...this.#segments.keys()].toSorted((a, b) => a - b));
  }

  create(segmentId: number): Promise<SegmentWriter> {
    if (this.#segments.has(segmentId)) {
      return Promise.reject(new Error(`segment ${segmentId} exists`));
    }
    this.#segments.set(segmentId, { data: Buffer.alloc(0), length: 0, syncedLength: 0 });
    return this.openForWrite(segmentId);
  }

  openForWrite(segmentId: number): Promise<SegmentWriter> {
    const segment = this.#get(segmentId);
    return Promise.resolve({
      writev: (buffers, position) => {
        writeAt(segment, Buffer.concat(buffers), position);
        return Promise.resolve();
      },
      sync: () => {
        segment.syncedLength = segment.length;
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    });
  }

  readAll(segmentId: number): Promise<Buffer> {
    const segment = this.#get(segmentId);
    return Promise.resolve(Buffer.from(segment.data.subarray(0, segment.length)));
  }

  read(segmentId: number, position: number, length: number): Promise<Buffer> {
    const segment = this.#get(segmentId);
    const end = Math.min(segment.length, position + length);
    return Promise.resolve(Buffer.from(segment.data.subarray(position, Math.max(position, end))));
  }

  /** A missing segment rejects (as a file system call would), it does not throw. */
  async truncate(segmentId: number, length: number): Promise<void> {
    const segment = this.#get(segmentId);
    segment.length = Math.min(segment.length, length);
    segment.syncedLength = segment.length;
  }

  remove(segmentId: number): Promise<void> {
    this.#segments.delete(segmentId);
    return Promise.resolve();
  }

  forget(): Promise<void> {
    return Promise.resolve();
  }

  pathOf(): undefined {
    return undefined;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Power loss: drop unsynced bytes (keeping `keepUnsyncedBytes` of them, to model a torn write). */
  crash(keepUnsyncedBytes: (segmentId: number, unsynced: number) => number = () => 0): void {
    for (const [segmentId, segment] of this.#segments) {
      const unsynced = segment.length - segment.syncedLength;
      const keep = Math.max(0, Math.min(unsynced, keepUnsyncedBytes(segmentId, unsynced)));
      segment.length = segment.syncedLength + keep;
      segment.syncedLength = segment.length;
    }
  }

  /** Test hook: corrupts one byte of a segment. */
  flipByte(segmentId: number, position: number): void {
    const segment = this.#get(segmentId);
    segment.data[position] = (segment.data[position] ?? 0) ^ 0xff;
  }

  #get(segmentId: number): MemorySegment {
    const segment = this.#segments.get(segmentId);
    if (segment === undefined) {
      throw Object.assign(new Error(`no segment ${segmentId}`), { code: 'ENOENT' });
    }
    return segment;
  }
}

function writeAt(segment: MemorySegment, bytes: Buffer, position: number): void {
  const end = position + bytes.length;
  if (end > segment.data.length) {
    const grown = Buffer.alloc(Math.max(end, segment.data.length * 2));
    segment.data.copy(grown, 0, 0, segment.length);
    segment.data = grown;
  }
  bytes.copy(segment.data, position);
  segment.length = Math.max(segment.length, end);
}
