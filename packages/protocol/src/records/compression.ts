/**
 * The five record-batch codecs of Kafka (attributes bits 0-2): none, gzip, snappy, lz4, zstd.
 * Decompression is always capped (`maxOutputBytes`): a batch is client input, and a few KB of
 * gzip or zstd can expand to gigabytes. Every codec checks the cap before or while producing
 * output, never after, and every failure is a RecordBatchError.
 *
 * Wire formats are the ones Kafka's Java client writes, so every consumer can read what we
 * write: gzip members, snappy in xerial framing, the LZ4 frame format (KIP-57), zstd frames.
 */
import zlib from 'node:zlib';
import { compressFrameSync } from 'lz4-napi';
import { decompressLz4Frame } from './lz4-frame.ts';
import { RecordBatchError, tooLarge } from './record-batch-error.ts';
import { compressSnappyXerial, decompressSnappy } from './snappy-xerial.ts';

export type CompressionType = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** Attribute codes (bits 0-2 of a batch's attributes) by compression type. */
export const compressionCodes: Readonly<Record<CompressionType, number>> = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
};

const typesByCode: readonly CompressionType[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** The compression type for attribute code `code` (0-7); undefined for the unused codes 5-7. */
export function compressionTypeOf(code: number): CompressionType | undefined {
  return typesByCode[code];
}

export function compress(type: CompressionType, data: Buffer): Buffer {
  switch (type) {
    case 'none':
      return data;
    case 'gzip':
      return zlib.gzipSync(data);
    case 'snappy':
      return compressSnappyXerial(data);
    case 'lz4':
      // lz4_flex writes independent blocks and a correct header checksum, as KIP-57 requires.
      return compressFrameSync(data);
    case 'zstd':
      return zlib.zstdCompressSync(data);
  }
}

/**
 * Decompresses `data`; throws RecordBatchError DECOMPRESSED_TOO_LARGE when the output would
 * exceed `maxOutputBytes`, and CORRUPT_MESSAGE when the bytes are not valid for the codec.
 */
export function decompress(type: CompressionType, data: Buffer, maxOutputBytes: number): Buffer {
  switch (type) {
    case 'none':
      if (data.length > maxOutputBytes) throw tooLarge(type, maxOutputBytes);
      return data;
    case 'gzip':
      return zlibDecompress(type, data, maxOutputBytes, zlib.gunzipSync);
    case 'zstd':
      return zlibDecompress(type, data, maxOutputBytes, zlib.zstdDecompressSync);
    case 'snappy':
      return decompressSnappy(data, maxOutputBytes);
    case 'lz4':
      return decompressLz4Frame(data, maxOutputBytes);
  }
}

type ZlibDecompress = (data: Buffer, options: { maxOutputLength: number }) => Buffer;

function zlibDecompress(
  type: CompressionType,
  data: Buffer,
  maxOutputBytes: number,
  decode: ZlibDecompress,
): Buffer {
  try {
    // zlib stops inflating as soon as the output passes maxOutputLength (it must be >= 1).
    return decode(data, { maxOutputLength: Math.max(1, maxOutputBytes) });
  } catch (error: unknown) {
    if (error instanceof RangeError && 'code' in error && error.code === 'ERR_BUFFER_TOO_LARGE') {
      throw tooLarge(type, maxOutputBytes, error);
    }
    throw new RecordBatchError('CORRUPT_MESSAGE', `invalid ${type} data`, { cause: error });
  }
}
