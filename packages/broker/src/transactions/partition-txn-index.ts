/**
 * PartitionTxnIndex: per partition, the transactions that are open on it (producer id -> first
 * offset) and the aborted ones (producer id, first offset, offset of the abort marker). From it
 * come the last stable offset (the first offset of the earliest open transaction, or the high
 * watermark) and the aborted-transactions list of a read_committed Fetch. Aborted transactions
 * whose marker fell below the log start (retention, DeleteRecords) are dropped: no Fetch can ask
 * for them any more.
 *
 * Invariants: a transaction is open from the synchronous step that starts the append of its
 * first batch on the partition (the produce handler calls `begin` with the offset the log is
 * about to assign) until its marker is durable (`end`). So the LSO never passes data whose fate
 * is unknown. The aborted list is ordered by marker offset.
 *
 * Restart: `txnIndexOf(log)` builds the index once per PartitionLog from storage's batch index
 * (`log.entries()`, walked once without a copy). Entries carry the transactional/control flags
 * and marker type stored with them (BatchMeta.txn); only batches
 * stored without them (data written before storage kept them) are read and parsed. A batch
 * without a producer id is never transactional, so it is skipped unread. Until the index is
 * built, `loadedTxnIndex` answers undefined; everything that changes the index
 * (AddPartitionsToTxn before a produce can follow, the marker writer) awaits `txnIndexOf` first.
 */
import { readBatchHeader, readControlRecordType } from '@tributary/protocol';
import type { BatchEntry, PartitionLog, TxnFields } from '@tributary/storage';

export interface AbortedTransaction {
  readonly producerId: bigint;
  readonly firstOffset: bigint;
  /** Offset of the abort marker. */
  readonly lastOffset: bigint;
}

/** Kafka's control record types (the i16 after the key version); storage keeps them opaque. */
export const controlTypeAbort = 0;
export const controlTypeCommit = 1;

/** BatchMeta.txn for a batch header's flags; `control` batches also need their record type. */
export function txnFieldsOf(
  transactional: boolean,
  control: 'commit' | 'abort' | 'unknown' | false,
): TxnFields {
  if (control === false) return transactional ? transactionalData : nonTransactional;
  const controlType =
    control === 'commit' ? controlTypeCommit : control === 'abort' ? controlTypeAbort : -1;
  return { transactional, control: true, controlType };
}

const rebuildReadMaxBytes = 1024 * 1024;

const nonTransactional: TxnFields = Object.freeze({
  transactional: false,
  control: false,
  controlType: -1,
});
const transactionalData: TxnFields = Object.freeze({
  transactional: true,
  control: false,
  controlType: -1,
});

export class PartitionTxnIndex {
  readonly #open = new Map<bigint, bigint>();
  readonly #aborted: AbortedTransaction[] = [];
  readonly #logStartOffset: () => bigint;

  /** `logStartOffset` reads the partition's current log start. */
  constructor(logStartOffset: () => bigint = () => 0n) {
    this.#logStartOffset = logStartOffset;
  }

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
    this.#dropDeleted();
  }

  lastStableOffset(highWatermark: bigint): bigint {
    // Most partitions have no open transaction: skip the iterator, which a full fetch of 10,000
    // partitions otherwise makes 10,000 times (half of its reading time).
    if (this.#open.size === 0) return highWatermark;
    let lso = highWatermark;
    for (const first of this.#open.values()) if (first < lso) lso = first;
    return lso;
  }

  /** Aborted transactions overlapping [fromOffset, toOffset). */
  abortedBetween(fromOffset: bigint, toOffset: bigint): AbortedTransaction[] {
    this.#dropDeleted();
    return this.#aborted.filter((t) => t.lastOffset >= fromOffset && t.firstOffset < toOffset);
  }

  get openTransactions(): ReadonlyMap<bigint, bigint> {
    return this.#open;
  }

  /** How many aborted transactions are remembered (tests, metrics). */
  get abortedCount(): number {
    return this.#aborted.length;
  }

  /** The list is in marker order, so the deleted ones are a prefix. */
  #dropDeleted(): void {
    const logStart = this.#logStartOffset();
    let deleted = 0;
    while ((this.#aborted[deleted]?.lastOffset ?? logStart) < logStart) deleted += 1;
    if (deleted > 0) this.#aborted.splice(0, deleted);
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
  const index = new PartitionTxnIndex(() => log.logStartOffset);
  // The batches present now: appends during the awaits below are the produce path's to track.
  const end = log.logEndOffset;
  // A run of batches stored without flags, read in large chunks when it ends (as before flags).
  let run: { from: bigint; last: bigint } | undefined;
  for (const entry of log.entries()) {
    if (entry.baseOffset >= end) break;
    if (entry.txn === undefined && (run !== undefined || entry.producerId >= 0n)) {
      run = { from: run?.from ?? entry.baseOffset, last: entry.lastOffset };
      continue;
    }
    if (run !== undefined) await replayFromBytes(log, index, run.from, run.last + 1n);
    run = undefined;
    if (entry.producerId >= 0n && entry.txn !== undefined) apply(index, entry, entry.txn);
  }
  if (run !== undefined) await replayFromBytes(log, index, run.from, run.last + 1n);
  return index;
}

function apply(index: PartitionTxnIndex, entry: BatchEntry, txn: TxnFields): void {
  if (!txn.transactional) return;
  if (!txn.control) index.begin(entry.producerId, entry.baseOffset);
  else if (txn.controlType === controlTypeCommit) {
    index.end(entry.producerId, entry.baseOffset, 'commit');
  } else if (txn.controlType === controlTypeAbort) {
    index.end(entry.producerId, entry.baseOffset, 'abort');
  }
}

/** Reads and parses the batches holding offsets [from, end) and applies them to `index`. */
async function replayFromBytes(
  log: PartitionLog,
  index: PartitionTxnIndex,
  from: bigint,
  end: bigint,
): Promise<void> {
  // Retention or DeleteRecords may have moved the log start meanwhile.
  let offset = from > log.logStartOffset ? from : log.logStartOffset;
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
}
