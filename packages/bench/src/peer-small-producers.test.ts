import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CpuUse } from './bench-context.ts';
import { combineSmallProducerRounds, type PeerSmallProducersRun } from './peer-small-producers.ts';

const use: CpuUse = {
  wallSeconds: 7,
  brokerCpuSeconds: 2,
  machineBusySeconds: 5,
  cores: 2,
  rssMb: 300,
  peakRssMb: 320,
};

function round(p99: number, acked: number, errors = 0): PeerSmallProducersRun {
  return {
    result: {
      sent: acked + errors,
      acked,
      errors,
      seconds: 7,
      ackMs: { samples: acked, p50: 1, p99, p999: p99 * 2, max: p99 * 3 },
      samples: [[0, 1]],
      windowP99Ms: [p99, p99, p99],
    },
    use,
    generatorSeconds: 1.5,
  };
}

test('interleaved rounds combine into the median round, every round p99 as a window', () => {
  const combined = combineSmallProducerRounds([
    round(23.7, 70_000),
    round(6.6, 69_000, 3),
    round(7, 70_000),
  ]);
  assert.equal(combined.result.ackMs.p99, 7);
  assert.equal(combined.result.ackMs.max, 21);
  assert.deepEqual(combined.result.windowP99Ms, [23.7, 6.6, 7]);
  assert.equal(combined.result.acked, 209_000);
  assert.equal(combined.result.sent, 209_003);
  assert.equal(combined.result.errors, 3);
  assert.equal(combined.result.seconds, 21);
  assert.deepEqual(combined.result.samples, []);
  assert.equal(combined.use.brokerCpuSeconds, 6);
  assert.equal(combined.generatorSeconds, 4.5);
  assert.throws(() => combineSmallProducerRounds([]), /no round to take the median of/);
});
