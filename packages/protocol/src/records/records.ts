/**
 * Kafka Record v2 codec: decoding the records inside a batch and building batches. Used off the
 * produce path (log compaction, ListOffsets by timestamp, control records, tests); the produce
 * path itself never decodes records.
 *
 * Decoding is strict: every length is checked against the bytes left in the record (or batch)
 * and anything inconsistent throws RecordBatchError, never a RangeError. Decompression is capped
 * by the caller's `maxDecompressedBytes`. Offsets and timestamps come out absolute; in a
 * LogAppendTime batch every record's timestamp is the batch's maxTimestamp, as in Kafka.
 */
import assert from 'node:assert/strict';
import { ByteBuilder } from './byte-builder.ts';
import { ByteCursor } from './byte-cursor.ts';
import { compress, compressionCodes, decompress, type CompressionType } from './compression.ts';
import { crc32c } from './crc32c.ts';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  CONTROL_MASK,
  CRC_OFFSET,
  CURRENT_MAGIC,
  DELETE_HORIZON_MASK,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_COUNT_OFFSET,
  RECORDS_OFFSET,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_MASK,
  readBatchHeader,
  type BatchHeader,
} from './record-batch.ts';
import { corrupt } from './record-batch-error.ts';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface KafkaRecord {
  offset: bigint;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface RecordInput {
  key?: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeader[];
  /** Defaults to -1 (Kafka's NO_TIMESTAMP): this package reads no clock. */
  timestamp?: bigint;
  /** Defaults to the record's index; may skip (compacted batches) but must increase. */
  offsetDelta?: number;
}

export interface DecodeOptions {
  /** Cap on a compressed batch's decompressed records, against zip bombs. */
  maxDecompressedBytes: number;
}

/** A batch's header and a cursor over its (decompressed) records. */
function openRecords(
  batch: Buffer,
  opts: DecodeOptions,
): { header: BatchHeader; cursor: ByteCursor } {
  const header = readBatchHeader(batch);
  const end = LOG_OVERHEAD + header.batchLength;
  if (header.magic !== CURRENT_MAGIC) throw corrupt(`cannot decode magic ${header.magic}`);
  if (end < BATCH_HEADER_BYTES || end > batch.length) {
    throw corrupt(`batch length ${header.batchLength} does not fit ${batch.length} bytes`);
  }
  const payload = batch.subarray(BATCH_HEADER_BYTES, end);
  const data =
    header.compression === 'none'
      ? payload
      : decompress(header.compression, payload, opts.maxDecompressedBytes);
  return { header, cursor: new ByteCursor(data) };
}

/** Decodes every record of a v2 batch. Throws RecordBatchError on any inconsistency. */
export function decodeRecords(batch: Buffer, opts: DecodeOptions): KafkaRecord[] {
  const { header, cursor } = openRecords(batch, opts);
  const records: KafkaRecord[] = [];
  for (let i = 0; i < header.recordCount; i++) records.push(decodeRecord(cursor, header));
  if (cursor.remaining !== 0) throw corrupt(`${cursor.remaining} bytes after the last record`);
  return records;
}

export interface KeylessRecords {
  /** How many records of the batch have a null key. */
  readonly count: number;
  /** The batch indexes of the first `maxIndexes` of them, ascending. */
  readonly indexes: number[];
}

/**
 * The records of a v2 batch that have no key (compacted topics refuse them). Checks every
 * record's structure as `decodeRecords` does, but builds nothing per record, so a batch of
 * millions of tiny records costs its decompressed bytes and no more.
 */
export function findKeylessRecords(
  batch: Buffer,
  opts: DecodeOptions & { readonly maxIndexes: number },
): KeylessRecords {
  const { header, cursor } = openRecords(batch, opts);
  const indexes: number[] = [];
  let count = 0;
  for (let i = 0; i < header.recordCount; i++) {
    if (!recordHasKey(cursor)) {
      count++;
      if (indexes.length < opts.maxIndexes) indexes.push(i);
    }
  }
  if (cursor.remaining !== 0) throw corrupt(`${cursor.remaining} bytes after the last record`);
  return { count, indexes };
}

/** Walks one record as `decodeRecord` reads it, keeping only whether it has a key. */
function recordHasKey(cursor: ByteCursor): boolean {
  const length = cursor.varint();
  if (length < 0 || length > cursor.remaining) throw corrupt(`invalid record length ${length}`);
  const batchEnd = cursor.end;
  cursor.end = cursor.position + length;
  cursor.int8();
  cursor.skipVarlong();
  cursor.varint();
  const keyless = cursor.skipNullableBytes('key');
  cursor.skipNullableBytes('value');
  const headerCount = cursor.varint();
  if (headerCount < 0) throw corrupt(`invalid header count ${headerCount}`);
  for (let i = 0; i < headerCount; i++) {
    if (cursor.skipNullableBytes('header key')) throw corrupt('null header key');
    cursor.skipNullableBytes('header value');
  }
  if (cursor.remaining !== 0) throw corrupt(`${cursor.remaining} bytes left in a record`);
  cursor.end = batchEnd;
  return !keyless;
}

function decodeRecord(cursor: ByteCursor, header: BatchHeader): KafkaRecord {
  const length = cursor.varint();
  if (length < 0 || length > cursor.remaining) throw corrupt(`invalid record length ${length}`);
  const batchEnd = cursor.end;
  cursor.end = cursor.position + length;
  cursor.int8(); // record attributes: unused by Kafka
  const timestampDelta = cursor.varlong();
  const offsetDelta = cursor.varint();
  const key = cursor.nullableBytes('key');
  const value = cursor.nullableBytes('value');
  const headerCount = cursor.varint();
  if (headerCount < 0) throw corrupt(`invalid header count ${headerCount}`);
  const headers: RecordHeader[] = [];
  for (let i = 0; i < headerCount; i++) {
    const headerKey = cursor.nullableBytes('header key');
    if (headerKey === null) throw corrupt('null header key');
    headers.push({ key: headerKey.toString('utf8'), value: cursor.nullableBytes('header value') });
  }
  if (cursor.remaining !== 0) throw corrupt(`${cursor.remaining} bytes left in a record`);
  cursor.end = batchEnd;
  const timestamp =
    header.timestampType === 'log-append'
      ? header.maxTimestamp
      : BigInt.asIntN(64, header.baseTimestamp + timestampDelta);
  return { offset: header.baseOffset + BigInt(offsetDelta), timestamp, key, value, headers };
}

export interface BuildBatchOptions {
  baseOffset?: bigint;
  records: RecordInput[];
  compression?: CompressionType;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  isTransactional?: boolean;
  isControl?: boolean;
  timestampType?: 'create' | 'log-append';
  partitionLeaderEpoch?: number;
  /** Overrides the last record's delta: compaction keeps the original batch's last offset. */
  lastOffsetDelta?: number;
  /** Overrides the records' largest timestamp (LogAppendTime batches). */
  maxTimestamp?: bigint;
  /** Sets the delete-horizon attribute; the base timestamp is then this horizon (KIP-534). */
  deleteHorizonMs?: bigint;
}

/** Builds a v2 batch with a correct CRC, lastOffsetDelta and maxTimestamp. */
export function buildRecordBatch(opts: BuildBatchOptions): Buffer {
  const { records } = opts;
  assert.ok(records.length > 0 || opts.lastOffsetDelta !== undefined, 'a batch needs records');
  const timestamps = records.map((record) => record.timestamp ?? -1n);
  const baseTimestamp = opts.deleteHorizonMs ?? timestamps[0] ?? -1n;
  let maxTimestamp = opts.maxTimestamp ?? -1n;
  if (opts.maxTimestamp === undefined) {
    for (const timestamp of timestamps) if (timestamp > maxTimestamp) maxTimestamp = timestamp;
  }
  const body = new ByteBuilder();
  const scratch = new ByteBuilder();
  let lastDelta = -1;
  records.forEach((record, index) => {
    const offsetDelta = record.offsetDelta ?? index;
    assert.ok(offsetDelta > lastDelta, 'record offset deltas must increase');
    assert.ok(Number.isInteger(offsetDelta) && offsetDelta <= 0x7fffffff, 'offset delta is int32');
    lastDelta = offsetDelta;
    // Deltas wrap in 64 bits, as Java's long arithmetic does; decoding wraps back.
    const timestampDelta = BigInt.asIntN(64, (timestamps[index] ?? -1n) - baseTimestamp);
    encodeRecord(scratch.reset(), record, offsetDelta, timestampDelta);
    body.varint(scratch.length).raw(scratch.finish());
  });
  const compression = opts.compression ?? 'none';
  const payload = compress(compression, body.finish());
  const batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + payload.length);
  payload.copy(batch, RECORDS_OFFSET);
  batch.writeBigInt64BE(opts.baseOffset ?? 0n, BASE_OFFSET_OFFSET);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  batch.writeInt32BE(opts.partitionLeaderEpoch ?? -1, PARTITION_LEADER_EPOCH_OFFSET);
  batch.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET);
  batch.writeInt16BE(attributesOf(opts, compression), ATTRIBUTES_OFFSET);
  batch.writeInt32BE(opts.lastOffsetDelta ?? lastDelta, LAST_OFFSET_DELTA_OFFSET);
  batch.writeBigInt64BE(baseTimestamp, BASE_TIMESTAMP_OFFSET);
  batch.writeBigInt64BE(maxTimestamp, MAX_TIMESTAMP_OFFSET);
  batch.writeBigInt64BE(opts.producerId ?? -1n, PRODUCER_ID_OFFSET);
  batch.writeInt16BE(opts.producerEpoch ?? -1, PRODUCER_EPOCH_OFFSET);
  batch.writeInt32BE(opts.baseSequence ?? -1, BASE_SEQUENCE_OFFSET);
  batch.writeInt32BE(records.length, RECORD_COUNT_OFFSET);
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return batch;
}

function attributesOf(opts: BuildBatchOptions, compression: CompressionType): number {
  let attributes = compressionCodes[compression];
  if (opts.timestampType === 'log-append') attributes |= TIMESTAMP_TYPE_MASK;
  if (opts.isTransactional === true) attributes |= TRANSACTIONAL_MASK;
  if (opts.isControl === true) attributes |= CONTROL_MASK;
  if (opts.deleteHorizonMs !== undefined) attributes |= DELETE_HORIZON_MASK;
  return attributes;
}

function encodeRecord(
  out: ByteBuilder,
  record: RecordInput,
  offsetDelta: number,
  timestampDelta: bigint,
): void {
  out.int8(0).varlong(timestampDelta).varint(offsetDelta);
  out.nullableBytes(record.key ?? null).nullableBytes(record.value);
  const headers = record.headers ?? [];
  out.varint(headers.length);
  for (const header of headers) {
    out.nullableBytes(Buffer.from(header.key, 'utf8')).nullableBytes(header.value);
  }
}

/** The first record whose timestamp is at least `timestamp`, or null when there is none. */
export function findOffsetForTimestamp(
  batch: Buffer,
  timestamp: bigint,
  opts: DecodeOptions,
): { offset: bigint; timestamp: bigint } | null {
  for (const record of decodeRecords(batch, opts)) {
    if (record.timestamp >= timestamp)
      return { offset: record.offset, timestamp: record.timestamp };
  }
  return null;
}

/**
 * Log compaction of one batch: a batch holding only the records `keep` accepts, with their
 * offsets, the original compression, producer fields, sequence and last offset (as Kafka keeps
 * it so that producer state survives compaction). Returns `batch` itself when everything is
 * kept and null when nothing is.
 */
export function retainRecords(
  batch: Buffer,
  keep: (record: KafkaRecord) => boolean,
  opts: DecodeOptions,
): Buffer | null {
  const header = readBatchHeader(batch);
  const records = decodeRecords(batch, opts);
  const kept = records.filter(keep);
  if (kept.length === 0) return null;
  if (kept.length === records.length) return batch;
  return buildRecordBatch({
    baseOffset: header.baseOffset,
    records: kept.map((record) => ({
      key: record.key,
      value: record.value,
      headers: record.headers,
      timestamp: record.timestamp,
      offsetDelta: Number(record.offset - header.baseOffset),
    })),
    compression: header.compression,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    isTransactional: header.isTransactional,
    isControl: header.isControl,
    timestampType: header.timestampType,
    partitionLeaderEpoch: header.partitionLeaderEpoch,
    lastOffsetDelta: header.lastOffsetDelta,
    ...(header.timestampType === 'log-append' ? { maxTimestamp: header.maxTimestamp } : {}),
    ...(header.hasDeleteHorizon ? { deleteHorizonMs: header.baseTimestamp } : {}),
  });
}
