/**
 * Bytes each partition holds, for the console's topic page. Storage keeps no per-partition total
 * the broker can read, so the stored batches are summed from the batch index; to keep a page
 * that refreshes every second from walking whole logs each time, each partition's sum is carried
 * forward: later calls add only the batches appended since. A moved log start offset (retention,
 * DeleteRecords) or `fullWalkEvery` calls (compaction shrinks batches in place) start it over.
 */
import type { PartitionLog } from '@tributary/storage';

/** Batches one call reads at most per partition; the sum continues at the next call. */
const walkMaxBatches = 200_000;
/** Calls between full recounts of a partition (compaction changes sizes in place). */
const fullWalkEvery = 120;

interface Tally {
  start: bigint;
  /** One past the last offset counted. */
  walkedTo: bigint;
  bytes: number;
  calls: number;
}

export class PartitionSizes {
  readonly #tallies = new WeakMap<PartitionLog, Tally>();

  sizeOf(log: PartitionLog): number {
    let tally = this.#tallies.get(log);
    if (tally === undefined || tally.start !== log.logStartOffset || tally.calls >= fullWalkEvery) {
      tally = { start: log.logStartOffset, walkedTo: log.logStartOffset, bytes: 0, calls: 0 };
      this.#tallies.set(log, tally);
    }
    tally.calls += 1;
    let batches = 0;
    for (const entry of log.entries(tally.walkedTo)) {
      if (entry.lastOffset < tally.walkedTo) continue;
      tally.bytes += entry.sizeBytes;
      tally.walkedTo = entry.lastOffset + 1n;
      if (++batches >= walkMaxBatches) break;
    }
    return tally.bytes;
  }
}
