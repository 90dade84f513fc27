/**
 * producerStateOf: the PartitionProducerState of a partition log, built on first use from the
 * producer numbers storage keeps with every durable batch (PartitionLog.entries), so a retry
 * that crosses a restart or SIGKILL is still recognised as a duplicate.
 *
 * Keyed by the PartitionLog object: a deleted and re-created topic, or a reopened storage, gets
 * new logs and so fresh state. Built lazily and synchronously, before any idempotent append
 * to the partition went through this state, so it never misses a batch: every later batch is
 * recorded by the produce handler itself.
 *
 * Idle producers are swept out lazily, at most once a minute per partition, when the partition
 * is produced to (producer.id.expiration.ms, Kafka's default of one day). A partition nobody
 * produces to does not grow, so it needs no sweep.
 */
import type { PartitionLog } from '@tributary/storage';
import { PartitionProducerState } from './partition-producer-state.ts';

/** producer.id.expiration.ms (Kafka's default). */
const producerIdExpirationMs = 86_400_000;
const sweepIntervalMs = 60_000;

const states = new WeakMap<PartitionLog, PartitionProducerState>();
const lastSweepMs = new WeakMap<PartitionProducerState, number>();

/** The partition's producer state, built on first use; `nowMs` is the broker's clock. */
export function producerStateOf(log: PartitionLog, nowMs: number): PartitionProducerState {
  const state = states.get(log);
  if (state === undefined) return build(log, nowMs);
  if (nowMs - (lastSweepMs.get(state) ?? nowMs) >= sweepIntervalMs) {
    state.expireIdle(nowMs, producerIdExpirationMs);
    lastSweepMs.set(state, nowMs);
  }
  return state;
}

function build(log: PartitionLog, nowMs: number): PartitionProducerState {
  const state = PartitionProducerState.rebuild(producerBatchesOf(log), nowMs);
  states.set(log, state);
  lastSweepMs.set(state, nowMs);
  return state;
}

/** The log's batches with producer numbers, one at a time (a long history is never copied). */
function* producerBatchesOf(log: PartitionLog) {
  for (const entry of log.entries()) {
    // Transaction markers (base sequence -1) carry the producer id but no sequences.
    if (entry.producerId >= 0n && entry.baseSequence < 0) continue;
    yield {
      producerId: entry.producerId,
      producerEpoch: entry.producerEpoch,
      baseSequence: entry.baseSequence,
      lastOffsetDelta: Number(entry.lastOffset - entry.baseOffset),
      baseOffset: entry.baseOffset,
    };
  }
}
