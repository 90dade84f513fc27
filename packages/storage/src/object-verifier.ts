/**
 * Checks a sealed object's bytes the way a reader relies on them (docs/FORMATS.md section 4):
 * the footer frame, the index frame it points to, and the crc32c of every entry frame the index
 * lists. Used after each upload (the object is read back from the store) and by `tributary
 * doctor`. Never throws for damage: the verdict lists it, so callers can report every damaged
 * batch with its partition and offsets instead of stopping at the first.
 */
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

/** Why the entry frame holding `entry`'s batch is not intact, or undefined when it is. */
export function entryFrameProblem(data: Buffer, entry: WalEntryInfo): string | undefined {
  const frameStart = frameStartOf(entry);
  const batchEnd = batchEndOf(entry);
  if (frameStart < 0 || batchEnd > data.length) return 'the index points past the object';
  const frame = readFrame(data.subarray(0, batchEnd), frameStart);
  if (frame.kind !== 'frame') return frame.kind === 'torn' ? frame.reason : 'missing frame';
  if (frame.type !== FrameType.walEntry) return `frame type ${frame.type}, not an entry`;
  if (frame.end !== batchEnd) return 'frame length disagrees with the index';
  return undefined;
}
