/**
 * producerStateOf: the PartitionProducerState of a partition log, built on first use from the
 * producer numbers storage keeps with every durable batch (PartitionLog.batches), so a retry
 * that crosses a restart or SIGKILL is still recognised as a duplicate.
 *
 * Keyed by the PartitionLog object: a deleted and re-created topic, or a reopened storage, gets
 * new logs and so fresh state. Built lazily and synchronously, before any idempotent append
 * to the partition went through this state, so it never misses a batch: every later batch is
 * recorded by the produce handler itself.
 */
import type { PartitionLog } from '@tributary/storage';
import { PartitionProducerState } from './partition-producer-state.ts';

const states = new WeakMap<PartitionLog, PartitionProducerState>();

export function producerStateOf(log: PartitionLog): PartitionProducerState {
  let state = states.get(log);
  if (state === undefined) {
    state = PartitionProducerState.rebuild(
      // Transaction markers (base sequence -1) carry the producer id but no sequences.
      log.batches
        .filter((entry) => entry.producerId < 0n || entry.baseSequence >= 0)
        .map((entry) => ({
          producerId: entry.producerId,
          producerEpoch: entry.producerEpoch,
          baseSequence: entry.baseSequence,
          lastOffsetDelta: Number(entry.lastOffset - entry.baseOffset),
          baseOffset: entry.baseOffset,
        })),
    );
    states.set(log, state);
  }
  return state;
}
