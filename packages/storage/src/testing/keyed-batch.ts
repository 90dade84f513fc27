/**
 * Test helper: a toy keyed batch format and its RecordCompactor, standing in for Kafka record
 * batches in compaction tests. Layout: [i64 base offset][u32 count] then per record
 * [u32 offset delta][i64 timestamp][u8 tombstone][u16 key length, 0xffff = null][key].
 */
import type { BatchMeta, RecordCompactor } from '../types.ts';

export interface KeyedRecord {
  key: string | null;
  timestamp: bigint;
  tombstone?: boolean;
}

export function keyedBatch(records: readonly KeyedRecord[]): { batch: Buffer; meta: BatchMeta } {
  const parts = records.map((record, delta) => encodeRecord(delta, record));
  const head = Buffer.alloc(12);
  head.writeUInt32BE(records.length, 8);
  let maxTimestamp = -1n;
  for (const record of records)
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
  return {
    batch: Buffer.concat([head, ...parts]),
    meta: { lastOffsetDelta: records.length - 1, maxTimestamp, recordCount: records.length },
  };
}

function encodeRecord(delta: number, record: KeyedRecord): Buffer {
  const key = record.key === null ? Buffer.alloc(0) : Buffer.from(record.key);
  const out = Buffer.alloc(15 + key.length);
  out.writeUInt32BE(delta, 0);
  out.writeBigInt64BE(record.timestamp, 4);
  out.writeUInt8(record.tombstone === true ? 1 : 0, 12);
  out.writeUInt16BE(record.key === null ? 0xffff : key.length, 13);
  key.copy(out, 15);
  return out;
}

interface Parsed {
  delta: number;
  offset: bigint;
  timestamp: bigint;
  tombstone: boolean;
  key: Buffer | null;
  bytes: Buffer;
}

function parse(batch: Buffer): Parsed[] {
  const base = batch.readBigInt64BE(0);
  const count = batch.readUInt32BE(8);
  const records: Parsed[] = [];
  let at = 12;
  for (let i = 0; i < count; i++) {
    const delta = batch.readUInt32BE(at);
    const keyLength = batch.readUInt16BE(at + 13);
    const size = 15 + (keyLength === 0xffff ? 0 : keyLength);
    records.push({
      delta,
      offset: base + BigInt(delta),
      timestamp: batch.readBigInt64BE(at + 4),
      tombstone: batch.readUInt8(at + 12) === 1,
      key: keyLength === 0xffff ? null : batch.subarray(at + 15, at + size),
      bytes: batch.subarray(at, at + size),
    });
    at += size;
  }
  return records;
}

export const keyedCompactor: RecordCompactor = {
  keysOf: (batch) =>
    parse(batch).map(({ offset, key, tombstone, timestamp }) => ({
      offset,
      key,
      tombstone,
      timestamp,
    })),
  retain: (batch, keep) => {
    const kept = parse(batch).filter((record) => keep(record.offset));
    if (kept.length === 0) return null;
    const head = Buffer.from(batch.subarray(0, 12));
    head.writeUInt32BE(kept.length, 8);
    return Buffer.concat([head, ...kept.map((record) => record.bytes)]);
  },
};

/** `key@offset` for every record in the batches (tombstones marked with a `~`). */
export function describeRecords(batches: readonly Buffer[]): string[] {
  return batches.flatMap((batch) =>
    parse(batch).map((r) => `${r.tombstone ? '~' : ''}${r.key?.toString() ?? 'null'}@${r.offset}`),
  );
}
