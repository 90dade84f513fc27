import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  mergeMarkdown,
  renderMarkdown,
  renderTextTable,
  skippedReport,
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
  chart: { title: 't', unit: 'ms', bars: [{ label: 'p50', value: 1.5 }] },
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

const info = {
  date: '2026-02-02T00:00:00Z',
  machine: 'test box',
  quick: false,
  command: 'npm run bench -- latency',
};

test('mergeMarkdown replaces the named section, keeps the others and says how it ran', () => {
  const other: WorkloadReport = { ...report, name: 'produce', title: 'produce title' };
  const existing = renderMarkdown([other, { ...report, notes: ['old note'] }], info);
  const merged = mergeMarkdown(existing, [{ ...report, notes: ['new note'] }], info);
  assert.match(merged, /## produce: produce title/);
  assert.match(merged, /- new note/);
  assert.doesNotMatch(merged, /old note/);
  assert.match(merged, /- This section: 2026-02-02T00:00:00Z, full, `npm run bench -- latency`/);
  assert.equal(merged.match(/^## latency:/gm)?.length, 1);
});

test('mergeMarkdown appends a new section but never erases figures with a skipped run', () => {
  const existing = renderMarkdown([report], info);
  const skipped = skippedReport('latency', 'latency title', 'no weed here');
  assert.match(mergeMarkdown(existing, [skipped], info), /\| 1\.50 ms \|/);
  const added = mergeMarkdown(
    existing,
    [skippedReport('cluster', 'cluster title', 'no weed')],
    info,
  );
  assert.match(added, /## cluster: cluster title: SKIPPED/);
  assert.match(added, /- skipped: no weed/);
  assert.doesNotMatch(added, /bench\/cluster\.svg/);
});

test('the header gathers every targeted figure with the date of the run it comes from', () => {
  const targeted: WorkloadReport = {
    ...report,
    name: 'produce',
    title: 'produce title',
    figures: [
      {
        ...base,
        metric: 'throughput',
        value: 300,
        unit: 'MB/s',
        target: { value: 299, atLeast: true },
      },
      { ...base, metric: 'untargeted', value: 1, unit: 'x' },
    ],
  };
  const full = renderMarkdown([targeted, report], { ...info, date: '2026-01-01T00:00:00Z' });
  assert.match(full, /### Goals/);
  assert.match(
    full,
    /\| produce \| tributary \| c \| throughput \| 300 MB\/s \| met \(>= 299, x1\.00\) \| 2026-01-01 \|/,
  );
  assert.doesNotMatch(full, /\| produce \| tributary \| c \| untargeted/);
  // A later run of one workload: its goal rows carry that run's date, the header's facts stay.
  const missed = {
    ...targeted,
    figures: [
      {
        ...base,
        metric: 'throughput',
        value: 150,
        unit: 'MB/s',
        target: { value: 299, atLeast: true },
      },
    ],
  };
  const merged = mergeMarkdown(full, [missed], info);
  assert.match(merged, /- Date: 2026-01-01T00:00:00Z/);
  assert.match(
    merged,
    /\| produce \| tributary \| c \| throughput \| 150 MB\/s \| MISSED .* \| 2026-02-02 \|/,
  );
  assert.equal(merged.match(/### Goals/g)?.length, 1);
  assert.equal(merged.match(/^## /gm)?.length, 2);
});
