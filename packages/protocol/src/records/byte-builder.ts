/**
 * ByteBuilder: an append-only growable buffer for encoding records (not the produce path: it
 * serves batch building for compaction, control records and tests). Varints are Kafka's zigzag.
 */

export class ByteBuilder {
  #buffer: Buffer;
  #length = 0;

  constructor(initialBytes = 256) {
    this.#buffer = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.#length;
  }

  int8(value: number): this {
    this.#reserve(1).writeInt8(value, this.#length);
    this.#length += 1;
    return this;
  }

  int16(value: number): this {
    this.#reserve(2).writeInt16BE(value, this.#length);
    this.#length += 2;
    return this;
  }

  int32(value: number): this {
    this.#reserve(4).writeInt32BE(value, this.#length);
    this.#length += 4;
    return this;
  }

  /** A zigzag varint (int32). */
  varint(value: number): this {
    let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
    const buffer = this.#reserve(5);
    while (zigzag >= 0x80) {
      buffer[this.#length++] = (zigzag & 0x7f) | 0x80;
      zigzag >>>= 7;
    }
    buffer[this.#length++] = zigzag;
    return this;
  }

  /** A zigzag varlong (int64). */
  varlong(value: bigint): this {
    let zigzag = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
    if (zigzag <= 0xffffffffn) return this.#unsignedVarint(Number(zigzag));
    const buffer = this.#reserve(10);
    while (zigzag >= 0x80n) {
      buffer[this.#length++] = Number(zigzag & 0x7fn) | 0x80;
      zigzag >>= 7n;
    }
    buffer[this.#length++] = Number(zigzag);
    return this;
  }

  /** A varint length then the bytes; length -1 for null. */
  nullableBytes(value: Uint8Array | null): this {
    if (value === null) return this.varint(-1);
    return this.varint(value.length).raw(value);
  }

  raw(value: Uint8Array): this {
    this.#reserve(value.length).set(value, this.#length);
    this.#length += value.length;
    return this;
  }

  /** Forgets what was written, keeping the allocation for reuse. */
  reset(): this {
    this.#length = 0;
    return this;
  }

  /** The bytes written so far (a view of the internal buffer). */
  finish(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }

  #unsignedVarint(value: number): this {
    let rest = value;
    const buffer = this.#reserve(5);
    while (rest >= 0x80) {
      buffer[this.#length++] = (rest & 0x7f) | 0x80;
      rest = Math.floor(rest / 128);
    }
    buffer[this.#length++] = rest;
    return this;
  }

  #reserve(bytes: number): Buffer {
    if (this.#length + bytes > this.#buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#length + bytes));
      this.#buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = grown;
    }
    return this.#buffer;
  }
}
