/**
 * PartitionProducerState: the idempotent-producer state of one partition, as a pure state
 * machine (no I/O, no clock). It follows Kafka's ProducerStateManager / ProducerAppendInfo:
 *
 * - Per producer id it keeps the current epoch and the last `producerBatchWindowSize` (5)
 *   batches with their sequence range and base offset: a retry of one of them is a duplicate,
 *   answered with the original base offset and not stored again.
 * - A batch of an older epoch is INVALID_PRODUCER_EPOCH (Kafka >= 2.7 answers Produce so, not
 *   PRODUCER_FENCED, so clients can abort and retry). A newer epoch must start at sequence 0.
 *   Within an epoch the first sequence must follow the last one (wrapping at 2^31-1 to 0),
 *   otherwise OUT_OF_ORDER_SEQUENCE_NUMBER.
 * - A producer id with no state (new, or its batches were all removed by retention) is accepted
 *   at any sequence: since KIP-360 Kafka no longer answers UNKNOWN_PRODUCER_ID here.
 * - A producer that appended nothing for producer.id.expiration.ms is forgotten
 *   (`expireIdle`), as Kafka does, so state does not grow with every producer session ever seen.
 *
 * Invariant: the state covers every batch that was appended or is being appended. A batch is
 * recorded by `begin` before its append starts (so pipelined requests are checked against the
 * batches still in flight) and removed again by `abort` if the append fails, restoring the state
 * from just before it. Callers must call `check` and `begin` with no await in between, and start
 * the append before awaiting anything, so the check-and-append is atomic per partition.
 */
import { ErrorCode } from '@tributary/protocol';

/** How many recent batches per producer are remembered for duplicate detection (Kafka: 5). */
export const producerBatchWindowSize = 5;
const sequenceMax = 0x7fff_ffff;

/** The producer fields of one batch, from its header. */
export interface ProducerBatch {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  /** The batch holds sequences baseSequence .. baseSequence + lastOffsetDelta (wrapping). */
  lastOffsetDelta: number;
}

/** A batch remembered for duplicate detection. */
export interface SequencedBatch {
  readonly producerEpoch: number;
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly baseOffset: bigint;
  /** Set while the batch's append is in flight; resolves when durable, rejects if it failed. */
  pending: Promise<unknown> | undefined;
}

export type SequenceVerdict =
  | { kind: 'append' }
  | { kind: 'duplicate'; batch: SequencedBatch }
  | { kind: 'error'; errorCode: number; message: string };

interface ProducerEntry {
  epoch: number;
  /** The caller's clock at the producer's last `begin` (at the rebuild for restored state). */
  lastAppendMs: number;
  /** Oldest first, at most producerBatchWindowSize. */
  batches: SequencedBatch[];
}

/** What `begin` changed, so `abort` can undo it. */
export interface BatchHandle {
  readonly producerId: bigint;
  readonly batch: SequencedBatch;
  readonly before: ProducerEntry | undefined;
}

export function lastSequenceOf(baseSequence: number, lastOffsetDelta: number): number {
  return baseSequence > sequenceMax - lastOffsetDelta
    ? lastOffsetDelta - (sequenceMax - baseSequence) - 1
    : baseSequence + lastOffsetDelta;
}

function inSequence(lastSequence: number, nextSequence: number): boolean {
  return nextSequence === lastSequence + 1 || (nextSequence === 0 && lastSequence === sequenceMax);
}

export class PartitionProducerState {
  readonly #producers = new Map<bigint, ProducerEntry>();

  /** Rebuilds the state from durable batches, oldest first (after a restart). */
  static rebuild(
    batches: Iterable<ProducerBatch & { baseOffset: bigint }>,
    nowMs: number,
  ): PartitionProducerState {
    const state = new PartitionProducerState();
    for (const batch of batches) {
      if (batch.producerId < 0n) continue;
      state.begin(batch, batch.baseOffset, nowMs);
    }
    return state;
  }

  /** Forgets producers whose last append is `maxIdleMs` old, unless a batch is in flight. */
  expireIdle(nowMs: number, maxIdleMs: number): void {
    for (const [producerId, entry] of this.#producers) {
      const idle = entry.lastAppendMs + maxIdleMs <= nowMs;
      if (idle && entry.batches.every((batch) => batch.pending === undefined)) {
        this.#producers.delete(producerId);
      }
    }
  }

  /** Number of producers with state (metrics, tests). */
  get producerCount(): number {
    return this.#producers.size;
  }

  check(batch: ProducerBatch): SequenceVerdict {
    const entry = this.#producers.get(batch.producerId);
    if (entry === undefined) return { kind: 'append' };
    const lastSequence = lastSequenceOf(batch.baseSequence, batch.lastOffsetDelta);
    if (batch.producerEpoch === entry.epoch) {
      const duplicate = entry.batches.find(
        (b) => b.firstSequence === batch.baseSequence && b.lastSequence === lastSequence,
      );
      if (duplicate !== undefined) return { kind: 'duplicate', batch: duplicate };
    }
    if (batch.producerEpoch < entry.epoch) {
      return error(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `producer ${batch.producerId} epoch ${batch.producerEpoch} is older than ${entry.epoch}`,
      );
    }
    if (batch.producerEpoch !== entry.epoch) {
      if (batch.baseSequence === 0) return { kind: 'append' };
      return error(
        ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        `producer ${batch.producerId}: new epoch ${batch.producerEpoch} must start at ` +
          `sequence 0, not ${batch.baseSequence}`,
      );
    }
    const last = entry.batches.at(-1)?.lastSequence;
    if (last === undefined || inSequence(last, batch.baseSequence)) return { kind: 'append' };
    return error(
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      `producer ${batch.producerId}: sequence ${batch.baseSequence} does not follow ${last}`,
    );
  }

  /** Records a batch that `check` accepted, about to be appended at `baseOffset`. */
  begin(batch: ProducerBatch, baseOffset: bigint, nowMs: number): BatchHandle {
    const current = this.#producers.get(batch.producerId);
    const before =
      current === undefined ? undefined : { ...current, batches: [...current.batches] };
    const entry = current ?? { epoch: batch.producerEpoch, lastAppendMs: nowMs, batches: [] };
    entry.lastAppendMs = nowMs;
    if (entry.epoch !== batch.producerEpoch) {
      entry.epoch = batch.producerEpoch;
      entry.batches = [];
    }
    const sequenced: SequencedBatch = {
      producerEpoch: batch.producerEpoch,
      firstSequence: batch.baseSequence,
      lastSequence: lastSequenceOf(batch.baseSequence, batch.lastOffsetDelta),
      baseOffset,
      pending: undefined,
    };
    entry.batches.push(sequenced);
    if (entry.batches.length > producerBatchWindowSize) entry.batches.shift();
    this.#producers.set(batch.producerId, entry);
    return { producerId: batch.producerId, batch: sequenced, before };
  }

  /**
   * The append of a begun batch failed: restore the producer's state from before it. A no-op if
   * the batch is no longer there (an earlier failed batch already rolled back past it).
   */
  abort(handle: BatchHandle): void {
    const entry = this.#producers.get(handle.producerId);
    if (entry === undefined || !entry.batches.includes(handle.batch)) return;
    if (handle.before === undefined) this.#producers.delete(handle.producerId);
    else this.#producers.set(handle.producerId, handle.before);
  }
}

function error(errorCode: number, message: string): SequenceVerdict {
  return { kind: 'error', errorCode, message };
}
