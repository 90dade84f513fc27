/**
 * Measures what the disk under a directory can do when every write must be durable: the
 * bandwidth of 1 MiB appends each followed by fdatasync, and the latency of a 4 KiB append plus
 * fdatasync. These are the ceiling and the floor for a broker that syncs before acknowledging,
 * so produce results are reported relative to them.
 *
 * Writes append to a fresh file (as a WAL does, so fdatasync also persists the file size) and
 * the file is removed afterwards. Synchronous I/O on purpose: nothing else runs meanwhile.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { summarizeMs, type LatencySummary } from './latency-summary.ts';

export interface DiskSyncOptions {
  /** Directory on the disk to probe; a temporary subdirectory is created and removed. */
  dir: string;
  bandwidthDurationMs: number;
  latencyDurationMs: number;
  /** Stop the bandwidth phase after this many bytes even if time remains. */
  bandwidthMaxBytes?: number;
}

export interface DiskSyncResult {
  blockBytes: number;
  blocks: number;
  /** MB/s (10^6 bytes) of 1 MiB write + fdatasync. */
  bandwidthMBps: number;
  smallWriteBytes: number;
  smallWriteLatency: LatencySummary;
}

const blockBytes = 1024 * 1024;
const smallWriteBytes = 4096;

export function probeDiskSync(options: DiskSyncOptions): DiskSyncResult {
  const probeDir = mkdtempSync(join(options.dir, 'disk-sync-probe-'));
  try {
    const bandwidth = measureBandwidth(join(probeDir, 'bandwidth'), options);
    const latencies = measureSmallWrites(join(probeDir, 'latency'), options.latencyDurationMs);
    return {
      blockBytes,
      blocks: bandwidth.blocks,
      bandwidthMBps: (bandwidth.blocks * blockBytes) / 1e6 / bandwidth.seconds,
      smallWriteBytes,
      smallWriteLatency: summarizeMs(latencies),
    };
  } finally {
    rmSync(probeDir, { recursive: true, force: true });
  }
}

/**
 * Only the latency half of probeDiskSync: 4 KiB append + fdatasync for `durationMs`. A
 * latency run notes it, since the disk of a shared machine has quiet and busy hours (its p99
 * moved from 0.9 to 3.9 ms within an hour on the same machine).
 */
export function probeSmallSyncLatency(dir: string, durationMs: number): LatencySummary {
  const probeDir = mkdtempSync(join(dir, 'disk-sync-probe-'));
  try {
    return summarizeMs(measureSmallWrites(join(probeDir, 'latency'), durationMs));
  } finally {
    rmSync(probeDir, { recursive: true, force: true });
  }
}

function measureBandwidth(
  path: string,
  options: DiskSyncOptions,
): { blocks: number; seconds: number } {
  const block = Buffer.alloc(blockBytes, 0x5a);
  const maxBlocks = Math.floor((options.bandwidthMaxBytes ?? 2 * 1024 ** 3) / blockBytes);
  const fd = openSync(path, 'a');
  try {
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(options.bandwidthDurationMs) * 1_000_000n;
    let blocks = 0;
    while (blocks < maxBlocks && process.hrtime.bigint() < deadline) {
      writeSync(fd, block);
      fdatasyncSync(fd);
      blocks += 1;
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { blocks, seconds };
  } finally {
    closeSync(fd);
  }
}

function measureSmallWrites(path: string, durationMs: number): number[] {
  const block = Buffer.alloc(smallWriteBytes, 0x5a);
  const fd = openSync(path, 'a');
  const latenciesMs: number[] = [];
  try {
    const deadline = Date.now() + durationMs;
    while (Date.now() < deadline) {
      const start = process.hrtime.bigint();
      writeSync(fd, block);
      fdatasyncSync(fd);
      latenciesMs.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return latenciesMs;
  } finally {
    closeSync(fd);
  }
}
