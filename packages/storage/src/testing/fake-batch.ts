/**
 * Test helper: a stand-in for a Kafka record batch. Storage only relies on the first 8 bytes
 * (base offset, rewritten on append); the rest is a recognisable payload.
 */
import type { BatchMeta } from '../types.ts';

export function fakeBatch(label: string, records = 1, padBytes = 0): Buffer {
  const payload = Buffer.from(label.padEnd(label.length + padBytes, '.'), 'utf8');
  const batch = Buffer.alloc(8 + 4 + payload.length);
  batch.writeBigInt64BE(-1n, 0);
  batch.writeUInt32BE(records, 8);
  payload.copy(batch, 12);
  return batch;
}

export function metaOf(batch: Buffer, maxTimestamp = 0n): BatchMeta {
  const records = batch.readUInt32BE(8);
  return { lastOffsetDelta: records - 1, maxTimestamp, recordCount: records };
}

export function labelOf(batch: Buffer): string {
  return batch.subarray(12).toString('utf8').replace(/\.+$/, '');
}
