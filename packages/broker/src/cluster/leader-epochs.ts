/**
 * The end offset of a leader epoch, as Kafka's leader epoch cache answers OffsetForLeaderEpoch
 * (KIP-101, KIP-279, KIP-320): a consumer that saw records of epoch E up to offset P asks where E
 * ended; an end below P means the log it read from was truncated since (it diverged).
 *
 * - the current epoch ends at the log end;
 * - an older epoch E ends where the first later epoch starts, answered with the largest known
 *   epoch at or below E (E itself when it is in the history);
 * - an epoch below every known one ends where the first known one starts, answered as E;
 * - an epoch above every known one, or -1, is unknown: (-1, -1).
 *
 * In cluster mode the history is the catalog's partition_epochs (one entry per lease claim, at
 * the committed end of that moment); embedded, the one epoch 0 from offset 0.
 */
import type { EpochHistory } from '@tributary/storage';

export const undefinedEpoch = -1;
export const undefinedEpochOffset = -1n;

export interface EpochEnd {
  leaderEpoch: number;
  endOffset: bigint;
}

export function epochEndOf(history: EpochHistory, requested: number): EpochEnd {
  const unknown = { leaderEpoch: undefinedEpoch, endOffset: undefinedEpochOffset };
  if (requested < 0) return unknown;
  if (requested === history.leaderEpoch) {
    return { leaderEpoch: requested, endOffset: history.nextOffset };
  }
  const { epochs } = history;
  const higher = epochs.find((entry) => entry.leaderEpoch > requested);
  if (higher === undefined) {
    // Past every recorded epoch: the current one when the history has not caught up, else unknown.
    return requested < history.leaderEpoch
      ? { leaderEpoch: requested, endOffset: history.nextOffset }
      : unknown;
  }
  const floor = epochs.findLast((entry) => entry.leaderEpoch <= requested);
  return { leaderEpoch: floor?.leaderEpoch ?? requested, endOffset: higher.startOffset };
}
