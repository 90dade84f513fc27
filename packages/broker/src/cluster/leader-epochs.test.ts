import assert from 'node:assert/strict';
import { test } from 'node:test';
import { epochEndOf } from './leader-epochs.ts';

// Epochs 2 (from 0), 3 (from 40, wrote nothing), 4 (from 40) and 6 (from 90, current, end 120).
const history = {
  leaderEpoch: 6,
  nextOffset: 120n,
  epochs: [
    { leaderEpoch: 2, startOffset: 0n },
    { leaderEpoch: 3, startOffset: 40n },
    { leaderEpoch: 4, startOffset: 40n },
    { leaderEpoch: 6, startOffset: 90n },
  ],
};

const endOf = (epoch: number) => {
  const { leaderEpoch, endOffset } = epochEndOf(history, epoch);
  return [leaderEpoch, endOffset];
};

test('the current epoch ends at the log end', () => {
  assert.deepEqual(endOf(6), [6, 120n]);
});

test('an older epoch ends where the next recorded one starts', () => {
  assert.deepEqual(endOf(2), [2, 40n]);
  assert.deepEqual(endOf(3), [3, 40n]);
  assert.deepEqual(endOf(4), [4, 90n]);
});

test('an epoch between recorded ones is answered with the largest one below it', () => {
  assert.deepEqual(endOf(5), [4, 90n]);
});

test('an epoch below every recorded one ends where the first starts', () => {
  assert.deepEqual(endOf(0), [0, 0n]);
});

test('an epoch past the current one, or -1, is unknown', () => {
  assert.deepEqual(endOf(7), [-1, -1n]);
  assert.deepEqual(endOf(-1), [-1, -1n]);
});

test('a history recorded before the epoch table existed ends older epochs at the log end', () => {
  const { leaderEpoch, endOffset } = epochEndOf({ leaderEpoch: 5, nextOffset: 9n, epochs: [] }, 3);
  assert.deepEqual([leaderEpoch, endOffset], [3, 9n]);
});
