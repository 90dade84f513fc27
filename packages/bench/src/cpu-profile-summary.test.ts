import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarizeCpuProfile, type CpuProfile } from './cpu-profile-summary.ts';

const frame = (functionName: string, url = '', lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
});

test('summarizeCpuProfile charges each sample to its top frame, merging and skipping idle', () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)') },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('encode', 'file:///r/packages/storage/src/frame.ts', 27) },
      { id: 4, callFrame: frame('encode', 'file:///r/packages/storage/src/frame.ts', 27) },
      { id: 5, callFrame: frame('', 'node:buffer', 9) },
    ],
    samples: [2, 3, 4, 5, 2],
    timeDeltas: [1000, 300, 300, 400, 5000],
    startTime: 0,
    endTime: 7000,
  };
  assert.deepEqual(summarizeCpuProfile(profile), [
    { frame: 'encode (packages/storage/src/frame.ts:28)', selfMs: 0.6, selfPercent: 60 },
    { frame: '(anonymous) (node:buffer:10)', selfMs: 0.4, selfPercent: 40 },
  ]);
});

test('summarizeCpuProfile of a profile without samples is empty', () => {
  assert.deepEqual(summarizeCpuProfile({ nodes: [], startTime: 0, endTime: 0 }), []);
});
