import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '@tributary/protocol';
import {
  PartitionProducerState,
  type ProducerBatch,
  lastSequenceOf,
} from './partition-producer-state.ts';

function batch(baseSequence: number, records = 1, producerEpoch = 0, producerId = 7n) {
  return { producerId, producerEpoch, baseSequence, lastOffsetDelta: records - 1 };
}

function accept(state: PartitionProducerState, b: ProducerBatch, baseOffset: bigint, nowMs = 0) {
  assert.deepEqual(state.check(b), { kind: 'append' });
  return state.begin(b, baseOffset, nowMs);
}

function errorOf(state: PartitionProducerState, b: ProducerBatch): number | undefined {
  const verdict = state.check(b);
  return verdict.kind === 'error' ? verdict.errorCode : undefined;
}

describe('PartitionProducerState', () => {
  it('accepts in-order batches and answers a retry with the original offset', () => {
    const state = new PartitionProducerState();
    accept(state, batch(0, 3), 0n);
    accept(state, batch(3, 2), 3n);
    const verdict = state.check(batch(0, 3));
    assert.equal(verdict.kind, 'duplicate');
    assert.equal(verdict.kind === 'duplicate' ? verdict.batch.baseOffset : -1n, 0n);
    accept(state, batch(5), 5n);
  });

  it('remembers only the last five batches', () => {
    const state = new PartitionProducerState();
    for (let i = 0; i < 6; i++) accept(state, batch(i), BigInt(i));
    assert.equal(errorOf(state, batch(0)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(state.check(batch(1)).kind, 'duplicate');
  });

  it('refuses gaps, old epochs and a new epoch not starting at 0', () => {
    const state = new PartitionProducerState();
    accept(state, batch(0, 1, 2), 0n);
    assert.equal(errorOf(state, batch(2, 1, 2)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(errorOf(state, batch(1, 1, 1)), ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(errorOf(state, batch(5, 1, 3)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    accept(state, batch(0, 1, 3), 1n);
    // The window was reset by the new epoch: epoch 2's batch is now a fenced one.
    assert.equal(errorOf(state, batch(0, 1, 2)), ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  it('accepts any first sequence from a producer it has no state for (KIP-360)', () => {
    const state = new PartitionProducerState();
    accept(state, batch(42), 0n);
    assert.equal(errorOf(state, batch(44)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  it('wraps sequences at 2^31-1', () => {
    assert.equal(lastSequenceOf(0x7fff_fffe, 3), 1);
    const state = new PartitionProducerState();
    accept(state, batch(0x7fff_fffe, 2), 0n);
    accept(state, batch(0, 1), 2n);
  });

  it('checks pipelined batches against the ones in flight, and rolls back failures', () => {
    const state = new PartitionProducerState();
    const first = accept(state, batch(0), 0n);
    const second = accept(state, batch(1), 1n);
    state.abort(first);
    state.abort(second);
    assert.equal(state.producerCount, 0);
    const again = accept(state, batch(0), 0n);
    accept(state, batch(1), 1n);
    const third = accept(state, batch(2), 2n);
    state.abort(third);
    assert.equal(state.check(batch(1)).kind, 'duplicate');
    assert.deepEqual(state.check(batch(2)), { kind: 'append' });
    assert.equal(again.batch.baseOffset, 0n);
  });

  it('rebuilds from durable batches, skipping those without a producer', () => {
    const state = PartitionProducerState.rebuild(
      [
        { ...batch(0, 2), baseOffset: 0n },
        { ...batch(-1, 1, -1, -1n), baseOffset: 2n },
        { ...batch(2, 2), baseOffset: 3n },
      ],
      0,
    );
    const verdict = state.check(batch(2, 2));
    assert.equal(verdict.kind === 'duplicate' ? verdict.batch.baseOffset : -1n, 3n);
    assert.deepEqual(state.check(batch(4)), { kind: 'append' });
  });

  it('forgets a producer idle for producer.id.expiration.ms, keeping busy ones', () => {
    const state = new PartitionProducerState();
    accept(state, batch(0, 1, 0, 1n), 0n, 0);
    const busy = accept(state, batch(0, 1, 0, 2n), 1n, 0);
    busy.batch.pending = new Promise(() => undefined);
    accept(state, batch(0, 1, 0, 3n), 2n, 500);
    state.expireIdle(999, 1000);
    assert.equal(state.producerCount, 3);
    state.expireIdle(1000, 1000);
    assert.equal(state.producerCount, 2, 'producer 1 went; 2 has a batch in flight; 3 is fresh');
    // A forgotten producer is new again: any sequence is accepted.
    assert.deepEqual(state.check(batch(57, 1, 0, 1n)), { kind: 'append' });
  });
});
