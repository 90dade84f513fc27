/**
 * `npm run bench -- [workload...] [--quick] [--data-parent DIR] [--no-docs] [--note TEXT]`
 *
 * Workloads (all when none is named): produce, latency, fanout, replay, scale, small-producers
 * (issue 5's six). Prints one table per workload, writes docs/benchmarks.md and one SVG chart per
 * workload under docs/bench/ (unless --no-docs), and the raw reports as JSON under
 * bench-results/. Every child process (brokers, peers, drivers) is killed on exit, on signals
 * and on failure; a workload that fails is reported as failed and the others still run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { renderBarChartSvg } from './bar-chart-svg.ts';
import type { BenchContext } from './bench-context.ts';
import { renderMarkdown, renderTextTable, type WorkloadReport } from './bench-report.ts';
import { killAllChildren } from './broker-child.ts';
import { runFanoutBench } from './fanout-bench.ts';
import { runLatencyBench } from './latency-bench.ts';
import { runProduceWorkload } from './produce-workload.ts';
import { runReplayBench } from './replay-bench.ts';
import { runScaleBench } from './scale-bench.ts';
import { runSmallProducersBench } from './small-producers-bench.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const workloads: ReadonlyMap<string, (context: BenchContext) => Promise<WorkloadReport>> = new Map([
  ['produce', runProduceWorkload],
  ['latency', runLatencyBench],
  ['fanout', runFanoutBench],
  ['replay', runReplayBench],
  ['scale', runScaleBench],
  ['small-producers', runSmallProducersBench],
]);
const usage =
  `usage: npm run bench -- [${[...workloads.keys()].join('|')} ...] ` +
  '[--quick] [--data-parent DIR] [--no-docs] [--note TEXT]';

function failedReport(name: string, error: unknown): WorkloadReport {
  const message = error instanceof Error ? error.message : String(error);
  return {
    name,
    title: 'FAILED',
    figures: [],
    notes: [`workload failed: ${message.split('\n').slice(0, 6).join(' / ')}`],
    chart: { title: `${name}: failed`, unit: '', bars: [] },
  };
}

function machineDescription(): string {
  const cpu = cpus();
  return (
    `${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ` +
    `${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Linux ${release()}, Node ${process.version}; ` +
    'load generators share the cores with the system under test'
  );
}

/** The command line without `--note TEXT` (the note is printed on its own line). */
function withoutNote(argv: string[]): string[] {
  const out: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] ?? '';
    if (arg === '--note') index += 1;
    else if (!arg.startsWith('--note=')) out.push(arg);
  }
  return out;
}

/** Runs the repository's Prettier over the Markdown so `npm run format:check` stays clean. */
async function formatMarkdown(markdown: string): Promise<string> {
  try {
    const prettier = await import('prettier');
    const config = (await prettier.resolveConfig(resolve(repoRoot, 'docs/benchmarks.md'))) ?? {};
    return await prettier.format(markdown, { ...config, parser: 'markdown' });
  } catch (error: unknown) {
    process.stderr.write(`bench: prettier unavailable, docs left unformatted: ${String(error)}\n`);
    return markdown;
  }
}

async function writeOutputs(
  reports: WorkloadReport[],
  options: { quick: boolean; argv: string[]; note: string | undefined },
): Promise<void> {
  const date = new Date().toISOString();
  const info = {
    date,
    machine: machineDescription(),
    quick: options.quick,
    command: ['npm run bench --', ...withoutNote(options.argv)].join(' '),
    ...(options.note === undefined ? {} : { note: options.note }),
  };
  mkdirSync(resolve(repoRoot, 'docs/bench'), { recursive: true });
  const markdown = await formatMarkdown(renderMarkdown(reports, info));
  writeFileSync(resolve(repoRoot, 'docs/benchmarks.md'), markdown);
  for (const report of reports) {
    if (report.chart.bars.length === 0) continue;
    writeFileSync(
      resolve(repoRoot, `docs/bench/${report.name}.svg`),
      renderBarChartSvg(report.chart),
    );
  }
  process.stdout.write('wrote docs/benchmarks.md and docs/bench/*.svg\n');
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      'data-parent': { type: 'string' },
      'no-docs': { type: 'boolean', default: false },
      note: { type: 'string' },
    },
  });
  const unknown = positionals.filter((name) => !workloads.has(name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown workload ${unknown.join(', ')}\n${usage}\n`);
    process.exitCode = 2;
    return;
  }
  const selected = positionals.length > 0 ? positionals : [...workloads.keys()];
  const context: BenchContext = {
    quick: values.quick,
    dataParentDir: resolve(values['data-parent'] ?? tmpdir()),
    log: (line) => process.stderr.write(`bench: ${line}\n`),
  };
  const reports: WorkloadReport[] = [];
  for (const name of selected) {
    const run = workloads.get(name);
    if (run === undefined) continue;
    const startedAt = performance.now();
    context.log(`workload ${name}`);
    try {
      reports.push(await run(context));
    } catch (error: unknown) {
      killAllChildren();
      reports.push(failedReport(name, error));
    }
    context.log(`workload ${name} took ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
    process.stdout.write(renderTextTable(reports.slice(-1)));
  }
  const resultsDir = resolve(repoRoot, 'bench-results');
  mkdirSync(resultsDir, { recursive: true });
  const file = resolve(resultsDir, `bench-${new Date().toISOString().replaceAll(':', '-')}.json`);
  writeFileSync(file, `${JSON.stringify(reports, null, 2)}\n`);
  process.stdout.write(`\nreports written to ${file}\n`);
  if (!values['no-docs']) {
    await writeOutputs(reports, { quick: values.quick, argv, note: values.note });
  }
}

process.on('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

main(process.argv.slice(2)).then(
  () => process.exit(),
  (error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
