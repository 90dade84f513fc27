/**
 * Snappy as Kafka carries it. The Java client writes xerial framing (snappy-java's
 * SnappyOutputStream): an 8-byte magic, version and compatible-version int32s, then chunks of
 * [int32 length][raw snappy block]. librdkafka and others also send one raw snappy block, so
 * decompression accepts both; compression writes xerial framing, which every client reads.
 *
 * The cap is enforced before any output is allocated: every raw snappy block starts with its
 * uncompressed length as a varint, and the blocks' lengths are summed first.
 */
import { compressSync, uncompressSync } from 'snappy';
import { corrupt, tooLarge } from './record-batch-error.ts';

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
/** snappy-java's default block size; the Java client writes chunks of this much input. */
const XERIAL_CHUNK_BYTES = 32 * 1024;

export function compressSnappyXerial(data: Buffer): Buffer {
  const parts: Buffer[] = [xerialHeader()];
  for (let start = 0; start < data.length; start += XERIAL_CHUNK_BYTES) {
    const block = compressSync(data.subarray(start, start + XERIAL_CHUNK_BYTES));
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

function xerialHeader(): Buffer {
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8); // version
  header.writeInt32BE(1, 12); // minimum compatible version
  return header;
}

export function isXerialSnappy(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_BYTES && data.subarray(0, 8).equals(XERIAL_MAGIC);
}

/** Decompresses raw snappy or xerial-framed snappy, at most `maxOutputBytes` of output. */
export function decompressSnappy(data: Buffer, maxOutputBytes: number): Buffer {
  const blocks = isXerialSnappy(data) ? xerialBlocks(data) : [data];
  let total = 0;
  for (const block of blocks) {
    total += uncompressedLength(block);
    if (total > maxOutputBytes) throw tooLarge('snappy', maxOutputBytes);
  }
  const output = blocks.map(uncompressBlock);
  const result = output.length === 1 ? output[0] : Buffer.concat(output, total);
  if (result === undefined || result.length !== total) {
    throw corrupt('snappy data does not match its declared length');
  }
  return result;
}

function xerialBlocks(data: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  let position = XERIAL_HEADER_BYTES;
  while (position < data.length) {
    if (data.length - position < 4) throw corrupt('truncated xerial snappy chunk length');
    const length = data.readInt32BE(position);
    position += 4;
    if (length < 0 || length > data.length - position) {
      throw corrupt('xerial snappy chunk runs past the end of the data');
    }
    blocks.push(data.subarray(position, position + length));
    position += length;
  }
  return blocks;
}

/** The varint preamble of a raw snappy block: its uncompressed length (at most 2^32 - 1). */
function uncompressedLength(block: Buffer): number {
  let value = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const byte = block[i] ?? 0;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return value;
  }
  throw corrupt('invalid snappy length preamble');
}

function uncompressBlock(block: Buffer): Buffer {
  let output: string | Buffer;
  try {
    output = uncompressSync(block, { asBuffer: true });
  } catch (error: unknown) {
    throw corrupt('invalid snappy data', error);
  }
  if (typeof output === 'string') throw corrupt('snappy returned a string');
  return output;
}
