/**
 * Durability probes for the WAL contract (issue 13, point 6): they watch the files under a WAL
 * and record, per segment, how many durable operations ran and how far the bytes are durable,
 * so a test can check "one durable operation per write group" and "no append resolves before
 * its bytes are durable".
 *
 * For real files the truth comes from the kernel: a write counts as durable only if the file
 * descriptor it went through has O_DSYNC set (read from /proc/self/fdinfo, not from the flags
 * the code meant to pass), or once an fdatasync/fsync on that descriptor returned. Removing the
 * O_DSYNC flag from DirectorySegmentFiles makes the probe see no durable operation at all.
 */
import { constants, readFileSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { OpenFile } from '../directory-segment-files.ts';
import { MemorySegmentFiles } from '../memory-segment-files.ts';
import type { SegmentWriter } from '../segment-files.ts';

export interface DurabilityProbe {
  /** Durable operations (O_DSYNC writes, fdatasync/fsync, memory syncs) on the segment so far. */
  durableOps(segmentId: number): number;
  /** End of the segment's bytes known to be durable. */
  durableEnd(segmentId: number): number;
}

class SegmentRecords implements DurabilityProbe {
  readonly #ops = new Map<number, number>();
  readonly #durable = new Map<number, number>();

  durableOps(segmentId: number): number {
    return this.#ops.get(segmentId) ?? 0;
  }

  durableEnd(segmentId: number): number {
    return this.#durable.get(segmentId) ?? 0;
  }

  markDurable(segmentId: number, end: number): void {
    this.#ops.set(segmentId, this.durableOps(segmentId) + 1);
    this.#durable.set(segmentId, Math.max(this.durableEnd(segmentId), end));
  }
}

/** The open-file-status flags the kernel holds for `fd` (octal "flags:" of fdinfo). */
export function kernelFileFlags(fd: number): number {
  const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  const match = /^flags:\s+([0-7]+)$/m.exec(info);
  if (match === null) throw new Error(`no flags in /proc/self/fdinfo/${fd}`);
  return Number.parseInt(match[1] ?? '0', 8);
}

/** `open` for DirectorySegmentFiles that reports durable writes of `<id>.wal` files. */
export function probedOpen(): { openFile: OpenFile; probe: DurabilityProbe } {
  const records = new SegmentRecords();
  const openFile: OpenFile = async (path, flags) => {
    const handle = await open(path, flags);
    const match = /^(\d{20})\.wal$/.exec(basename(path));
    if (match === null) return handle;
    return watched(handle, Number(match[1]), records);
  };
  return { openFile, probe: records };
}

function watched(handle: FileHandle, segmentId: number, records: SegmentRecords): FileHandle {
  const dsync = (kernelFileFlags(handle.fd) & constants.O_DSYNC) !== 0;
  let writtenEnd = 0;
  const writev = async (buffers: NodeJS.ArrayBufferView[], position?: number | null) => {
    const result = await handle.writev(buffers, position ?? undefined);
    writtenEnd = Math.max(writtenEnd, (position ?? 0) + result.bytesWritten);
    if (dsync) records.markDurable(segmentId, writtenEnd);
    return result;
  };
  const syncing = (sync: () => Promise<void>) => async () => {
    const end = writtenEnd;
    await sync();
    records.markDurable(segmentId, end);
  };
  const datasync = syncing(() => handle.datasync());
  const sync = syncing(() => handle.sync());
  return new Proxy(handle, {
    get(target, property) {
      if (property === 'writev') return writev;
      if (property === 'datasync') return datasync;
      if (property === 'sync') return sync;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** MemorySegmentFiles whose segment syncs are recorded the same way. */
export class ProbedMemorySegmentFiles extends MemorySegmentFiles {
  readonly #records = new SegmentRecords();
  readonly probe: DurabilityProbe = this.#records;

  // create() opens through openForWrite, so this wraps every writer once.
  override async openForWrite(segmentId: number): Promise<SegmentWriter> {
    return this.#wrap(await super.openForWrite(segmentId), segmentId);
  }

  #wrap(writer: SegmentWriter, segmentId: number): SegmentWriter {
    let writtenEnd = 0;
    return {
      writev: async (buffers, position) => {
        await writer.writev(buffers, position);
        let bytes = 0;
        for (const buffer of buffers) bytes += buffer.length;
        writtenEnd = Math.max(writtenEnd, position + bytes);
      },
      sync: async () => {
        const end = writtenEnd;
        await writer.sync();
        this.#records.markDurable(segmentId, end);
      },
      close: () => writer.close(),
    };
  }
}
