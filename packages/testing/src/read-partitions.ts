/**
 * The assign-mode read behind `ClientDriver.consumeAll` for the in-process drivers, which send
 * their own Fetch requests (kafkajs through its internal Cluster, @platformatic/kafka through
 * Consumer.fetch).
 *
 * Invariants: a partition's offsets only move forward, so a record is kept once even when a
 * compressed batch comes back whole and repeats records before the fetch offset; the read ends
 * once `expected` records arrived, after `timeoutMs`, or when a round brought nothing new while
 * every partition was read up to its high watermark, so a short read fails fast instead of
 * waiting for the whole timeout.
 */
import type { ConsumedRecord } from './client-driver.ts';

/** One partition's part of a Fetch answer: its data records (no control records). */
export interface FetchedPartition {
  readonly partition: number;
  readonly highWatermark: bigint;
  readonly records: readonly ConsumedRecord[];
}

export interface ReadPartitionsOptions {
  /** Partitions 0..partitions-1 are read. */
  readonly partitions: number;
  readonly expected: number;
  readonly timeoutMs: number;
  /** One round of Fetch requests, each partition p from offset `next[p]`. */
  fetchRound(next: readonly bigint[]): Promise<FetchedPartition[]>;
}

export async function readPartitions(options: ReadPartitionsOptions): Promise<ConsumedRecord[]> {
  const next = Array.from({ length: options.partitions }, () => 0n);
  const highWatermarks = Array.from({ length: options.partitions }, () => -1n);
  const records: ConsumedRecord[] = [];
  const deadline = Date.now() + options.timeoutMs;
  while (records.length < options.expected && Date.now() < deadline) {
    const before = records.length;
    for (const fetched of await options.fetchRound(next)) {
      highWatermarks[fetched.partition] = fetched.highWatermark;
      for (const record of fetched.records) {
        if (record.offset < (next[fetched.partition] ?? 0n)) continue;
        records.push(record);
        next[fetched.partition] = record.offset + 1n;
      }
    }
    const caughtUp = next.every((offset, index) => offset >= (highWatermarks[index] ?? 0n));
    if (records.length === before && caughtUp) break;
  }
  return records;
}
