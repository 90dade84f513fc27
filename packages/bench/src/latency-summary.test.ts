import assert from 'node:assert/strict';
import { test } from 'node:test';
import { percentile, summarizeMs } from './latency-summary.ts';

test('summarizeMs reports nearest-rank percentiles and the maximum', () => {
  const samples = Array.from({ length: 101 }, (_, index) => 100 - index);
  assert.deepEqual(summarizeMs(samples), { samples: 101, p50Ms: 50, p99Ms: 99, maxMs: 100 });
});

test('percentile of no samples is 0', () => {
  assert.equal(percentile([], 0.5), 0);
});
