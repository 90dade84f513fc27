/**
 * PartitionTxnIndex: per partition, the transactions that are open on it (producer id -> first
 * offset) and the aborted ones (producer id, first offset, offset of the abort marker). From it
 * come the last stable offset (the first offset of the earliest open transaction, or the high
 * watermark) and the aborted-transactions list of a read_committed Fetch.
 *
 * Invariants: a transaction is open from the synchronous step that starts the append of its
 * first batch on the partition (the produce handler calls `begin` with the offset the log is
 * about to assign) until its marker is durable (`end`). So the LSO never passes data whose fate
 * is unknown. The aborted list is ordered by marker offset.
 *
 * Restart: `txnIndexOf(log)` builds the index once per PartitionLog by reading the partition's
 * batches (storage keeps producer numbers but not the transactional/control flags in its index),
 * only when the partition holds any batch with a producer id. Until it is built, `loadedTxnIndex`
 * answers undefined; everything that changes the index (AddPartitionsToTxn before a produce can
 * follow, the marker writer) awaits `txnIndexOf` first.
 */
import { readBatchHeader, readControlRecordType } from '@tributary/protocol';
import type { PartitionLog } from '@tributary/storage';

export interface AbortedTransaction {
  readonly producerId: bigint;
  readonly firstOffset: bigint;
  /** Offset of the abort marker. */
  readonly lastOffset: bigint;
}

const rebuildReadMaxBytes = 1024 * 1024;

export class PartitionTxnIndex {
  readonly #open = new Map<bigint, bigint>();
  readonly #aborted: AbortedTransaction[] = [];

  /** Records `producerId`'s transaction as open from `offset` unless it already is. */
  begin(producerId: bigint, offset: bigint): void {
    if (!this.#open.has(producerId)) this.#open.set(producerId, offset);
  }

  /** The marker at `markerOffset` (durable) ends `producerId`'s open transaction, if any. */
  end(producerId: bigint, markerOffset: bigint, result: 'commit' | 'abort'): void {
    const firstOffset = this.#open.get(producerId);
    if (firstOffset === undefined) return;
    this.#open.delete(producerId);
    if (result === 'abort') {
      this.#aborted.push({ producerId, firstOffset, lastOffset: markerOffset });
    }
  }

  lastStableOffset(highWatermark: bigint): bigint {
    let lso = highWatermark;
    for (const first of this.#open.values()) if (first < lso) lso = first;
    return lso;
  }

  /** Aborted transactions overlapping [fromOffset, toOffset). */
  abortedBetween(fromOffset: bigint, toOffset: bigint): AbortedTransaction[] {
    return this.#aborted.filter((t) => t.lastOffset >= fromOffset && t.firstOffset < toOffset);
  }

  get openTransactions(): ReadonlyMap<bigint, bigint> {
    return this.#open;
  }
}

const indexes = new WeakMap<PartitionLog, Promise<PartitionTxnIndex>>();
const loaded = new WeakMap<PartitionLog, PartitionTxnIndex>();

/** The partition's index, built on first use (see the header). */
export function txnIndexOf(log: PartitionLog): Promise<PartitionTxnIndex> {
  let index = indexes.get(log);
  if (index === undefined) {
    index = rebuild(log).then((built) => {
      loaded.set(log, built);
      return built;
    });
    indexes.set(log, index);
  }
  return index;
}

/** The index if it is built already, for synchronous callers (produce). */
export function loadedTxnIndex(log: PartitionLog): PartitionTxnIndex | undefined {
  return loaded.get(log);
}

async function rebuild(log: PartitionLog): Promise<PartitionTxnIndex> {
  const index = new PartitionTxnIndex();
  if (!log.batches.some((entry) => entry.producerId >= 0n)) return index;
  let offset = log.logStartOffset;
  const end = log.highWatermark;
  while (offset < end) {
    const batches = await log.read(offset, rebuildReadMaxBytes, end);
    if (batches.length === 0) break;
    for (const batch of batches) {
      const header = readBatchHeader(batch);
      offset = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
      if (!header.isTransactional) continue;
      if (!header.isControl) {
        index.begin(header.producerId, header.baseOffset);
        continue;
      }
      const type = readControlRecordType(batch);
      if (type !== null) index.end(header.producerId, header.baseOffset, type);
    }
  }
  return index;
}
