/** The pure pieces of the groups commands: reset targets, ISO durations, assignments, tables. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeConsumerAssignment } from './consumer-assignment.ts';
import { parseIsoDurationMs } from './iso-duration.ts';
import { planResetOffset, type PartitionPosition } from './offset-reset-plan.ts';
import { formatTable } from './text-table.ts';

const position: PartitionPosition = {
  topic: 't',
  partition: 0,
  committedOffset: 7n,
  logStartOffset: 5n,
  logEndOffset: 20n,
  offsetForTimestamp: null,
};

test('reset targets are clamped to [log start, log end]', () => {
  assert.equal(planResetOffset({ kind: 'to-earliest' }, position), 5n);
  assert.equal(planResetOffset({ kind: 'to-latest' }, position), 20n);
  assert.equal(planResetOffset({ kind: 'to-offset', offset: 2n }, position), 5n);
  assert.equal(planResetOffset({ kind: 'to-offset', offset: 99n }, position), 20n);
  assert.equal(planResetOffset({ kind: 'shift-by', shift: -1n }, position), 6n);
  assert.equal(planResetOffset({ kind: 'shift-by', shift: -10n }, position), 5n);
  const time = { kind: 'by-duration', durationMs: 1000 } as const;
  assert.equal(planResetOffset(time, position), 20n, 'no record after the time: log end');
  assert.equal(planResetOffset(time, { ...position, offsetForTimestamp: 9n }), 9n);
  assert.throws(
    () => planResetOffset({ kind: 'shift-by', shift: 1n }, { ...position, committedOffset: null }),
    /no committed offset/,
  );
});

test('ISO-8601 durations', () => {
  assert.equal(parseIsoDurationMs('PT10M'), 600_000);
  assert.equal(parseIsoDurationMs('P1DT2H3M4.5S'), 93_784_500);
  assert.equal(parseIsoDurationMs('P2D'), 172_800_000);
  assert.equal(parseIsoDurationMs('-PT1S'), -1000);
  for (const bad of ['P', 'PT', '10m', 'P1Y', 'PT1H2D', '']) {
    assert.throws(() => parseIsoDurationMs(bad), /ISO-8601/, bad);
  }
});

test('consumer protocol assignments decode, and truncated ones throw', () => {
  const bytes = Buffer.from([
    0, 1, 0, 0, 0, 1, 0, 1, 0x74, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff,
  ]);
  assert.deepEqual(decodeConsumerAssignment(bytes), {
    version: 1,
    topics: [{ topic: 't', partitions: [0, 3] }],
    userData: null,
  });
  assert.deepEqual(decodeConsumerAssignment(Buffer.alloc(0)).topics, []);
  assert.throws(() => decodeConsumerAssignment(bytes.subarray(0, 12)), /ends early/);
});

test('tables align columns and trim trailing spaces', () => {
  assert.equal(
    formatTable(
      ['A', 'LONG'],
      [
        ['xyz', '1'],
        ['b', ''],
      ],
    ),
    'A    LONG\nxyz  1\nb\n',
  );
});
