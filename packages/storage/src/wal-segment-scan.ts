/**
 * Recovery's reading of one WAL segment (docs/FORMATS.md, "Recovery of the WAL"): the entries
 * it holds, and where a torn tail starts. A bad frame is a torn tail only where no durable data
 * can lie behind it; anything else is corruption and fails with CORRUPT_DATA, naming the segment
 * and byte, so acknowledged data is never skipped silently.
 *
 * Durable data is known two ways: an entry records `syncedPosition` (everything before it was
 * synced when it was written), and the sync point (wal-sync-point.ts) records how far the newest
 * segment was synced when the log last went idle, which covers the last write group too.
 */
import { FrameType, framePrefixBytes, frameVersion, readFrame } from './frame.ts';
import {
  type WalEntryInfo,
  decodeEntryHeader,
  decodeSegmentHeader,
  entryBatchOffsetOf,
} from './segment-format.ts';
import { StorageError } from './storage-error.ts';
import type { WalSegmentInfo } from './write-ahead-log.ts';

/** What recovery cut off the end of a segment, for the log line and the counters. */
export interface TornTail {
  segmentId: number;
  /** Where the cut was made (the first bad byte). */
  position: number;
  bytes: number;
  /** Records named by the damaged entry headers in the cut (unverified: their crc failed). */
  records: number;
  reason: string;
}

export interface SegmentScan extends WalSegmentInfo {
  /** Set when the segment ends with a torn tail, to be cut at `tornTail.position`. */
  tornTail?: TornTail;
}

/**
 * Reads a segment's entries. Returns undefined for a last segment whose header never became
 * durable (created just before a crash). Throws CORRUPT_DATA for damage inside durable data.
 * `durableEnd`: for the last segment, the byte position it is known to have been synced to
 * (0 when unknown); a segment shorter than that, or damaged before it, is corrupt.
 */
export function scanSegment(
  segmentId: number,
  data: Buffer,
  isLast: boolean,
  durableEnd = 0,
): SegmentScan | undefined {
  const header = readFrame(data, 0);
  if (header.kind !== 'frame' || header.type !== FrameType.segmentHeader) {
    if (isLast && durableEnd === 0) return undefined;
    throw corrupt(segmentId, 0, 'bad segment header');
  }
  if (decodeSegmentHeader(header.body).segmentId !== segmentId) {
    throw corrupt(segmentId, 0, 'segment header names another segment');
  }
  const entries: WalEntryInfo[] = [];
  let position = header.end;
  for (;;) {
    const frame = readFrame(data, position);
    if (frame.kind === 'end') {
      if (isLast && position < durableEnd) {
        throw corrupt(segmentId, position, `the file ends before byte ${durableEnd}, synced`);
      }
      break;
    }
    if (frame.kind === 'torn') {
      checkTornTail(segmentId, data, position, { isLast, durableEnd }, frame.reason);
      if (!isLast) break;
      const tornTail = {
        segmentId,
        position,
        bytes: data.length - position,
        records: recordsNamedAfter(data, position),
        reason: frame.reason,
      };
      return { segmentId, entries, endPosition: position, tornTail };
    }
    // A trailer (index) on a segment not yet recorded as an object: it is rewritten on sealing.
    if (frame.type === FrameType.objectIndex) break;
    if (frame.type !== FrameType.walEntry) throw corrupt(segmentId, position, 'unexpected frame');
    entries.push(entryOf(segmentId, position, frame.version, frame.body, frame.end));
    position = frame.end;
  }
  return { segmentId, entries, endPosition: position };
}

function entryOf(
  segmentId: number,
  position: number,
  version: number,
  body: Buffer,
  end: number,
): WalEntryInfo {
  const fields = decodeEntryHeader(body, version);
  const batchOffset = entryBatchOffsetOf(version);
  return {
    topicId: fields.topicId,
    partition: fields.partition,
    baseOffset: fields.baseOffset,
    lastOffsetDelta: fields.lastOffsetDelta,
    maxTimestamp: fields.maxTimestamp,
    recordCount: fields.recordCount,
    producerId: fields.producerId,
    producerEpoch: fields.producerEpoch,
    baseSequence: fields.baseSequence,
    txn: fields.txn,
    entryVersion: version,
    segmentId,
    position: position + batchOffset,
    sizeBytes: end - position - batchOffset,
  };
}

/** True for a segment whose header is missing or torn, or with nothing but zeros after it. */
export function holdsNoEntries(data: Buffer): boolean {
  const header = readFrame(data, 0);
  if (header.kind !== 'frame' || header.type !== FrameType.segmentHeader) return true;
  return isAllZero(data, header.end);
}

function checkTornTail(
  segmentId: number,
  data: Buffer,
  position: number,
  segment: { isLast: boolean; durableEnd: number },
  reason: string,
): void {
  if (!segment.isLast) {
    // A sealed segment was fully synced before the next one began; only a trailer written
    // later may be torn: a short prefix, an index frame, or zeros from an extended file.
    if (data.length - position < framePrefixBytes) return;
    if (data[position + 9] === FrameType.objectIndex) return;
    if (isAllZero(data, position)) return;
    throw corrupt(segmentId, position, reason);
  }
  if (position < segment.durableEnd) {
    throw corrupt(
      segmentId,
      position,
      `${reason}; the sync point says bytes up to ${segment.durableEnd} were synced`,
    );
  }
  const provenDurable = durableEntryAfter(data, position);
  if (provenDurable !== undefined) {
    throw corrupt(
      segmentId,
      position,
      `${reason}; the entry at ${provenDurable} proves this data was synced`,
    );
  }
}

/**
 * Sum of the record counts in the entry headers found by following frame lengths from
 * `position` (the first is the damaged one; none is verified). Only for the log line.
 */
function recordsNamedAfter(data: Buffer, position: number): number {
  const recordCountAt = framePrefixBytes + 40;
  let records = 0;
  for (let at = position; at + recordCountAt + 4 <= data.length;) {
    const length = data.readUInt32BE(at);
    const version = data[at + 8] ?? 0;
    if (length < 2 || data[at + 9] !== FrameType.walEntry) break;
    if (version < 1 || version > frameVersion) break;
    records += Math.max(0, data.readInt32BE(at + recordCountAt));
    at += 8 + length;
  }
  return records;
}

/** Position of a valid entry after `position` written after data past `position` was synced. */
function durableEntryAfter(data: Buffer, position: number): number | undefined {
  let first: number | undefined;
  for (let version = 1; version <= frameVersion; version++) {
    const found = durableEntryOfVersion(data, position, version);
    if (found !== undefined && (first === undefined || found < first)) first = found;
  }
  return first;
}

function durableEntryOfVersion(
  data: Buffer,
  position: number,
  version: number,
): number | undefined {
  const marker = Buffer.from([version, FrameType.walEntry]);
  let search = position + 1 + 8;
  for (;;) {
    const found = data.indexOf(marker, search);
    if (found < 0) return undefined;
    const candidate = found - 8;
    const frame = readFrame(data, candidate);
    if (
      frame.kind === 'frame' &&
      frame.version === version &&
      frame.body.length >= entryBatchOffsetOf(version) - framePrefixBytes
    ) {
      if (decodeEntryHeader(frame.body, version).syncedPosition > position) return candidate;
    }
    search = found + 1;
  }
}

function isAllZero(data: Buffer, from: number): boolean {
  for (let i = from; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}

function corrupt(segmentId: number, position: number, reason: string): StorageError {
  return new StorageError(
    'CORRUPT_DATA',
    `WAL segment ${segmentId} is corrupt at byte ${position} (${reason}); refusing to open ` +
      'because acknowledged data may be lost — restore the segment or remove it by hand',
  );
}
