import assert from 'node:assert/strict';
import { test } from 'node:test';
import { processCpuSeconds } from './process-cpu.ts';

test('processCpuSeconds reads this process and grows with work', () => {
  const before = processCpuSeconds(process.pid);
  const end = Date.now() + 150;
  let spin = 0;
  while (Date.now() < end) spin += 1;
  assert.ok(spin > 0);
  const after = processCpuSeconds(process.pid);
  assert.ok(before >= 0);
  assert.ok(after >= before);
  assert.ok(after - before <= 1, `implausible CPU growth ${after - before}`);
});
