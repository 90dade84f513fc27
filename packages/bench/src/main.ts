/**
 * `npm run bench -- [workload...] [--quick] [--data-parent DIR] [--no-docs] [--note TEXT]`
 *
 * Workloads (all when none is named): produce, latency, fanout, replay, scale, small-producers
 * (issue 5's six), and cluster (issue 12: 3 brokers over PostgreSQL and S3 vs the embedded
 * broker; skipped, saying why, when PostgreSQL or weed is missing). index-memory (issue 13: RSS
 * under 50 M small records) runs only when named. Prints one table per
 * workload, writes docs/benchmarks.md and one SVG chart per workload under docs/bench/ (unless
 * --no-docs; named workloads replace only their sections of docs/benchmarks.md), and the raw
 * reports as JSON under bench-results/. Every child process (brokers, peers, drivers) is killed
 * on exit, on signals and on failure; a workload that fails is reported as failed and the others
 * still run.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { renderBarChartSvg } from './bar-chart-svg.ts';
import type { BenchContext } from './bench-context.ts';
import {
  mergeMarkdown,
  renderMarkdown,
  renderTextTable,
  type WorkloadReport,
} from './bench-report.ts';
import { killAllChildren } from './broker-child.ts';
import { runClusterBench } from './cluster-bench.ts';
import { runFanoutBench } from './fanout-bench.ts';
import { addKafkaPeer } from './kafka-comparison.ts';
import { runIndexMemoryBench } from './index-memory-bench.ts';
import { runLatencyBench } from './latency-bench.ts';
import { runProduceWorkload } from './produce-workload.ts';
import { runReplayBench } from './replay-bench.ts';
import { runScaleBench } from './scale-bench.ts';
import { runSmallProducersBench } from './small-producers-bench.ts';
import { runValidationBench } from './validation-bench.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const workloads: ReadonlyMap<string, (context: BenchContext) => Promise<WorkloadReport>> = new Map([
  ['produce', runProduceWorkload],
  ['latency', runLatencyBench],
  ['fanout', runFanoutBench],
  ['replay', runReplayBench],
  ['scale', runScaleBench],
  ['small-producers', runSmallProducersBench],
  ['cluster', runClusterBench],
  ['index-memory', runIndexMemoryBench],
  ['validation', runValidationBench],
]);
/** Workloads run only when named. */
const namedOnly: ReadonlySet<string> = new Set(['index-memory']);
const usage =
  `usage: npm run bench -- [${[...workloads.keys()].join('|')} ...] ` +
  '[--quick] [--data-parent DIR] [--no-docs] [--no-kafka] [--note TEXT]';
const help = `${usage}

Runs the named workloads (all of them when none is named) and writes docs/benchmarks.md (a run
of named workloads replaces only their sections), docs/bench/<workload>.svg and bench-results/.

  produce          durable produce throughput beside the disk and the peers
  latency          end-to-end latency at 5000 records/s
  fanout           one topic read by several consumer groups
  replay           catch-up read of a backlog under a live producer
  scale            10000 partitions on one broker (startup, RSS, Metadata, then produce and
                   fetch load: CPU per GB and per Fetch), 100000 partitions (startup empty and
                   with a record in each); restart after SIGKILL
  small-producers  200 producers x 50 records/s
  cluster          \`tributary cluster up --brokers 3\` (PostgreSQL + S3 on loopback) against the
                   embedded broker: throughput, e2e latency, CPU per GB, RSS, and their ratios
                   (about 1.5 minutes; --quick under 1). Needs PostgreSQL's server programs
                   (apt-get install postgresql) and weed (bash
                   packages/testing/scripts/build-s3-server.sh); skipped, saying so, without them.
  index-memory     50 M small records (2 M with --quick) from the C load generator into one
                   broker; its RSS and live heap over the run (10%, 50%, 100%, slope) with a
                   bounded batch index (log.index.memory.max.bytes, ADR 0017), and a restart
                   on that data. Only when named.
  validation       produce with record validation off, schema ids checked, and payloads
                   decoded (issue 15, ADR 0020), as ratios to the unchecked run

  --quick              short phases and scaled-down sizes
  --data-parent DIR    where brokers and peers keep their data (default the system temp dir)
  --no-docs            print and write bench-results/ only, leave docs/ alone
  --note TEXT          a line about the run's conditions (e.g. a shared machine) for the docs
  --no-kafka           leave out Apache Kafka (issue 14: by default produce, latency, fanout,
                       replay and small-producers also run on a single KRaft node, flush per
                       message and page cache, its jars fetched once from Maven Central)
  -h, --help           this text`;

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
  options: { quick: boolean; argv: string[]; note: string | undefined; partial: boolean },
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
  const docsPath = resolve(repoRoot, 'docs/benchmarks.md');
  // Named workloads replace only their own sections; a full run rewrites the page.
  const existing =
    options.partial && existsSync(docsPath) ? readFileSync(docsPath, 'utf8') : undefined;
  const rendered = options.partial
    ? mergeMarkdown(existing, reports, info)
    : renderMarkdown(reports, info);
  writeFileSync(docsPath, await formatMarkdown(rendered));
  for (const report of reports) {
    if (report.chart.bars.length === 0) continue;
    writeFileSync(
      resolve(repoRoot, `docs/bench/${report.name}.svg`),
      renderBarChartSvg(report.chart),
    );
  }
  process.stdout.write('wrote docs/benchmarks.md and docs/bench/*.svg\n');
}

const benchOptions = {
  quick: { type: 'boolean', default: false },
  'data-parent': { type: 'string' },
  'no-docs': { type: 'boolean', default: false },
  note: { type: 'string' },
  'no-kafka': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: benchOptions });
  } catch (error: unknown) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${usage}\n`);
    process.exitCode = 2;
    return;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return;
  }
  const unknown = positionals.filter((name) => !workloads.has(name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown workload ${unknown.join(', ')}\n${usage}\n`);
    process.exitCode = 2;
    return;
  }
  // index-memory writes 50 M records (minutes): only when named. A run of the others then
  // merges into docs/benchmarks.md and keeps its section.
  const selected =
    positionals.length > 0 ? positionals : [...workloads.keys()].filter((n) => !namedOnly.has(n));
  const context: BenchContext = {
    quick: values.quick,
    dataParentDir: resolve(values['data-parent'] ?? tmpdir()),
    log: (line) => process.stderr.write(`bench: ${line}\n`),
    kafka: !values['no-kafka'],
  };
  const reports: WorkloadReport[] = [];
  for (const name of selected) {
    const run = workloads.get(name);
    if (run === undefined) continue;
    const startedAt = performance.now();
    context.log(`workload ${name}`);
    try {
      const report = await run(context);
      reports.push(context.kafka ? await addKafkaPeer(name, context, report) : report);
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
    const partial = selected.length < workloads.size;
    await writeOutputs(reports, { quick: values.quick, argv, note: values.note, partial });
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
