/**
 * Record batch v2 (magic 2) header layout, validation of a Produce request's `records` field and
 * the in-place rewrites the broker makes before appending. This is the produce hot path: nothing
 * here decodes records, allocates per record or copies a batch; batches are subarray views of
 * the request buffer.
 *
 * Invariants: the CRC32C covers bytes ATTRIBUTES_OFFSET..end, so baseOffset, batchLength,
 * partitionLeaderEpoch and magic may be rewritten without touching it; anything from attributes
 * on (LogAppendTime) must recompute it.
 */
import { compressionTypeOf, type CompressionType } from './compression.ts';
import { crc32c } from './crc32c.ts';
import { RecordBatchError, RecordErrorCode, type BatchError } from './record-batch-error.ts';

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORD_COUNT_OFFSET = 57;
export const RECORDS_OFFSET = 61;
export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the bytes before what batchLength counts. */
export const LOG_OVERHEAD = 12;
export const CURRENT_MAGIC = 2;

export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_MASK = 0x10;
export const CONTROL_MASK = 0x20;
export const DELETE_HORIZON_MASK = 0x40;

/** The smallest encoded record: seven one-byte varints and attributes. */
const MIN_RECORD_BYTES = 7;

export interface BatchHeader {
  baseOffset: bigint;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: CompressionType;
  timestampType: 'create' | 'log-append';
  isTransactional: boolean;
  isControl: boolean;
  hasDeleteHorizon: boolean;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/**
 * Reads the fixed header of a v2 batch. Throws RecordBatchError when the buffer is shorter than
 * a header or names an unknown codec; it does not check the CRC (splitBatches does).
 */
export function readBatchHeader(batch: Buffer): BatchHeader {
  if (batch.length < BATCH_HEADER_BYTES) {
    throw new RecordBatchError('CORRUPT_MESSAGE', `batch of ${batch.length} bytes has no header`);
  }
  const attributes = batch.readInt16BE(ATTRIBUTES_OFFSET);
  const compression = compressionTypeOf(attributes & COMPRESSION_CODEC_MASK);
  if (compression === undefined) {
    throw new RecordBatchError('UNSUPPORTED_COMPRESSION', 'unknown compression codec');
  }
  return {
    baseOffset: batch.readBigInt64BE(BASE_OFFSET_OFFSET),
    batchLength: batch.readInt32BE(BATCH_LENGTH_OFFSET),
    partitionLeaderEpoch: batch.readInt32BE(PARTITION_LEADER_EPOCH_OFFSET),
    magic: batch.readInt8(MAGIC_OFFSET),
    crc: batch.readUInt32BE(CRC_OFFSET),
    attributes,
    compression,
    timestampType: (attributes & TIMESTAMP_TYPE_MASK) === 0 ? 'create' : 'log-append',
    isTransactional: (attributes & TRANSACTIONAL_MASK) !== 0,
    isControl: (attributes & CONTROL_MASK) !== 0,
    hasDeleteHorizon: (attributes & DELETE_HORIZON_MASK) !== 0,
    lastOffsetDelta: batch.readInt32BE(LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: batch.readBigInt64BE(BASE_TIMESTAMP_OFFSET),
    maxTimestamp: batch.readBigInt64BE(MAX_TIMESTAMP_OFFSET),
    producerId: batch.readBigInt64BE(PRODUCER_ID_OFFSET),
    producerEpoch: batch.readInt16BE(PRODUCER_EPOCH_OFFSET),
    baseSequence: batch.readInt32BE(BASE_SEQUENCE_OFFSET),
    recordCount: batch.readInt32BE(RECORD_COUNT_OFFSET),
  };
}

/**
 * Splits a Produce request's `records` into v2 batches (views, no copy) and validates each the
 * way Kafka's LogValidator does before anything is appended: sizes, magic, CRC32C, record count
 * against lastOffsetDelta. The first problem rejects the whole partition's data.
 */
export function splitBatches(records: Buffer): { batches: Buffer[] } | { error: BatchError } {
  const batches: Buffer[] = [];
  let position = 0;
  while (position < records.length) {
    const remaining = records.length - position;
    if (remaining < LOG_OVERHEAD) return corruptError(`trailing ${remaining} bytes`);
    const batchLength = records.readInt32BE(position + BATCH_LENGTH_OFFSET);
    if (batchLength < 0 || batchLength > remaining - LOG_OVERHEAD) {
      return corruptError(`batch length ${batchLength} does not fit ${remaining} bytes`);
    }
    const batch = records.subarray(position, position + LOG_OVERHEAD + batchLength);
    const error = batchError(batch);
    if (error !== undefined) return { error };
    batches.push(batch);
    position += batch.length;
  }
  if (batches.length === 0) return corruptError('no record batches');
  return { batches };
}

/** Validates one framed batch (its length already matches batchLength); undefined when valid. */
function batchError(batch: Buffer): BatchError | undefined {
  if (batch.length <= MAGIC_OFFSET) return corrupt(`batch of ${batch.length} bytes`);
  const magic = batch.readInt8(MAGIC_OFFSET);
  if (magic === 0 || magic === 1) {
    return {
      code: RecordErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
      message: `message format v${magic} is not supported; use record batches v2`,
    };
  }
  if (magic !== CURRENT_MAGIC) return corrupt(`unknown magic ${magic}`);
  if (batch.length < BATCH_HEADER_BYTES) return corrupt(`batch of ${batch.length} bytes`);
  const crc = batch.readUInt32BE(CRC_OFFSET);
  if (crc32c(batch.subarray(ATTRIBUTES_OFFSET)) !== crc) return corrupt('CRC32C mismatch');
  const attributes = batch.readInt16BE(ATTRIBUTES_OFFSET);
  const codec = attributes & COMPRESSION_CODEC_MASK;
  if (compressionTypeOf(codec) === undefined) return corrupt(`unknown compression codec ${codec}`);
  const recordCount = batch.readInt32BE(RECORD_COUNT_OFFSET);
  const lastOffsetDelta = batch.readInt32BE(LAST_OFFSET_DELTA_OFFSET);
  if (recordCount <= 0 || lastOffsetDelta !== recordCount - 1) {
    return {
      code: RecordErrorCode.INVALID_RECORD,
      message: `record count ${recordCount} does not match last offset delta ${lastOffsetDelta}`,
    };
  }
  if (codec === 0 && recordCount > (batch.length - BATCH_HEADER_BYTES) / MIN_RECORD_BYTES) {
    return corrupt(`record count ${recordCount} cannot fit in ${batch.length} bytes`);
  }
  return undefined;
}

function corrupt(message: string): BatchError {
  return { code: RecordErrorCode.CORRUPT_MESSAGE, message };
}

function corruptError(message: string): { error: BatchError } {
  return { error: corrupt(message) };
}

/** Sets the base offset (outside the CRC), in place. */
export function setBaseOffset(batch: Buffer, offset: bigint): void {
  batch.writeBigInt64BE(offset, BASE_OFFSET_OFFSET);
}

/** Sets the partition leader epoch (outside the CRC), in place. */
export function setPartitionLeaderEpoch(batch: Buffer, epoch: number): void {
  batch.writeInt32BE(epoch, PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * Marks the batch LogAppendTime with `timestamp` as its max timestamp and recomputes the CRC,
 * in place. As in Kafka, record timestamp deltas are left alone: readers of a LogAppendTime
 * batch take every record's timestamp from maxTimestamp.
 */
export function setLogAppendTime(batch: Buffer, timestamp: bigint): void {
  const attributes = batch.readInt16BE(ATTRIBUTES_OFFSET);
  const unchanged =
    (attributes & TIMESTAMP_TYPE_MASK) !== 0 &&
    batch.readBigInt64BE(MAX_TIMESTAMP_OFFSET) === timestamp;
  if (unchanged) return;
  batch.writeInt16BE(attributes | TIMESTAMP_TYPE_MASK, ATTRIBUTES_OFFSET);
  batch.writeBigInt64BE(timestamp, MAX_TIMESTAMP_OFFSET);
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
}
