/**
 * `npm run bench -- <benchmark> [--quick] [--data-parent DIR]`
 *
 * Benchmarks: `produce` (durable produce against the disk's fdatasync ceiling). Prints a table
 * and writes the full result as JSON under bench-results/ at the repository root.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runProduceBench, type ProduceBenchResult } from './produce-bench.ts';

const usage = 'usage: npm run bench -- produce [--quick] [--data-parent DIR]';
const resultsDir = resolve(import.meta.dirname, '../../..', 'bench-results');

function fixed(value: number, digits = 1): string {
  return value.toFixed(digits);
}

function printProduceTable(result: ProduceBenchResult): void {
  const { disk } = result;
  const rows: Array<[string, string]> = [
    ['disk: 1 MiB write+fdatasync', `${fixed(disk.bandwidthMBps)} MB/s (${disk.blocks} blocks)`],
    [
      'disk: 4 KiB write+fdatasync p50 / p99',
      `${fixed(disk.smallWriteLatency.p50Ms, 2)} / ${fixed(disk.smallWriteLatency.p99Ms, 2)} ms`,
    ],
  ];
  for (const phase of result.phases) {
    const rate = phase.rateLimitPerSecond > 0 ? `${phase.rateLimitPerSecond}/s` : 'unlimited';
    const label = `produce ${phase.name} (${rate}, linger ${phase.lingerMs} ms)`;
    rows.push(
      [
        `${label}: throughput`,
        `${fixed(phase.megabytesPerSecond)} MB/s, ${fixed(phase.recordsPerSecond, 0)} records/s`,
      ],
      [
        `${label}: ack p50 / p99 / max`,
        `${fixed(phase.ackLatencyP50Ms, 2)} / ` +
          `${fixed(phase.ackLatencyP99Ms, 2)} / ${fixed(phase.ackLatencyMaxMs, 2)} ms`,
      ],
      [
        `${label}: broker CPU`,
        `${fixed(phase.brokerCpuSeconds, 2)} s (user ${fixed(phase.brokerCpuUserSeconds, 2)}, ` +
          `system ${fixed(phase.brokerCpuSystemSeconds, 2)}), ` +
          `${fixed(phase.recordsPerBrokerCpuSecond, 0)} records per CPU-second`,
      ],
      [
        `${label}: acked / errors`,
        `${phase.recordsAcked} / ${phase.errors}` +
          (phase.firstError === null ? '' : ` (${phase.firstError})`),
      ],
    );
  }
  rows.push(['produce MB/s / fdatasync MB/s', fixed(result.produceToFdatasyncRatio, 3)]);
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, value] of rows) process.stdout.write(`${label.padEnd(width)}  ${value}\n`);
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { quick: { type: 'boolean', default: false }, 'data-parent': { type: 'string' } },
  });
  const [benchmark] = positionals;
  if (benchmark !== 'produce') {
    process.stderr.write(`${usage}\n`);
    process.exitCode = 2;
    return;
  }
  const result = await runProduceBench({
    quick: values.quick,
    ...(values['data-parent'] === undefined
      ? {}
      : { dataParentDir: resolve(values['data-parent']) }),
    log: (line) => process.stderr.write(`bench: ${line}\n`),
  });
  printProduceTable(result);
  mkdirSync(resultsDir, { recursive: true });
  const file = resolve(resultsDir, `produce-${result.startedAt.replaceAll(':', '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`result written to ${file}\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(
    `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
