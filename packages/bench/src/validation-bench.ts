/**
 * Workload validation (issue 15, docs/adr/0020): what record validation at the broker costs.
 * One broker with its schema registry and an Avro schema of type "bytes"; the C load generator
 * writes the same framed 1 KiB values (magic byte, schema id, Avro length, filler; acks=all,
 * linger 2 ms) to three topics in turn: unchecked, schema id checked
 * (`confluent.value.schema.validation`), and decoded against the schema
 * (`tributary.schema.validation.decode`). Reported: throughput and records per broker
 * CPU-second for each, and each checked run as a ratio to the unchecked one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Admin } from '@platformatic/kafka';
import { cpuUseWindow, uniqueTopic, type BenchContext } from './bench-context.ts';
import type { BenchFigure, WorkloadReport } from './bench-report.ts';
import { startBrokerChild, type BrokerChild } from './broker-child.ts';
import { nativeClient, nativeLoadAvailable, startNativeProduce } from './native-load.ts';
import { freePort } from './peer-servers.ts';

const valueBytes = 1024;

interface Mode {
  label: string;
  configs: Record<string, string>;
}

const modes: readonly Mode[] = [
  { label: 'no validation', configs: {} },
  { label: 'schema id checked', configs: { 'confluent.value.schema.validation': 'true' } },
  {
    label: 'decoded against the schema',
    configs: {
      'confluent.value.schema.validation': 'true',
      'tributary.schema.validation.decode': 'true',
    },
  },
];

interface ModeRun {
  mode: Mode;
  megabytesPerSecond: number;
  recordsPerCpuSecond: number;
  acked: number;
  errors: number;
}

/** The registry frame of a value of `valueBytes` under schema `id` (Avro "bytes"). */
export function framePrefix(id: number): Buffer {
  const head = Buffer.alloc(5);
  head.writeInt32BE(id, 1);
  // Avro bytes: a zigzag varint length, then the bytes; the filler makes up the rest.
  for (let lengthBytes = 1; lengthBytes <= 5; lengthBytes++) {
    const length = valueBytes - head.length - lengthBytes;
    const varint = zigzagVarint(length);
    if (varint.length === lengthBytes) return Buffer.concat([head, varint]);
  }
  throw new Error('no varint length fits');
}

function zigzagVarint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value * 2;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

async function registerBytesSchema(registryUrl: string): Promise<number> {
  const response = await fetch(`${registryUrl}/subjects/bench-validation-value/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema: '"bytes"' }),
  });
  const body = (await response.json()) as { id?: number; message?: string };
  if (body.id === undefined) throw new Error(`registering the schema: ${body.message ?? ''}`);
  return body.id;
}

async function createTopic(bootstrap: string, topic: string, configs: Record<string, string>) {
  const admin = new Admin({ clientId: 'bench-validation', bootstrapBrokers: [bootstrap] });
  try {
    await admin.createTopics({
      topics: [topic],
      partitions: 1,
      replicas: 1,
      configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
    });
  } finally {
    await admin.close();
  }
}

async function runMode(
  broker: BrokerChild,
  mode: Mode,
  prefix: Buffer,
  records: number,
): Promise<ModeRun> {
  const topic = uniqueTopic('validation');
  await createTopic(broker.bootstrap, topic, mode.configs);
  const use = cpuUseWindow(broker.pid);
  const run = await startNativeProduce({
    bootstrap: broker.bootstrap,
    topic,
    records,
    size: valueBytes,
    lingerMs: 2,
    valuePrefix: prefix,
  });
  const result = await run.result;
  const cpu = use().brokerCpuSeconds;
  return {
    mode,
    megabytesPerSecond: (result.acked * valueBytes) / 1e6 / Math.max(result.elapsedSeconds, 1e-9),
    recordsPerCpuSecond: cpu > 0 ? result.acked / cpu : 0,
    acked: result.acked,
    errors: result.errors,
  };
}

export async function runValidationBench(context: BenchContext): Promise<WorkloadReport> {
  const name = 'validation';
  const title = 'Record validation at the broker: produce with and without schema checks';
  if (!(await nativeLoadAvailable(context.log))) {
    throw new Error('validation needs the C load generator (apt-get install librdkafka-dev)');
  }
  const records = context.quick ? 200_000 : 1_000_000;
  const dataDir = mkdtempSync(join(context.dataParentDir, 'tributary-bench-'));
  const runs: ModeRun[] = [];
  let broker: BrokerChild | undefined;
  try {
    const registryPort = await freePort();
    broker = await startBrokerChild(dataDir, {
      overrides: { 'schema.registry.listeners': `http://127.0.0.1:${registryPort}` },
    });
    const prefix = framePrefix(await registerBytesSchema(`http://127.0.0.1:${registryPort}`));
    for (const mode of modes) {
      context.log(`validation: ${mode.label}`);
      runs.push(await runMode(broker, mode, prefix, records));
    }
  } finally {
    await broker?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return report(name, title, records, runs);
}

function report(name: string, title: string, records: number, runs: ModeRun[]): WorkloadReport {
  const base = runs[0];
  const figures: BenchFigure[] = runs.flatMap((run) => [
    {
      system: 'tributary',
      client: nativeClient,
      metric: `acks=all throughput, ${run.mode.label}`,
      value: run.megabytesPerSecond,
      unit: 'MB/s',
      perCpuSecond: run.recordsPerCpuSecond,
    },
    ...(run === base || base === undefined
      ? []
      : [
          {
            system: 'tributary',
            client: nativeClient,
            metric: `${run.mode.label} vs no validation`,
            value: run.megabytesPerSecond / Math.max(base.megabytesPerSecond, 1e-9),
            unit: 'x',
          },
        ]),
  ]);
  return {
    name,
    title,
    figures,
    notes: [
      `${records} records of ${valueBytes} bytes per run, one partition, linger.ms=2, acks=all; ` +
        `values framed for schema "bytes" (Avro). Acked/errors per run: ` +
        runs.map((run) => `${run.mode.label} ${run.acked}/${run.errors}`).join(', ') +
        '.',
      'Checked runs decode every record of every batch (decompression bounded by the broker ' +
        'limit); the unchecked run keeps the undecoded produce path.',
    ],
    chart: {
      title: 'Produce throughput by validation mode (MB/s)',
      unit: 'MB/s',
      bars: runs.map((run) => ({ label: run.mode.label, value: run.megabytesPerSecond })),
    },
  };
}
