/**
 * Hand-built Kafka wire bytes for the bad-input tests. These tests must be able to send frames
 * no well-behaved codec would produce (wrong CRCs, lying sizes, unknown API keys), so they build
 * bytes directly instead of using @tributary/protocol; that also keeps the broker's own codec
 * out of the oracle. Only the few messages the tests need are covered: request headers v1/v2,
 * ApiVersions, Produce v7 (non-flexible) and v9 (flexible), ListOffsets v1, record batches v2.
 */
import { connect, type Socket } from 'node:net';

const crcTable = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli), the checksum of record batches v2. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (crcTable[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Append-only byte builder for big-endian Kafka primitives. */
export class ByteWriter {
  readonly #parts: Buffer[] = [];

  raw(bytes: Uint8Array): this {
    this.#parts.push(Buffer.from(bytes));
    return this;
  }

  int8(value: number): this {
    const b = Buffer.alloc(1);
    b.writeInt8(value);
    return this.raw(b);
  }

  int16(value: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(value);
    return this.raw(b);
  }

  int32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(value);
    return this.raw(b);
  }

  uint32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value);
    return this.raw(b);
  }

  int64(value: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(value);
    return this.raw(b);
  }

  uvarint(value: number): this {
    const bytes: number[] = [];
    let rest = value >>> 0;
    while (rest >= 0x80) {
      bytes.push((rest & 0x7f) | 0x80);
      rest >>>= 7;
    }
    bytes.push(rest);
    return this.raw(Uint8Array.from(bytes));
  }

  /** Zig-zag varint (record fields). */
  varint(value: number): this {
    return this.uvarint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  string(value: string | null): this {
    if (value === null) return this.int16(-1);
    const b = Buffer.from(value, 'utf8');
    return this.int16(b.length).raw(b);
  }

  compactString(value: string | null): this {
    if (value === null) return this.uvarint(0);
    const b = Buffer.from(value, 'utf8');
    return this.uvarint(b.length + 1).raw(b);
  }

  bytes(value: Uint8Array | null): this {
    return value === null ? this.int32(-1) : this.int32(value.length).raw(value);
  }

  compactBytes(value: Uint8Array | null): this {
    return value === null ? this.uvarint(0) : this.uvarint(value.length + 1).raw(value);
  }

  /** Empty tagged-field section of a flexible message. */
  tags(): this {
    return this.uvarint(0);
  }

  build(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

export interface RequestFrameOptions {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** Request header v2 (flexible APIs) adds a tagged-field section after the client id. */
  flexibleHeader: boolean;
  body: Uint8Array;
  clientId?: string;
}

/** A size-prefixed request frame. */
export function requestFrame(options: RequestFrameOptions): Buffer {
  const header = new ByteWriter()
    .int16(options.apiKey)
    .int16(options.apiVersion)
    .int32(options.correlationId)
    .string(options.clientId ?? 'bad-input-test');
  if (options.flexibleHeader) header.tags();
  const payload = Buffer.concat([header.build(), options.body]);
  return new ByteWriter().int32(payload.length).raw(payload).build();
}

export interface BatchRecord {
  key: string | null;
  value: string;
}

/** An uncompressed record batch v2 (magic 2), non-transactional, with a correct CRC. */
export function recordBatch(
  records: readonly BatchRecord[],
  baseTimestamp = BigInt(Date.now()),
): Buffer {
  const body = new ByteWriter();
  for (const [index, record] of records.entries()) {
    const key = record.key === null ? null : Buffer.from(record.key);
    const value = Buffer.from(record.value);
    const inner = new ByteWriter().int8(0).varint(0).varint(index);
    if (key === null) inner.varint(-1);
    else inner.varint(key.length).raw(key);
    inner.varint(value.length).raw(value).varint(0);
    const innerBytes = inner.build();
    body.varint(innerBytes.length).raw(innerBytes);
  }
  const afterCrc = new ByteWriter()
    .int16(0)
    .int32(records.length - 1)
    .int64(baseTimestamp)
    .int64(baseTimestamp)
    .int64(-1n)
    .int16(-1)
    .int32(-1)
    .int32(records.length)
    .raw(body.build())
    .build();
  const tail = new ByteWriter().int32(-1).int8(2).uint32(crc32c(afterCrc)).raw(afterCrc).build();
  return new ByteWriter().int64(0n).int32(tail.length).raw(tail).build();
}

/** Flips one bit in the CRC field of a batch built by `recordBatch`. */
export function withBadCrc(batch: Buffer): Buffer {
  const copy = Buffer.from(batch);
  const crcOffset = 8 + 4 + 4 + 1;
  copy[crcOffset] = (copy[crcOffset] ?? 0) ^ 0x01;
  return copy;
}

export interface ProducePartition {
  topic: string;
  partition: number;
  records: Uint8Array;
  acks?: number;
  timeoutMs?: number;
}

/** Produce request body, v7 (non-flexible) or v9 (flexible); one topic, one partition. */
export function produceBody(version: 7 | 9, request: ProducePartition): Buffer {
  const w = new ByteWriter();
  const acks = request.acks ?? -1;
  const timeoutMs = request.timeoutMs ?? 10_000;
  if (version === 7) {
    w.string(null).int16(acks).int32(timeoutMs).int32(1).string(request.topic);
    return w.int32(1).int32(request.partition).bytes(request.records).build();
  }
  w.compactString(null).int16(acks).int32(timeoutMs).uvarint(2).compactString(request.topic);
  w.uvarint(2).int32(request.partition).compactBytes(request.records).tags();
  return w.tags().tags().build();
}

/** Sequential big-endian reader over a response body. */
export class ByteReader {
  readonly bytes: Buffer;
  #offset = 0;

  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }

  int16(): number {
    const value = this.bytes.readInt16BE(this.#offset);
    this.#offset += 2;
    return value;
  }

  int32(): number {
    const value = this.bytes.readInt32BE(this.#offset);
    this.#offset += 4;
    return value;
  }

  int64(): bigint {
    const value = this.bytes.readBigInt64BE(this.#offset);
    this.#offset += 8;
    return value;
  }

  uvarint(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.bytes.readUInt8(this.#offset);
      this.#offset += 1;
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
    }
    throw new Error('varint too long');
  }

  skip(count: number): void {
    this.#offset += count;
  }

  string(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    const value = this.bytes.toString('utf8', this.#offset, this.#offset + length);
    this.#offset += length;
    return value;
  }

  compactString(): string | null {
    const length = this.uvarint() - 1;
    if (length < 0) return null;
    const value = this.bytes.toString('utf8', this.#offset, this.#offset + length);
    this.#offset += length;
    return value;
  }

  skipTags(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i += 1) {
      this.uvarint();
      this.skip(this.uvarint());
    }
  }
}

export interface PartitionResult {
  topic: string | null;
  partition: number;
  errorCode: number;
  baseOffset: bigint;
}

/** First partition result of a Produce response body (after the correlation id). */
export function parseProduceResponse(version: 7 | 9, body: Buffer): PartitionResult {
  const r = new ByteReader(body);
  if (version === 9) r.skipTags(); // response header v1
  const topicCount = version === 7 ? r.int32() : r.uvarint() - 1;
  if (topicCount < 1) throw new Error(`produce response has ${topicCount} topics`);
  const topic = version === 7 ? r.string() : r.compactString();
  const partitionCount = version === 7 ? r.int32() : r.uvarint() - 1;
  if (partitionCount < 1) throw new Error(`produce response has ${partitionCount} partitions`);
  const partition = r.int32();
  const errorCode = r.int16();
  return { topic, partition, errorCode, baseOffset: r.int64() };
}

/** ListOffsets v1 body for the latest offset (timestamp -1) of one partition. */
export function listOffsetsLatestBody(topic: string, partition: number): Buffer {
  return new ByteWriter()
    .int32(-1)
    .int32(1)
    .string(topic)
    .int32(1)
    .int32(partition)
    .int64(-1n)
    .build();
}

/** First partition of a ListOffsets v1 response: error code and offset. */
export function parseListOffsetsV1(body: Buffer): { errorCode: number; offset: bigint } {
  const r = new ByteReader(body);
  r.int32();
  r.string();
  r.int32();
  r.int32();
  const errorCode = r.int16();
  r.int64();
  return { errorCode, offset: r.int64() };
}

export interface ApiVersionsV0 {
  errorCode: number;
  apiKeys: Array<{ apiKey: number; minVersion: number; maxVersion: number }>;
}

/** ApiVersions response in the v0 layout (also used for UNSUPPORTED_VERSION replies). */
export function parseApiVersionsV0(body: Buffer): ApiVersionsV0 {
  const r = new ByteReader(body);
  const errorCode = r.int16();
  const count = r.int32();
  const apiKeys: ApiVersionsV0['apiKeys'] = [];
  for (let i = 0; i < count; i += 1) {
    apiKeys.push({ apiKey: r.int16(), minVersion: r.int16(), maxVersion: r.int16() });
  }
  return { errorCode, apiKeys };
}

export type Outcome =
  | { kind: 'response'; correlationId: number; body: Buffer }
  | { kind: 'closed' }
  | { kind: 'timeout' };

/**
 * A raw TCP connection that reads size-prefixed response frames. `next` returns the next frame,
 * or reports that the broker closed the connection, or times out.
 */
export class RawConnection {
  readonly #socket: Socket;
  #buffer = Buffer.alloc(0);
  #closed = false;
  #wake: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake?.();
    });
    socket.on('error', () => undefined);
  }

  static open(host: string, port: number, timeoutMs = 5_000): Promise<RawConnection> {
    return new Promise((resolvePromise, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolvePromise(new RawConnection(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolvePromise) => {
      if (this.#closed) {
        resolvePromise();
        return;
      }
      // A write may fail once the broker has closed; the outcome is read through `next`.
      this.#socket.write(bytes, () => resolvePromise());
    });
  }

  /** Half-closes our side: the broker sees end-of-stream. */
  end(): void {
    this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #takeFrame(): Outcome | undefined {
    if (this.#buffer.length < 4) return undefined;
    const size = this.#buffer.readInt32BE(0);
    if (this.#buffer.length < 4 + size) return undefined;
    const frame = this.#buffer.subarray(4, 4 + size);
    this.#buffer = this.#buffer.subarray(4 + size);
    return { kind: 'response', correlationId: frame.readInt32BE(0), body: frame.subarray(4) };
  }

  async next(timeoutMs = 5_000): Promise<Outcome> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.#takeFrame();
      if (frame !== undefined) return frame;
      if (this.#closed) return { kind: 'closed' };
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) return { kind: 'timeout' };
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, remainingMs);
        this.#wake = () => {
          clearTimeout(timer);
          wake();
        };
      });
      this.#wake = undefined;
    }
  }

  /** Sends one frame and waits for its outcome. */
  async roundTrip(frame: Uint8Array, timeoutMs = 5_000): Promise<Outcome> {
    await this.write(frame);
    return this.next(timeoutMs);
  }
}
