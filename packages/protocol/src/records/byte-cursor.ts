/**
 * ByteCursor: bounds-checked reads over one record payload, for decoding client bytes. Every
 * read checks against `end` first and throws RecordBatchError CORRUPT_MESSAGE, so a lying length
 * can never surface as a RangeError or read outside the region being decoded. Varints follow
 * Kafka's ByteUtils: zigzag, at most 5 bytes for int32 and 10 for int64.
 */
import { corrupt } from './record-batch-error.ts';

/** 2^49: below it a varlong's bits are exact in a double, so the common case avoids bigint. */
const EXACT_VARLONG_BYTES = 7;

export class ByteCursor {
  readonly #data: Buffer;
  position: number;
  /** Reads stop here; narrowed while decoding one length-prefixed record. */
  end: number;

  constructor(data: Buffer, start = 0, end = data.length) {
    this.#data = data;
    this.position = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.position;
  }

  int8(): number {
    if (this.position >= this.end) throw corrupt('record truncated');
    return this.#data.readInt8(this.position++);
  }

  /** A zigzag varint (int32). */
  varint(): number {
    let raw = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      const byte = this.#byte();
      raw |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return (raw >>> 1) ^ -(raw & 1);
    }
    throw corrupt('varint longer than 5 bytes');
  }

  /** A zigzag varlong (int64). */
  varlong(): bigint {
    let raw = 0;
    for (let i = 0; i < EXACT_VARLONG_BYTES; i++) {
      const byte = this.#byte();
      raw += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) return BigInt(raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2);
    }
    let big = BigInt(raw);
    for (let i = EXACT_VARLONG_BYTES; i < 10; i++) {
      const byte = this.#byte();
      big |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) {
        const unsigned = BigInt.asUintN(64, big);
        return BigInt.asIntN(64, (unsigned >> 1n) ^ -(unsigned & 1n));
      }
    }
    throw corrupt('varlong longer than 10 bytes');
  }

  /** A varint length then that many bytes; null for length -1. The result is a view. */
  nullableBytes(what: string): Buffer | null {
    const length = this.varint();
    if (length === -1) return null;
    if (length < 0 || length > this.remaining) throw corrupt(`invalid ${what} length ${length}`);
    const start = this.position;
    this.position += length;
    return this.#data.subarray(start, this.position);
  }

  /** Skips a varlong without building it (scans that only need the record's shape). */
  skipVarlong(): void {
    for (let i = 0; i < 10; i++) if ((this.#byte() & 0x80) === 0) return;
    throw corrupt('varlong longer than 10 bytes');
  }

  /** Skips what `nullableBytes` would read; true when it was null. Allocates nothing. */
  skipNullableBytes(what: string): boolean {
    const length = this.varint();
    if (length === -1) return true;
    if (length < 0 || length > this.remaining) throw corrupt(`invalid ${what} length ${length}`);
    this.position += length;
    return false;
  }

  #byte(): number {
    if (this.position >= this.end) throw corrupt('record truncated');
    return this.#data[this.position++] ?? 0;
  }
}
