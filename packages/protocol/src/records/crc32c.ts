/**
 * CRC32C (Castagnoli), the checksum of record batches v2 (it covers attributes..end of batch).
 * Native through @node-rs/crc32, which uses the SSE4.2 instruction where the CPU has it.
 */
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/** CRC32C of `data` as an unsigned 32-bit number. */
export function crc32c(data: Uint8Array): number {
  return nativeCrc32c(data) >>> 0;
}
