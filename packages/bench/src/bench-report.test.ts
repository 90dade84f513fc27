import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  renderMarkdown,
  renderTextTable,
  targetVerdict,
  type BenchFigure,
  type WorkloadReport,
} from './bench-report.ts';

const base = { system: 'tributary', client: 'c', metric: 'm', unit: 'ms' };

test('targetVerdict reports met or missed with the ratio oriented so that >= 1 is good', () => {
  const atMost: BenchFigure = { ...base, value: 20, target: { value: 10, atLeast: false } };
  assert.equal(targetVerdict(atMost), 'MISSED (<= 10.0, x0.50)');
  const atLeast: BenchFigure = { ...base, value: 300, target: { value: 200, atLeast: true } };
  assert.equal(targetVerdict(atLeast), 'met (>= 200, x1.50)');
  assert.equal(targetVerdict({ ...base, value: 1 }), '');
});

const report: WorkloadReport = {
  name: 'latency',
  title: 'e2e | latency',
  figures: [{ ...base, value: 1.5, perCpuSecond: 12000, target: { value: 2, atLeast: false } }],
  notes: ['a note'],
  chart: { title: 't', unit: 'ms', bars: [] },
};

test('renderTextTable prints a header, one row per figure and the notes', () => {
  const text = renderTextTable([report]);
  assert.match(text, /== latency: e2e \| latency/);
  assert.match(text, /tributary +c +m +1\.50 ms +12,000 +met/);
  assert.match(text, /- a note/);
});

test('renderMarkdown links the chart and escapes pipes in cells', () => {
  const markdown = renderMarkdown([report], {
    date: '2026-01-01T00:00:00Z',
    machine: 'test box',
    quick: true,
    command: 'npm run bench -- --quick',
  });
  assert.match(markdown, /^# Benchmarks/);
  assert.match(markdown, /!\[latency\]\(bench\/latency\.svg\)/);
  assert.match(markdown, /\| tributary \| c \| m \| 1\.50 ms \| 12,000 \| met/);
  assert.match(markdown, /- Machine: test box/);
});
