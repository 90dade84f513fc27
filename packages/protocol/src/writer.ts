/**
 * Growable encoder for Kafka's wire primitives, producing a list of chunks for `writev`.
 *
 * Invariants: bytes are written into a preallocated chunk (8 KiB by default) and a full chunk is
 * sealed and replaced by a larger one, so there is no per-write allocation; buffers of at least
 * `writeRawCopyMaxBytes` (record batches on the fetch path) are appended by reference, never
 * copied. Sealed chunks are never written again, except through the views `toChunks` returns
 * (the broker patches the frame size into the first one).
 */

const defaultChunkBytes = 8 * 1024;
/** Buffers this large or larger are appended by reference instead of copied. */
export const writeRawCopyMaxBytes = 4 * 1024;
const chunkMaxBytes = 1024 * 1024;
const stringMaxBytes = 0x7fff;

/** Writes one array element; generated codecs pass their struct writers here. */
export type ElementWriter<T> = (writer: Writer, version: number, item: T) => void;

/** Record data accepted on write: one buffer, several batches back to back, or null. */
export type RecordsInit = Buffer | readonly Buffer[] | null;

export class Writer {
  #chunks: Buffer[] = [];
  #sealedBytes = 0;
  #buffer: Buffer;
  /**
   * A view over `#buffer` for 64-bit writes, made on first use after each buffer change:
   * DataView's setBigInt64 is several times faster than Buffer's writeBigInt64BE, and a Fetch
   * answer of 10,000 partitions writes three int64s for each.
   */
  #view: DataView | undefined;
  #position = 0;
  /** Size of the last allocation; the next one doubles it, up to chunkMaxBytes. */
  #allocatedBytes: number;

  constructor(initialBytes = defaultChunkBytes) {
    this.#allocatedBytes = Math.max(initialBytes, 16);
    this.#buffer = Buffer.allocUnsafe(this.#allocatedBytes);
  }

  /** Total bytes written so far. */
  get length(): number {
    return this.#sealedBytes + this.#position;
  }

  /** Makes room for `size` contiguous bytes and returns the offset to write them at. */
  #reserve(size: number): number {
    const start = this.#position;
    if (start + size <= this.#buffer.length) {
      this.#position = start + size;
      return start;
    }
    this.#seal();
    const next = Math.min(Math.max(this.#allocatedBytes * 2, defaultChunkBytes), chunkMaxBytes);
    this.#allocatedBytes = Math.max(next, size);
    this.#buffer = Buffer.allocUnsafe(this.#allocatedBytes);
    this.#view = undefined;
    this.#position = size;
    return 0;
  }

  /** Moves the written part of the current buffer to the chunk list; keeps the free tail. */
  #seal(): void {
    if (this.#position === 0) return;
    this.#chunks.push(this.#buffer.subarray(0, this.#position));
    this.#sealedBytes += this.#position;
    this.#buffer = this.#buffer.subarray(this.#position);
    this.#view = undefined;
    this.#position = 0;
  }

  writeInt8(value: number): void {
    const offset = this.#reserve(1);
    this.#buffer.writeInt8(value, offset);
  }

  writeInt16(value: number): void {
    const offset = this.#reserve(2);
    this.#buffer.writeInt16BE(value, offset);
  }

  writeInt32(value: number): void {
    const offset = this.#reserve(4);
    this.#buffer.writeInt32BE(value, offset);
  }

  writeUInt16(value: number): void {
    const offset = this.#reserve(2);
    this.#buffer.writeUInt16BE(value, offset);
  }

  writeUInt32(value: number): void {
    const offset = this.#reserve(4);
    this.#buffer.writeUInt32BE(value, offset);
  }

  writeInt64(value: bigint): void {
    const offset = this.#reserve(8);
    const buffer = this.#buffer;
    this.#view ??= new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    this.#view.setBigInt64(offset, value);
  }

  writeFloat64(value: number): void {
    const offset = this.#reserve(8);
    this.#buffer.writeDoubleBE(value, offset);
  }

  writeBool(value: boolean): void {
    const offset = this.#reserve(1);
    this.#buffer[offset] = value ? 1 : 0;
  }

  writeUnsignedVarInt(value: number): void {
    let remaining = value >>> 0;
    const buffer = this.#buffer;
    if (remaining < 0x80 && this.#position < buffer.length) {
      buffer[this.#position++] = remaining;
      return;
    }
    const start = this.#reserve(5);
    const target = this.#buffer;
    let offset = start;
    while (remaining >= 0x80) {
      target[offset++] = (remaining & 0x7f) | 0x80;
      remaining >>>= 7;
    }
    target[offset++] = remaining;
    this.#position -= 5 - (offset - start);
  }

  writeVarInt(value: number): void {
    this.writeUnsignedVarInt(((value << 1) ^ (value >> 31)) >>> 0);
  }

  writeUnsignedVarLong(value: bigint): void {
    let remaining = BigInt.asUintN(64, value);
    const start = this.#reserve(10);
    const target = this.#buffer;
    let offset = start;
    while (remaining >= 0x80n) {
      target[offset++] = Number(remaining & 0x7fn) | 0x80;
      remaining >>= 7n;
    }
    target[offset++] = Number(remaining);
    this.#position -= 10 - (offset - start);
  }

  writeVarLong(value: bigint): void {
    const signed = BigInt.asIntN(64, value);
    this.writeUnsignedVarLong((signed << 1n) ^ (signed >> 63n));
  }

  /** Writes a uuid given in Kafka's display form (22 characters of base64url). */
  writeUuid(value: string): void {
    const bytes = Buffer.from(value, 'base64url');
    if (value.length !== 22 || bytes.length !== 16) throw new TypeError(`invalid uuid '${value}'`);
    const offset = this.#reserve(16);
    bytes.copy(this.#buffer, offset);
  }

  #writeUtf8(value: string, length: number): void {
    if (length === 0) return;
    const offset = this.#reserve(length);
    this.#buffer.write(value, offset, length, 'utf8');
  }

  #stringLength(value: string): number {
    const length = Buffer.byteLength(value, 'utf8');
    if (length > stringMaxBytes) throw new RangeError(`string of ${length} bytes is too long`);
    return length;
  }

  writeString(value: string): void {
    const length = this.#stringLength(value);
    this.writeInt16(length);
    this.#writeUtf8(value, length);
  }

  writeNullableString(value: string | null): void {
    if (value === null) this.writeInt16(-1);
    else this.writeString(value);
  }

  writeCompactString(value: string): void {
    const length = this.#stringLength(value);
    this.writeUnsignedVarInt(length + 1);
    this.#writeUtf8(value, length);
  }

  writeCompactNullableString(value: string | null): void {
    if (value === null) this.writeUnsignedVarInt(0);
    else this.writeCompactString(value);
  }

  writeBytes(value: Buffer): void {
    this.writeInt32(value.length);
    this.writeRaw(value);
  }

  writeNullableBytes(value: Buffer | null): void {
    if (value === null) this.writeInt32(-1);
    else this.writeBytes(value);
  }

  writeCompactBytes(value: Buffer): void {
    this.writeUnsignedVarInt(value.length + 1);
    this.writeRaw(value);
  }

  writeCompactNullableBytes(value: Buffer | null): void {
    if (value === null) this.writeUnsignedVarInt(0);
    else this.writeCompactBytes(value);
  }

  /**
   * Writes a `records` field. An array is several batches written back to back under one
   * length prefix. Null is written as null where the version allows it, else as empty.
   */
  writeRecords(value: RecordsInit, compact: boolean, nullable: boolean): void {
    if (value === null && nullable) {
      if (compact) this.writeUnsignedVarInt(0);
      else this.writeInt32(-1);
      return;
    }
    const parts: readonly Buffer[] = value === null ? [] : Buffer.isBuffer(value) ? [value] : value;
    let length = 0;
    for (const part of parts) length += part.length;
    if (compact) this.writeUnsignedVarInt(length + 1);
    else this.writeInt32(length);
    for (const part of parts) this.writeRaw(part);
  }

  writeArrayLength(count: number, compact = false): void {
    if (compact) this.writeUnsignedVarInt(count + 1);
    else this.writeInt32(count);
  }

  writeArray<T>(
    compact: boolean,
    version: number,
    items: readonly T[],
    element: ElementWriter<T>,
  ): void {
    this.writeArrayLength(items.length, compact);
    for (const item of items) element(this, version, item);
  }

  writeNullableArray<T>(
    compact: boolean,
    version: number,
    items: readonly T[] | null,
    element: ElementWriter<T>,
  ): void {
    if (items === null) this.writeArrayLength(-1, compact);
    else this.writeArray(compact, version, items, element);
  }

  /** Writes a tagged field: tag, size, then the bytes another writer produced. */
  writeTaggedField(tag: number, field: Writer): void {
    this.writeUnsignedVarInt(tag);
    this.writeUnsignedVarInt(field.length);
    for (const chunk of field.toChunks()) this.writeRaw(chunk);
  }

  /** Appends bytes: copied when small, appended by reference when >= 4 KiB (zero-copy). */
  writeRaw(value: Buffer): void {
    const length = value.length;
    if (length >= writeRawCopyMaxBytes) {
      this.#seal();
      this.#chunks.push(value);
      this.#sealedBytes += length;
      return;
    }
    if (length === 0) return;
    const offset = this.#reserve(length);
    value.copy(this.#buffer, offset);
  }

  /** The bytes written so far as chunks, in order; later writes go to new chunks. */
  toChunks(): Buffer[] {
    this.#seal();
    return this.#chunks.slice();
  }

  /** The bytes written so far as one buffer (copies only when there are several chunks). */
  toBuffer(): Buffer {
    const chunks = this.toChunks();
    if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
    return Buffer.concat(chunks, this.#sealedBytes);
  }
}

/** Element writers for arrays of primitives, shared by all generated codecs. */
export const writeItem = {
  int8: (writer: Writer, _version: number, item: number): void => writer.writeInt8(item),
  int16: (writer: Writer, _version: number, item: number): void => writer.writeInt16(item),
  int32: (writer: Writer, _version: number, item: number): void => writer.writeInt32(item),
  int64: (writer: Writer, _version: number, item: bigint): void => writer.writeInt64(item),
  uint16: (writer: Writer, _version: number, item: number): void => writer.writeUInt16(item),
  float64: (writer: Writer, _version: number, item: number): void => writer.writeFloat64(item),
  bool: (writer: Writer, _version: number, item: boolean): void => writer.writeBool(item),
  uuid: (writer: Writer, _version: number, item: string): void => writer.writeUuid(item),
  string: (writer: Writer, _version: number, item: string): void => writer.writeString(item),
  compactString: (writer: Writer, _version: number, item: string): void =>
    writer.writeCompactString(item),
} as const;
