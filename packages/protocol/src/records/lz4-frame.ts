/**
 * Capped decompression of the LZ4 frame format, the one Kafka uses since KIP-57 (magic v1+
 * batches carry a correct header checksum). The native decoder (lz4-napi) has no output cap,
 * so the frame's block headers are walked first: each block's output is bounded by the block
 * maximum size and by 255 times its compressed length (LZ4's largest expansion). When that
 * bound fits under the cap the native decoder runs; otherwise a small JS decoder writes into a
 * buffer of exactly the cap and fails the moment the output would pass it.
 *
 * Only one frame is accepted and nothing may follow it: the bound covers what was walked.
 */
import { decompressFrameSync } from 'lz4-napi';
import { corrupt, tooLarge } from './record-batch-error.ts';

const FRAME_MAGIC = 0x184d2204;
const FLG_VERSION_MASK = 0xc0;
const FLG_VERSION_1 = 0x40;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED_AND_DICT = 0x03;
const UNCOMPRESSED_BLOCK_BIT = 0x80000000;
/** LZ4 cannot expand a compressed byte to more than 255 bytes of output. */
const MAX_EXPANSION = 255;

interface Lz4Block {
  start: number;
  end: number;
  compressed: boolean;
}

interface Lz4Frame {
  blocks: Lz4Block[];
  /** Upper bound on the decompressed size. */
  outputBoundBytes: number;
}

export function decompressLz4Frame(data: Buffer, maxOutputBytes: number): Buffer {
  const frame = walkFrame(data, maxOutputBytes);
  if (frame.outputBoundBytes <= maxOutputBytes) {
    let output: Buffer;
    try {
      output = decompressFrameSync(data);
    } catch (error: unknown) {
      throw corrupt('invalid lz4 frame', error);
    }
    if (output.length > maxOutputBytes) throw tooLarge('lz4', maxOutputBytes);
    return output;
  }
  return decodeFrameInJs(data, frame, maxOutputBytes);
}

function walkFrame(data: Buffer, maxOutputBytes: number): Lz4Frame {
  if (data.length < 7 || data.readUInt32LE(0) !== FRAME_MAGIC) throw corrupt('not an lz4 frame');
  const flags = data[4] ?? 0;
  if ((flags & FLG_VERSION_MASK) !== FLG_VERSION_1 || (flags & FLG_RESERVED_AND_DICT) !== 0) {
    throw corrupt('unsupported lz4 frame flags');
  }
  const blockMaxId = ((data[5] ?? 0) >> 4) & 0x07;
  if (blockMaxId < 4) throw corrupt('invalid lz4 block maximum size');
  const blockMaxBytes = 1 << (2 * blockMaxId + 8);
  let position = 6;
  if ((flags & FLG_CONTENT_SIZE) !== 0) {
    if (data.length < position + 9) throw corrupt('truncated lz4 frame header');
    if (data.readBigUInt64LE(position) > BigInt(maxOutputBytes))
      throw tooLarge('lz4', maxOutputBytes);
    position += 8;
  }
  position += 1; // header checksum, verified by the decoder (KIP-57: it is correct in v2 batches)
  const blockChecksumBytes = (flags & FLG_BLOCK_CHECKSUM) !== 0 ? 4 : 0;
  const blocks: Lz4Block[] = [];
  let outputBoundBytes = 0;
  for (;;) {
    if (data.length - position < 4) throw corrupt('truncated lz4 frame');
    const word = data.readUInt32LE(position);
    position += 4;
    if (word === 0) break;
    const length = word & ~UNCOMPRESSED_BLOCK_BIT;
    const compressed = (word & UNCOMPRESSED_BLOCK_BIT) === 0;
    if (length > blockMaxBytes || data.length - position < length + blockChecksumBytes) {
      throw corrupt('invalid lz4 block length');
    }
    blocks.push({ start: position, end: position + length, compressed });
    outputBoundBytes += compressed ? Math.min(blockMaxBytes, length * MAX_EXPANSION) : length;
    position += length + blockChecksumBytes;
  }
  if ((flags & FLG_CONTENT_CHECKSUM) !== 0) position += 4;
  if (position !== data.length) throw corrupt('unexpected bytes after the lz4 frame');
  return { blocks, outputBoundBytes };
}

/** Decodes into a buffer of exactly the cap; checksums are not verified on this path. */
function decodeFrameInJs(data: Buffer, frame: Lz4Frame, maxOutputBytes: number): Buffer {
  const output = Buffer.allocUnsafe(maxOutputBytes);
  let written = 0;
  for (const block of frame.blocks) {
    if (block.compressed) {
      written = decodeBlock(data, block, output, written);
    } else {
      if (block.end - block.start > output.length - written) throw tooLarge('lz4', maxOutputBytes);
      written += data.copy(output, written, block.start, block.end);
    }
  }
  return output.subarray(0, written);
}

/**
 * One LZ4 block: sequences of [token][literal length+][literals][offset][match length+].
 * Matches may reach back into earlier blocks' output, which also covers linked-block frames.
 */
function decodeBlock(src: Buffer, block: Lz4Block, out: Buffer, outStart: number): number {
  let s = block.start;
  let o = outStart;
  for (;;) {
    if (s >= block.end) throw corrupt('truncated lz4 block');
    const token = src[s++] ?? 0;
    let literals = token >>> 4;
    if (literals === 15) [literals, s] = readLength(src, s, block.end, literals);
    if (literals > block.end - s) throw corrupt('lz4 literals run past the block');
    if (literals > out.length - o) throw tooLarge('lz4', out.length);
    o += src.copy(out, o, s, s + literals);
    s += literals;
    if (s === block.end) return o;
    if (block.end - s < 2) throw corrupt('truncated lz4 match offset');
    const offset = src.readUInt16LE(s);
    s += 2;
    if (offset === 0 || offset > o) throw corrupt('invalid lz4 match offset');
    let matchLength = token & 0x0f;
    if (matchLength === 15) [matchLength, s] = readLength(src, s, block.end, matchLength);
    matchLength += 4;
    if (matchLength > out.length - o) throw tooLarge('lz4', out.length);
    if (offset >= matchLength) {
      o += out.copy(out, o, o - offset, o - offset + matchLength);
    } else {
      // Overlapping match: a run that repeats the last `offset` bytes, copied byte by byte.
      for (let i = 0; i < matchLength; i++, o++) out[o] = out[o - offset] ?? 0;
    }
  }
}

function readLength(src: Buffer, start: number, end: number, initial: number): [number, number] {
  let value = initial;
  let s = start;
  let byte = 255;
  while (byte === 255) {
    if (s >= end) throw corrupt('truncated lz4 length');
    byte = src[s++] ?? 0;
    value += byte;
  }
  return [value, s];
}
