/**
 * Byte layouts of WAL segments and of the objects they become (docs/FORMATS.md, "WAL segment" and
 * "Object"). A segment is a header frame followed by entry frames; sealing appends an index frame
 * and a fixed-size footer frame, after which the file is an object. Positions are u32: a segment
 * is capped below 2 GiB (walSegmentMaxBytes).
 */
import {
  FrameType,
  encodeFrame,
  encodeFrameBuffer,
  framePrefixBytes,
  readFrame,
  sealFrameHead,
} from './frame.ts';
import { StorageError } from './storage-error.ts';
import { type TopicId, type TxnFields, topicIdBytes, topicIdFromBytes } from './types.ts';

export const segmentMagic = Buffer.from('TRBW', 'latin1');
export const objectMagic = Buffer.from('TRBO', 'latin1');
/** Entry header of frame version 2 (version 1: 48 bytes, no producer fields). */
export const entryHeaderBytes = 64;
const entryHeaderBytesV1 = 48;
/** Offset of the batch bytes from the start of an entry frame written now (version 2). */
export const entryBatchOffset = framePrefixBytes + entryHeaderBytes;
/** Record batch v2: where its CRC32C field is and where the bytes it covers start. */
const batchCrcOffset = 17;
const batchCrcCoveredFrom = 21;
/** A topic id's base64url form: 16 bytes, unpadded. */
const topicIdChars = 22;
const indexRecordBytes = 72;
const indexRecordBytesV1 = 56;
/**
 * The txnFlags byte (WAL entry header byte 62, index record byte 67; formerly reserved, written
 * 0). Zero means "not recorded", which is what entries written before these flags say.
 */
const txnRecorded = 0x01;
const txnTransactional = 0x02;
const txnControl = 0x04;
/** controlType byte value for "unknown / not a control batch". */
const controlTypeNone = 0xff;
const plainTxnFields: TxnFields = Object.freeze({
  transactional: false,
  control: false,
  controlType: -1,
});
const transactionalTxnFields: TxnFields = Object.freeze({
  transactional: true,
  control: false,
  controlType: -1,
});

/**
 * A DataView over `buffer`, for 64-bit fields: its BigInt accessors are compiled intrinsics,
 * while Buffer#writeBigInt64BE splits the value with BigInt arithmetic that allocates (garbage
 * on the append path). Same big-endian bytes.
 */
export function viewOf(buffer: Buffer): DataView {
  return new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Offset of the batch bytes from the start of an entry frame of `version`. */
export function entryBatchOffsetOf(version: number): number {
  return framePrefixBytes + (version === 1 ? entryHeaderBytesV1 : entryHeaderBytes);
}

/** Where the entry frame holding a batch stored at `position` (its batch bytes) starts. */
export function frameStartOf(entry: {
  readonly position: number;
  readonly entryVersion: number;
}): number {
  return entry.position - entryBatchOffsetOf(entry.entryVersion);
}

/** Where a stored batch (and the entry frame holding it) ends. */
export function batchEndOf(entry: { readonly position: number; readonly sizeBytes: number }) {
  return entry.position + entry.sizeBytes;
}
const footerBodyBytes = 16;
export const footerFrameBytes = framePrefixBytes + footerBodyBytes;

/** Where one batch lives: in segment `segmentId` at byte `position`, `sizeBytes` long. */
export interface WalEntryInfo {
  topicId: TopicId;
  partition: number;
  baseOffset: bigint;
  lastOffsetDelta: number;
  maxTimestamp: bigint;
  recordCount: number;
  /** Idempotent-producer numbers from the batch header, stored opaquely; -1 when absent. */
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  /** Transaction flags stored with the batch (BatchMeta.txn); undefined when not recorded. */
  txn: TxnFields | undefined;
  /** Frame version of the entry (1 or 2): where its batch starts inside the frame. */
  entryVersion: number;
  segmentId: number;
  position: number;
  sizeBytes: number;
}

export function segmentFileName(segmentId: number, suffix: string): string {
  return `${String(segmentId).padStart(20, '0')}${suffix}`;
}

export function encodeSegmentHeader(segmentId: number, createdAtMs: number): Buffer {
  const body = Buffer.alloc(20);
  segmentMagic.copy(body, 0);
  body.writeBigUInt64BE(BigInt(segmentId), 4);
  body.writeBigInt64BE(BigInt(createdAtMs), 12);
  return encodeFrameBuffer(FrameType.segmentHeader, body);
}

export function decodeSegmentHeader(body: Buffer): { segmentId: number; createdAtMs: number } {
  if (body.length !== 20 || !body.subarray(0, 4).equals(segmentMagic)) {
    throw new StorageError('CORRUPT_DATA', 'bad WAL segment header');
  }
  return {
    segmentId: Number(body.readBigUInt64BE(4)),
    createdAtMs: Number(body.readBigInt64BE(12)),
  };
}

export interface EntryFields {
  topicId: TopicId;
  partition: number;
  baseOffset: bigint;
  lastOffsetDelta: number;
  maxTimestamp: bigint;
  recordCount: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  txn: TxnFields | undefined;
}

/** Writes the txnFlags and controlType bytes (docs/FORMATS.md) at `at` and `at + 1`. */
function writeTxnFields(target: Buffer, at: number, txn: TxnFields | undefined): void {
  if (txn === undefined) {
    target.writeUInt16BE(0, at);
    return;
  }
  let flags = txnRecorded;
  if (txn.transactional) flags |= txnTransactional;
  if (txn.control) flags |= txnControl;
  const type = txn.controlType;
  const storedType = Number.isInteger(type) && type >= 0 && type < controlTypeNone;
  target.writeUInt8(flags, at);
  target.writeUInt8(storedType ? type : controlTypeNone, at + 1);
}

/** Reads the bytes writeTxnFields wrote; shares one object per non-control combination. */
export function readTxnFields(source: Buffer, at: number): TxnFields | undefined {
  const flags = source.readUInt8(at);
  if ((flags & txnRecorded) === 0) return undefined;
  const transactional = (flags & txnTransactional) !== 0;
  if ((flags & txnControl) === 0) return transactional ? transactionalTxnFields : plainTxnFields;
  const type = source.readUInt8(at + 1);
  return { transactional, control: true, controlType: type === controlTypeNone ? -1 : type };
}

/** Entry frame as writev buffers; `syncedPosition` is where durable data ended when written. */
export function encodeEntry(fields: EntryFields, batch: Buffer, syncedPosition: number): Buffer[] {
  const head = Buffer.allocUnsafe(entryBatchOffset);
  writeEntryHead(head, 0, fields, batch, syncedPosition);
  return [head, batch];
}

/**
 * Writes an entry frame's prefix and header (entryBatchOffset bytes) into `target` at `offset`,
 * crc included; the frame is complete once `batch` is written right after it. This lets the WAL
 * put a whole group's heads in one buffer and write each batch as it came, with no copy.
 * `crcChecked` (BatchMeta.crcChecked): the batch's own CRC32C field is known to be right, so the
 * frame crc is derived from it instead of reading the batch again; the bytes are the same.
 */
export function writeEntryHead(
  target: Buffer,
  offset: number,
  fields: EntryFields,
  batch: Buffer,
  syncedPosition: number,
  crcChecked = false,
): void {
  const at = offset + framePrefixBytes;
  const type = FrameType.walEntry;
  // Decoded straight into place: no intermediate buffer per entry.
  const idBytes = target.write(fields.topicId, at, topicIdBytes, 'base64url');
  if (idBytes !== topicIdBytes || fields.topicId.length !== topicIdChars) {
    throw new Error(`bad topic id ${fields.topicId}`);
  }
  const view = viewOf(target);
  target.writeUInt32BE(fields.partition, at + 16);
  view.setBigInt64(at + 20, fields.baseOffset);
  target.writeInt32BE(fields.lastOffsetDelta, at + 28);
  view.setBigInt64(at + 32, fields.maxTimestamp);
  target.writeInt32BE(fields.recordCount, at + 40);
  target.writeUInt32BE(syncedPosition, at + 44);
  view.setBigInt64(at + 48, fields.producerId);
  target.writeInt16BE(fields.producerEpoch, at + 56);
  target.writeInt32BE(fields.baseSequence, at + 58);
  writeTxnFields(target, at + 62, fields.txn);
  if (crcChecked && batch.length >= batchCrcCoveredFrom) {
    const batchCrc = batch.readUInt32BE(batchCrcOffset);
    sealFrameHead(target, offset, entryBatchOffset, type, batch, batchCrcCoveredFrom, batchCrc);
  } else {
    sealFrameHead(target, offset, entryBatchOffset, type, batch);
  }
}

/**
 * Decodes an entry header of frame `version` (1: no producer fields, read as -1, and no
 * transaction flags, read as undefined).
 */
export function decodeEntryHeader(
  body: Buffer,
  version: number,
): EntryFields & { syncedPosition: number } {
  const v1 = version === 1;
  if (body.length < (v1 ? entryHeaderBytesV1 : entryHeaderBytes)) {
    throw new StorageError('CORRUPT_DATA', 'short WAL entry');
  }
  const view = viewOf(body);
  return {
    topicId: topicIdFromBytes(body.subarray(0, 16)),
    partition: body.readUInt32BE(16),
    baseOffset: view.getBigInt64(20),
    lastOffsetDelta: body.readInt32BE(28),
    maxTimestamp: view.getBigInt64(32),
    recordCount: body.readInt32BE(40),
    syncedPosition: body.readUInt32BE(44),
    producerId: v1 ? -1n : view.getBigInt64(48),
    producerEpoch: v1 ? -1 : body.readInt16BE(56),
    baseSequence: v1 ? -1 : body.readInt32BE(58),
    txn: v1 ? undefined : readTxnFields(body, 62),
  };
}

/** Index frame + footer frame appended to a sealed segment to make it an object. */
export function encodeObjectTrailer(
  segmentId: number,
  entries: readonly WalEntryInfo[],
  indexPosition: number,
): Buffer {
  const body = indexBodyFor(entries);
  writeIndexRecords(body, entries, 0, entries.length);
  return Buffer.concat(trailerOf(segmentId, body, indexPosition));
}

/** Index records encoded between two looks at the clock by encodeObjectTrailerInSlices. */
const trailerStepEntries = 128;
/** Event-loop time (ms) one slice of sealing work may take before it pauses. */
const sealSliceMs = 1;

/**
 * Runs `work(from, to)` over `[0, count)` in steps of `step`, awaiting `pause()` whenever
 * `sealSliceMs` of event-loop time went by since the last pause. Timed, not counted: a segment
 * seals every few seconds, so this work often runs before V8 optimized it, ten times slower
 * than it later is.
 */
export async function inTimedSlices(
  count: number,
  step: number,
  pause: () => Promise<void>,
  work: (from: number, to: number) => void,
): Promise<void> {
  let sliceStart = performance.now();
  for (let from = 0; from < count; from += step) {
    if (performance.now() - sliceStart >= sealSliceMs) {
      await pause();
      sliceStart = performance.now();
    }
    work(from, Math.min(count, from + step));
  }
}

/**
 * The same bytes as encodeObjectTrailer, encoded in timed slices (inTimedSlices) with `pause()`
 * awaited between them: sealing a segment of many small batches would otherwise hold the event
 * loop (and every produce and fetch behind it) for tens of milliseconds. The bytes come as
 * buffers for one writev: the index of 60,000 batches is 4 MB, not copied again.
 */
export async function encodeObjectTrailerInSlices(
  segmentId: number,
  entries: readonly WalEntryInfo[],
  indexPosition: number,
  pause: () => Promise<void>,
): Promise<Buffer[]> {
  const body = indexBodyFor(entries);
  await inTimedSlices(entries.length, trailerStepEntries, pause, (from, to) =>
    writeIndexRecords(body, entries, from, to),
  );
  return trailerOf(segmentId, body, indexPosition);
}

function indexBodyFor(entries: readonly WalEntryInfo[]): Buffer {
  const body = Buffer.allocUnsafe(4 + entries.length * indexRecordBytes);
  body.writeUInt32BE(entries.length, 0);
  return body;
}

/** Writes the index records of `entries[from..to)` into their places in `body`. */
function writeIndexRecords(
  body: Buffer,
  entries: readonly WalEntryInfo[],
  from: number,
  to: number,
): void {
  const view = viewOf(body);
  let lastTopicId: string | undefined;
  let lastTopicAt = 0;
  for (let i = from; i < to; i++) {
    const entry = entries[i] as WalEntryInfo;
    const at = 4 + i * indexRecordBytes;
    // Decoded straight into place (a buffer per entry made sealing a big segment block for ms),
    // once per run of one topic's entries: the others copy the bytes decoded for the first.
    if (entry.topicId === lastTopicId) {
      body.copy(body, at, lastTopicAt, lastTopicAt + topicIdBytes);
    } else if (body.write(entry.topicId, at, topicIdBytes, 'base64url') !== topicIdBytes) {
      throw new Error(`bad topic id ${entry.topicId}`);
    } else {
      lastTopicId = entry.topicId;
      lastTopicAt = at;
    }
    body.writeUInt32BE(entry.partition, at + 16);
    view.setBigInt64(at + 20, entry.baseOffset);
    body.writeInt32BE(entry.lastOffsetDelta, at + 28);
    view.setBigInt64(at + 32, entry.maxTimestamp);
    body.writeInt32BE(entry.recordCount, at + 40);
    body.writeUInt32BE(entry.position, at + 44);
    body.writeUInt32BE(entry.sizeBytes, at + 48);
    view.setBigInt64(at + 52, entry.producerId);
    body.writeInt32BE(entry.baseSequence, at + 60);
    body.writeInt16BE(entry.producerEpoch, at + 64);
    body.writeUInt8(entry.entryVersion, at + 66);
    writeTxnFields(body, at + 67, entry.txn);
    body.writeUInt8(0, at + 69);
    body.writeUInt16BE(0, at + 70);
  }
}

/** The index frame (prefix, then the body as given) and the footer frame, for one writev. */
function trailerOf(segmentId: number, indexBody: Buffer, indexPosition: number): Buffer[] {
  const footer = Buffer.alloc(footerBodyBytes);
  objectMagic.copy(footer, 0);
  footer.writeUInt32BE(indexPosition, 4);
  footer.writeBigUInt64BE(BigInt(segmentId), 8);
  return [
    ...encodeFrame(FrameType.objectIndex, [indexBody]),
    encodeFrameBuffer(FrameType.objectFooter, footer),
  ];
}

export function decodeObjectFooter(data: Buffer): { indexPosition: number; segmentId: number } {
  const frame = readFrame(data, 0);
  if (frame.kind !== 'frame' || frame.type !== FrameType.objectFooter) {
    throw new StorageError('CORRUPT_DATA', 'bad object footer');
  }
  if (frame.body.length !== footerBodyBytes || !frame.body.subarray(0, 4).equals(objectMagic)) {
    throw new StorageError('CORRUPT_DATA', 'bad object footer magic');
  }
  return {
    indexPosition: frame.body.readUInt32BE(4),
    segmentId: Number(frame.body.readBigUInt64BE(8)),
  };
}

/** Decodes an object index of frame version 1 (56-byte records) or 2 (72-byte records). */
export function decodeObjectIndex(data: Buffer, segmentId: number): WalEntryInfo[] {
  const frame = readFrame(data, 0);
  if (frame.kind !== 'frame' || frame.type !== FrameType.objectIndex) {
    throw new StorageError('CORRUPT_DATA', `bad object index in segment ${segmentId}`);
  }
  const body = frame.body;
  const v1 = frame.version === 1;
  const recordBytes = v1 ? indexRecordBytesV1 : indexRecordBytes;
  const count = body.readUInt32BE(0);
  if (body.length !== 4 + count * recordBytes) {
    throw new StorageError('CORRUPT_DATA', `bad object index length in segment ${segmentId}`);
  }
  const view = viewOf(body);
  const entries: WalEntryInfo[] = [];
  for (let at = 4; at < body.length; at += recordBytes) {
    entries.push({
      topicId: topicIdFromBytes(body.subarray(at, at + 16)),
      partition: body.readUInt32BE(at + 16),
      baseOffset: view.getBigInt64(at + 20),
      lastOffsetDelta: body.readInt32BE(at + 28),
      maxTimestamp: view.getBigInt64(at + 32),
      recordCount: body.readInt32BE(at + 40),
      segmentId,
      position: body.readUInt32BE(at + 44),
      sizeBytes: body.readUInt32BE(at + 48),
      producerId: v1 ? -1n : view.getBigInt64(at + 52),
      baseSequence: v1 ? -1 : body.readInt32BE(at + 60),
      producerEpoch: v1 ? -1 : body.readInt16BE(at + 64),
      txn: v1 ? undefined : readTxnFields(body, at + 67),
      entryVersion: v1 ? 1 : body.readUInt8(at + 66),
    });
  }
  return entries;
}
