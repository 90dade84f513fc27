/**
 * Bounds-checked decoder for Kafka's wire primitives over one Buffer.
 *
 * Invariants: every read checks that its bytes are present before touching them, and every
 * length read from the wire is checked against the bytes that remain before anything is
 * allocated, so a hostile frame can neither crash the decoder with a RangeError nor make it
 * allocate more than the frame's own size. All malformed input throws ProtocolError.
 * `bytes` and `records` come back as subarray views of the input (no copy).
 */
import { ProtocolError } from './protocol-error.ts';

const uuidBytes = 16;
/** Kafka allows 5 bytes for a 32-bit varint and 10 for a 64-bit one. */
const varIntMaxBytes = 5;
const varLongMaxBytes = 10;

export const emptyBuffer: Buffer = Buffer.alloc(0);

/** Kafka's all-zero uuid in display form (base64url of 16 zero bytes, unpadded). */
export const zeroUuid = 'AAAAAAAAAAAAAAAAAAAAAA';

/** Reads one element of an array; generated codecs pass their struct readers here. */
export type ElementReader<T> = (reader: Reader, version: number) => T;

export class Reader {
  readonly buffer: Buffer;
  offset: number;

  constructor(buffer: Buffer, offset = 0) {
    this.buffer = buffer;
    this.offset = offset;
  }

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  /** Claims `size` bytes and returns their start offset. */
  #take(size: number): number {
    const start = this.offset;
    if (size > this.buffer.length - start) {
      throw new ProtocolError(
        `need ${size} bytes at offset ${start}, only ${this.buffer.length - start} remain`,
      );
    }
    this.offset = start + size;
    return start;
  }

  skip(size: number): void {
    this.#take(size);
  }

  readInt8(): number {
    return this.buffer.readInt8(this.#take(1));
  }

  readInt16(): number {
    return this.buffer.readInt16BE(this.#take(2));
  }

  readInt32(): number {
    return this.buffer.readInt32BE(this.#take(4));
  }

  readUInt16(): number {
    return this.buffer.readUInt16BE(this.#take(2));
  }

  readUInt32(): number {
    return this.buffer.readUInt32BE(this.#take(4));
  }

  readInt64(): bigint {
    return this.buffer.readBigInt64BE(this.#take(8));
  }

  readFloat64(): number {
    return this.buffer.readDoubleBE(this.#take(8));
  }

  readBool(): boolean {
    return this.buffer[this.#take(1)] !== 0;
  }

  /** Unsigned LEB128 of at most 5 bytes, as Kafka's ByteUtils.readUnsignedVarint. */
  readUnsignedVarInt(): number {
    const buffer = this.buffer;
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < varIntMaxBytes; i++) {
      if (this.offset >= buffer.length) throw new ProtocolError('truncated varint');
      const byte = buffer[this.offset++] ?? 0;
      value += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) {
        if (value > 0xffffffff) throw new ProtocolError('varint exceeds 32 bits');
        return value;
      }
      multiplier *= 128;
    }
    throw new ProtocolError('varint longer than 5 bytes');
  }

  /** Zigzag-encoded signed 32-bit varint. */
  readVarInt(): number {
    const raw = this.readUnsignedVarInt();
    return (raw >>> 1) ^ -(raw & 1);
  }

  readUnsignedVarLong(): bigint {
    const buffer = this.buffer;
    let value = 0n;
    let shift = 0n;
    for (let i = 0; i < varLongMaxBytes; i++) {
      if (this.offset >= buffer.length) throw new ProtocolError('truncated varlong');
      const byte = buffer[this.offset++] ?? 0;
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, value);
      shift += 7n;
    }
    throw new ProtocolError('varlong longer than 10 bytes');
  }

  /** Zigzag-encoded signed 64-bit varint. */
  readVarLong(): bigint {
    const raw = this.readUnsignedVarLong();
    return BigInt.asIntN(64, (raw >> 1n) ^ -(raw & 1n));
  }

  readUuid(): string {
    const start = this.#take(uuidBytes);
    return this.buffer.toString('base64url', start, start + uuidBytes);
  }

  #utf8(length: number): string {
    const start = this.#take(length);
    return this.buffer.toString('utf8', start, start + length);
  }

  readString(): string {
    const length = this.readInt16();
    if (length < 0) throw new ProtocolError(`non-nullable string has length ${length}`);
    return this.#utf8(length);
  }

  readNullableString(): string | null {
    const length = this.readInt16();
    if (length === -1) return null;
    if (length < 0) throw new ProtocolError(`string has length ${length}`);
    return this.#utf8(length);
  }

  readCompactString(): string {
    const length = this.readUnsignedVarInt() - 1;
    if (length < 0) throw new ProtocolError('non-nullable compact string is null');
    return this.#utf8(length);
  }

  readCompactNullableString(): string | null {
    const length = this.readUnsignedVarInt() - 1;
    return length < 0 ? null : this.#utf8(length);
  }

  #view(length: number): Buffer {
    const start = this.#take(length);
    return this.buffer.subarray(start, start + length);
  }

  readBytes(): Buffer {
    const length = this.readInt32();
    if (length < 0) throw new ProtocolError(`non-nullable bytes have length ${length}`);
    return this.#view(length);
  }

  readNullableBytes(): Buffer | null {
    const length = this.readInt32();
    if (length === -1) return null;
    if (length < 0) throw new ProtocolError(`bytes have length ${length}`);
    return this.#view(length);
  }

  readCompactBytes(): Buffer {
    const length = this.readUnsignedVarInt() - 1;
    if (length < 0) throw new ProtocolError('non-nullable compact bytes are null');
    return this.#view(length);
  }

  readCompactNullableBytes(): Buffer | null {
    const length = this.readUnsignedVarInt() - 1;
    return length < 0 ? null : this.#view(length);
  }

  /** Checks an element count: each element takes at least one byte, so more is malformed. */
  #count(count: number): number {
    if (count > this.remaining) {
      throw new ProtocolError(`array of ${count} elements exceeds ${this.remaining} bytes left`);
    }
    return count;
  }

  /** Element count of a non-nullable array (int32, or compact varint N+1 when compact). */
  readArrayLength(compact = false): number {
    const count = compact ? this.readUnsignedVarInt() - 1 : this.readInt32();
    if (count < 0) throw new ProtocolError(`non-nullable array has length ${count}`);
    return this.#count(count);
  }

  /** Element count of a nullable array; -1 means null. */
  readNullableArrayLength(compact = false): number {
    const count = compact ? this.readUnsignedVarInt() - 1 : this.readInt32();
    if (count === -1) return -1;
    if (count < 0) throw new ProtocolError(`array has length ${count}`);
    return this.#count(count);
  }

  readCompactArrayLength(): number {
    return this.readArrayLength(true);
  }

  readCompactNullableArrayLength(): number {
    return this.readNullableArrayLength(true);
  }

  readArray<T>(compact: boolean, version: number, element: ElementReader<T>): T[] {
    const count = this.readArrayLength(compact);
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(element(this, version));
    return items;
  }

  readNullableArray<T>(compact: boolean, version: number, element: ElementReader<T>): T[] | null {
    const count = this.readNullableArrayLength(compact);
    if (count < 0) return null;
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(element(this, version));
    return items;
  }

  /** Number of tagged fields that follow (flexible versions). */
  readTagCount(): number {
    return this.#count(this.readUnsignedVarInt());
  }

  /** Reads a tagged field's size and returns the offset where the field ends. */
  readTaggedFieldEnd(): number {
    const size = this.readUnsignedVarInt();
    if (size > this.remaining) {
      throw new ProtocolError(`tagged field of ${size} bytes exceeds ${this.remaining} left`);
    }
    return this.offset + size;
  }

  /** Moves past a tagged field; a known field that overran its declared size is malformed. */
  finishTaggedField(end: number): void {
    if (this.offset > end) throw new ProtocolError('tagged field overran its size');
    this.offset = end;
  }

  skipTaggedFields(): void {
    const count = this.readTagCount();
    for (let i = 0; i < count; i++) {
      this.readUnsignedVarInt();
      this.finishTaggedField(this.readTaggedFieldEnd());
    }
  }
}

/** Element readers for arrays of primitives, shared by all generated codecs. */
export const readItem = {
  int8: (reader: Reader): number => reader.readInt8(),
  int16: (reader: Reader): number => reader.readInt16(),
  int32: (reader: Reader): number => reader.readInt32(),
  int64: (reader: Reader): bigint => reader.readInt64(),
  uint16: (reader: Reader): number => reader.readUInt16(),
  float64: (reader: Reader): number => reader.readFloat64(),
  bool: (reader: Reader): boolean => reader.readBool(),
  uuid: (reader: Reader): string => reader.readUuid(),
  string: (reader: Reader): string => reader.readString(),
  compactString: (reader: Reader): string => reader.readCompactString(),
} as const;
