/**
 * Records as the driver processes carry them in JSON (DRIVER-PROTOCOL.md and the older
 * drivers/driver_protocol.py alike): keys, values and header values as base64, null for null.
 */
import type { ClientHeader, ConsumedRecord, ProduceRecord } from './client-driver.ts';

export type WireHeader = [name: string, value: string | null];

/** A consumed record; `topic` only where the answer names it (poll). */
export interface WireRecord {
  readonly topic?: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: readonly WireHeader[];
  readonly timestamp: number;
}

const b64 = (data: Buffer | null): string | null =>
  data === null ? null : data.toString('base64');
const unb64 = (text: string | null): Buffer | null =>
  text === null ? null : Buffer.from(text, 'base64');

/** A record to produce; no timestamp field means the client picks now. */
export function recordToWire(record: ProduceRecord): Record<string, unknown> {
  return {
    partition: record.partition,
    key: b64(record.key),
    value: b64(record.value),
    headers: record.headers.map((header): WireHeader => [header.key, b64(header.value)]),
    ...(record.timestamp === undefined ? {} : { timestamp: Number(record.timestamp) }),
  };
}

export function recordFromWire(record: WireRecord): ConsumedRecord {
  return {
    partition: record.partition,
    offset: BigInt(record.offset),
    key: unb64(record.key),
    value: unb64(record.value),
    headers: record.headers.map(([key, value]): ClientHeader => ({ key, value: unb64(value) })),
    timestamp: BigInt(record.timestamp),
  };
}
