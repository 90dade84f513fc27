/**
 * Framing shared by every durable byte format (docs/FORMATS.md):
 *
 *   [u32 length][u32 crc32c][u8 version][u8 type][body]
 *
 * `length` counts the bytes after the crc field (version, type and body); the crc32c covers those
 * same bytes. All integers are big-endian. A reader that finds a short or mismatching frame gets
 * a typed result, never an exception, so recovery can tell a torn tail from corruption.
 */
import { crc32c } from '@node-rs/crc32';
import { crc32cCombine } from './crc32c-combine.ts';

/** Version written now. Version 1 bodies (no producer fields) are still read. */
export const frameVersion = 2;
const oldestFrameVersion = 1;
export const framePrefixBytes = 10;
/** Upper bound on one frame, so a corrupt length cannot make a reader allocate without bound. */
export const frameMaxBytes = 0x7fff_ffff;

export const FrameType = {
  segmentHeader: 1,
  walEntry: 2,
  objectIndex: 3,
  objectFooter: 4,
  /** The WAL's sync point file (wal-sync-point.ts), never inside a segment. */
  syncPoint: 5,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Returns the frame as buffers ready for writev: a 10-byte prefix followed by `parts` as given. */
export function encodeFrame(type: FrameType, parts: readonly Buffer[]): Buffer[] {
  const prefix = Buffer.allocUnsafe(framePrefixBytes);
  let bodyBytes = 0;
  for (const part of parts) bodyBytes += part.length;
  prefix.writeUInt32BE(bodyBytes + 2, 0);
  prefix.writeUInt8(frameVersion, 8);
  prefix.writeUInt8(type, 9);
  let crc = crc32c(prefix.subarray(8, 10));
  for (const part of parts) crc = crc32c(part, crc);
  prefix.writeUInt32BE(crc >>> 0, 4);
  return [prefix, ...parts];
}

/**
 * Completes a frame whose prefix and first body bytes sit at `target[offset..offset + headBytes)`
 * and whose remaining body is `tail` (written after it as its own buffer, never copied): fills in
 * length, version, type and the crc32c over version, type, head body and tail. Same bytes as
 * encodeFrame(type, [head body, tail]). When the caller already knows `tailSuffixCrc`, the
 * crc32c of `tail` from `tailSuffixStart` on, those bytes are not read again.
 */
export function sealFrameHead(
  target: Buffer,
  offset: number,
  headBytes: number,
  type: FrameType,
  tail: Buffer,
  tailSuffixStart = tail.length,
  tailSuffixCrc = 0,
): void {
  target.writeUInt32BE(headBytes - 8 + tail.length, offset);
  target[offset + 8] = frameVersion;
  target[offset + 9] = type;
  let crc = crc32c(target.subarray(offset + 8, offset + headBytes));
  if (tailSuffixStart >= tail.length) {
    crc = crc32c(tail, crc);
  } else {
    crc = crc32c(tail.subarray(0, tailSuffixStart), crc);
    crc = crc32cCombine(crc, tailSuffixCrc, tail.length - tailSuffixStart);
  }
  target.writeUInt32BE(crc >>> 0, offset + 4);
}

export function encodeFrameBuffer(type: FrameType, body: Buffer): Buffer {
  return Buffer.concat(encodeFrame(type, [body]));
}

export type FrameReadResult =
  | { kind: 'frame'; type: number; version: number; body: Buffer; end: number }
  | { kind: 'end' }
  | { kind: 'torn'; reason: string };

/**
 * Reads the frame starting at `position` in `data`. 'end' means position is exactly the end of
 * data; 'torn' means the bytes there are not a whole valid frame (short, bad length, bad crc or
 * unknown version) — whether that is a torn tail or corruption is the caller's decision.
 */
export function readFrame(data: Buffer, position: number): FrameReadResult {
  if (position === data.length) return { kind: 'end' };
  if (data.length - position < framePrefixBytes) return { kind: 'torn', reason: 'short prefix' };
  const length = data.readUInt32BE(position);
  if (length < 2 || length > frameMaxBytes) return { kind: 'torn', reason: `bad length ${length}` };
  const end = position + 8 + length;
  if (end > data.length) return { kind: 'torn', reason: 'short frame' };
  const covered = data.subarray(position + 8, end);
  if (crc32c(covered) >>> 0 !== data.readUInt32BE(position + 4)) {
    return { kind: 'torn', reason: 'crc mismatch' };
  }
  const version = data.readUInt8(position + 8);
  if (version < oldestFrameVersion || version > frameVersion) {
    return { kind: 'torn', reason: `unknown version ${version}` };
  }
  const type = data.readUInt8(position + 9);
  return { kind: 'frame', type, version, body: covered.subarray(2), end };
}

/**
 * Whether `data` holds an intact WAL entry frame from `frameStart` to exactly `frameEnd` (how a
 * read of stored batches checks each batch: the frame's crc32c covers the batch bytes).
 */
export function walEntryFrameIntact(data: Buffer, frameStart: number, frameEnd: number): boolean {
  const frame = readFrame(data.subarray(0, frameEnd), frameStart);
  return frame.kind === 'frame' && frame.type === FrameType.walEntry && frame.end === frameEnd;
}
