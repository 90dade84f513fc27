// Checker self-tests: each hand-written anomaly must be flagged, clean histories must pass.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkAckedRecords, checkLogContinued } from './durability-check.ts';
import type { AckLine, RecordLine } from './python-driver.ts';

function ack(p: number, o: number, k: string): AckLine {
  return { type: 'ack', p, o, k, v: `${k}|x` };
}

function record(p: number, o: number, k: string, v = `${k}|x`): RecordLine {
  return { type: 'record', p, o, k, v };
}

const acks = [ack(0, 0, 'a'), ack(1, 0, 'b'), ack(0, 1, 'c')];
const clean = [record(0, 0, 'a'), record(0, 1, 'c'), record(1, 0, 'b'), record(1, 1, 'unacked')];

test('a clean history with an extra unacknowledged record passes', () => {
  assert.deepEqual(checkAckedRecords(acks, clean), []);
});

test('a lost acknowledged record is flagged', () => {
  const lost = clean.filter((r) => r.k !== 'c');
  assert.match(checkAckedRecords(acks, lost).join('\n'), /acked c at 0\/1 is missing/);
});

test('a changed value is flagged', () => {
  const changed = clean.map((r) => (r.k === 'a' ? record(0, 0, 'a', 'a|changed') : r));
  assert.match(checkAckedRecords(acks, changed).join('\n'), /acked a at 0\/0 has value/);
});

test('a hole is flagged', () => {
  const holed = [record(0, 0, 'a'), record(0, 2, 'c')];
  assert.match(checkAckedRecords([], holed).join('\n'), /expected offset 1, found 2/);
});

test('a duplicate offset is flagged', () => {
  const duplicated = [record(0, 0, 'a'), record(0, 0, 'a')];
  assert.notDeepEqual(checkAckedRecords([], duplicated), []);
});

test('a foreign record is flagged', () => {
  assert.match(checkAckedRecords([], [record(0, 0, 'a', 'zzz')]).join('\n'), /not written/);
});

test('checkLogContinued passes when offsets advance after each kill', () => {
  const history = [ack(0, 0, 'a'), ack(0, 1, 'b'), ack(0, 2, 'c'), ack(0, 3, 'd')];
  assert.deepEqual(checkLogContinued(history, [1, 3]), []);
});

test('checkLogContinued flags a log that restarted or stalled', () => {
  const reset = [ack(0, 0, 'a'), ack(0, 1, 'b'), ack(0, 0, 'c')];
  assert.match(checkLogContinued(reset, [2]).join('\n'), /did not continue after kill 0/);
  assert.match(checkLogContinued(reset, [3]).join('\n'), /no acks after kill 0/);
});
