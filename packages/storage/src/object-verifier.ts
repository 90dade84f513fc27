/**
 * Checks a sealed object's bytes the way a reader relies on them (docs/FORMATS.md section 4):
 * the footer frame, the index frame it points to, and the crc32c of every entry frame the index
 * lists. Used after each upload (the object is read back from the store) and by `tributary
 * doctor`. Never throws for damage: the verdict lists it, so callers can report every damaged
 * batch with its partition and offsets instead of stopping at the first.
 */
import type { FileHandle } from 'node:fs/promises';
import { FrameType, readFrame } from './frame.ts';
import {
  type WalEntryInfo,
  decodeObjectFooter,
  decodeObjectIndex,
  batchEndOf,
  frameStartOf,
  footerFrameBytes,
} from './segment-format.ts';

/** Entries checked between pauses, so verifying a big object does not hold the event loop. */
const entriesPerSlice = 2048;
/**
 * Bytes of an object file read at a time by verifyObjectFile, into one buffer its caller keeps.
 * Reading each 64 MiB object into a fresh buffer cost more than checking it: about 50 ms of CPU
 * per object for the kernel to map and fill new pages, against 13 ms into pages already mapped
 * (the checksums take 19 ms). Producing 1 KiB records flat out, the thread pool's CPU per GB
 * fell from about 0.95 to 0.55 s with the window.
 */
export const objectVerifyWindowBytes = 8 * 1024 * 1024;

export interface DamagedBatch {
  readonly entry: WalEntryInfo;
  /** Byte position of the entry frame in the object. */
  readonly framePosition: number;
  readonly reason: string;
}

export interface ObjectVerdict {
  /** The index's entries; empty when the trailer is unreadable. */
  readonly entries: readonly WalEntryInfo[];
  readonly damaged: readonly DamagedBatch[];
  /** Set when the footer or index is damaged: no batch of the object can be located. */
  readonly trailerProblem: string | undefined;
}

export async function verifyObject(
  data: Buffer,
  segmentId: number,
  pause: () => Promise<void> = () => Promise.resolve(),
): Promise<ObjectVerdict> {
  let entries: WalEntryInfo[];
  try {
    if (data.length < footerFrameBytes) throw new Error('shorter than an object footer');
    const footerAt = data.length - footerFrameBytes;
    const { indexPosition } = decodeObjectFooter(data.subarray(footerAt));
    if (indexPosition > footerAt) throw new Error(`index position ${indexPosition} past the end`);
    entries = decodeObjectIndex(data.subarray(indexPosition, footerAt), segmentId);
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    return { entries: [], damaged: [], trailerProblem: reason };
  }
  const damaged: DamagedBatch[] = [];
  for (let from = 0; from < entries.length; from += entriesPerSlice) {
    if (from > 0) await pause();
    const to = Math.min(entries.length, from + entriesPerSlice);
    for (let i = from; i < to; i++) {
      const entry = entries[i] as WalEntryInfo;
      const problem = entryFrameProblem(data, entry);
      if (problem !== undefined) {
        damaged.push({ entry, framePosition: frameStartOf(entry), reason: problem });
      }
    }
  }
  return { entries, damaged, trailerProblem: undefined };
}

/**
 * verifyObject over an object file, read `window.length` bytes at a time into `window` (a
 * buffer the caller reuses from object to object) rather than whole: the same verdict, without
 * mapping new memory the size of the object for every check. An entry larger than the window is
 * read into a buffer of its own.
 */
export async function verifyObjectFile(
  file: FileHandle,
  segmentId: number,
  window: Buffer,
): Promise<ObjectVerdict> {
  let entries: WalEntryInfo[];
  let size: number;
  try {
    size = (await file.stat()).size;
    if (size < footerFrameBytes) throw new Error('shorter than an object footer');
    const footerAt = size - footerFrameBytes;
    const footer = await readAt(file, Buffer.allocUnsafe(footerFrameBytes), footerAt);
    const { indexPosition } = decodeObjectFooter(footer);
    if (indexPosition > footerAt) throw new Error(`index position ${indexPosition} past the end`);
    const index = await readAt(file, Buffer.allocUnsafe(footerAt - indexPosition), indexPosition);
    entries = decodeObjectIndex(index, segmentId);
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    return { entries: [], damaged: [], trailerProblem: reason };
  }
  const damaged: DamagedBatch[] = [];
  // The window holds the object's bytes from `windowStart` on; entries come in position order,
  // so each read serves every entry that fits in it.
  let windowStart = 0;
  let held = window.subarray(0, 0);
  for (const entry of entries) {
    const frameStart = frameStartOf(entry);
    const batchEnd = batchEndOf(entry);
    let problem: string | undefined;
    if (frameStart < 0 || batchEnd > size) {
      problem = 'the index points past the object';
    } else if (batchEnd - frameStart > window.length) {
      const own = await readAt(file, Buffer.allocUnsafe(batchEnd - frameStart), frameStart);
      problem = frameProblem(own, 0, batchEnd - frameStart);
    } else {
      if (frameStart < windowStart || batchEnd > windowStart + held.length) {
        windowStart = frameStart;
        held = await readAt(
          file,
          window.subarray(0, Math.min(window.length, size - frameStart)),
          frameStart,
        );
      }
      problem = frameProblem(held, frameStart - windowStart, batchEnd - windowStart);
    }
    if (problem !== undefined) {
      damaged.push({ entry, framePosition: frameStart, reason: problem });
    }
  }
  return { entries, damaged, trailerProblem: undefined };
}

/** Fills `into` from `position` of `file`; the part filled (shorter at the end of the file). */
async function readAt(file: FileHandle, into: Buffer, position: number): Promise<Buffer> {
  let filled = 0;
  while (filled < into.length) {
    const { bytesRead } = await file.read(into, filled, into.length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return into.subarray(0, filled);
}

/** Why the entry frame holding `entry`'s batch is not intact, or undefined when it is. */
export function entryFrameProblem(data: Buffer, entry: WalEntryInfo): string | undefined {
  const frameStart = frameStartOf(entry);
  const batchEnd = batchEndOf(entry);
  if (frameStart < 0 || batchEnd > data.length) return 'the index points past the object';
  return frameProblem(data, frameStart, batchEnd);
}

/** Why the entry frame at `frameStart` of `data`, ending at `batchEnd`, is not intact. */
function frameProblem(data: Buffer, frameStart: number, batchEnd: number): string | undefined {
  const frame = readFrame(data.subarray(0, batchEnd), frameStart);
  if (frame.kind !== 'frame') return frame.kind === 'torn' ? frame.reason : 'missing frame';
  if (frame.type !== FrameType.walEntry) return `frame type ${frame.type}, not an entry`;
  if (frame.end !== batchEnd) return 'frame length disagrees with the index';
  return undefined;
}
