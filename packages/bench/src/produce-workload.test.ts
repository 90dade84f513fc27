/**
 * The produce workload's CPU ceiling note: what two processes sharing the cores can carry at
 * the CPU each spent per GB, and what 0.9 of the disk would leave the broker.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProducePhaseResult } from './produce-bench.ts';
import { cpuCeilingNote } from './produce-workload.ts';

/** A C phase of 1 GB (1,000,000 records of 1,000 bytes) in `seconds`. */
function phase(seconds: number, brokerCpuSeconds: number, generatorCpuSeconds?: number) {
  return {
    name: 'throughput-c',
    recordsAcked: 1_000_000,
    megabytesPerSecond: 1000 / seconds,
    brokerCpuSeconds,
    cpuUse: { cores: 2 },
    ...(generatorCpuSeconds === undefined ? {} : { generatorCpuSeconds }),
  } as unknown as ProducePhaseResult;
}

test('the ceiling is the cores over the CPU both processes spend per GB', () => {
  // 3 + 1 CPU-s per GB on 2 cores: 500 MB/s at most; 0.9 of a 1000 MB/s disk is 900 MB/s,
  // which with the generator at 1 CPU-s/GB leaves the broker 2 / 0.9 - 1 = 1.22 CPU-s/GB.
  const note = cpuCeilingNote(phase(2.5, 3, 1), 1000, 1000);
  assert.ok(note !== undefined);
  assert.match(note, /broker spent 3\.00 CPU-s per GB and the C load generator 1\.00/);
  assert.match(note, /carry at most 500 MB\/s at those costs \(80% of it reached; 50% of the disk/);
  assert.match(note, /\(900 MB\/s\) .* leave the broker 1\.22 CPU-s per GB/);
  assert.match(note, /bounded by its cores, not its disk/);
});

test('a machine whose cores allow the goal says so, and no generator figure gives no note', () => {
  const roomy = cpuCeilingNote(phase(1, 0.5, 0.5), 1000, 500);
  assert.match(roomy ?? '', /the cores allow it at these costs/);
  assert.equal(cpuCeilingNote(phase(1, 1), 1000, 1000), undefined);
});
