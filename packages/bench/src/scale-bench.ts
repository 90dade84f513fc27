/**
 * Workload 5: scale. One topic of 10,000 partitions on one broker: creation time, startup time
 * (spawn to ready line) of a broker that must load them, idle RSS, Metadata latency; then those
 * partitions under produce and fetch load (scale-load.ts) and a restart with data in every one.
 * The same for a topic of 100,000 partitions (issue 14), each given one record before its
 * restart. Then a crash: a flat-out producer writes a WAL backlog, the broker is SIGKILLed right
 * after the last ack, and the restart is timed from spawn to ready. The WAL size is scaled down
 * from 1 GB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { residentMegabytes, sleep, type BenchContext } from './bench-context.ts';
import type { BenchFigure, WorkloadReport } from './bench-report.ts';
import { startBrokerChild, type BrokerChild } from './broker-child.ts';
import { createTopic, librdkafkaClient, startFlatOut, timeMetadata } from './kafka-drivers.ts';
import { fillPartitions } from './platformatic-load.ts';
import { driverNumber } from './python-driver.ts';
import { measureScaleLoad, type ScaleLoadFigures } from './scale-load.ts';

const topic = 'bench-scale';

interface ScaleFigures {
  createSeconds: number;
  startupMs: number;
  idleRssMB: number;
  metadataP50Ms: number;
  metadataP99Ms: number;
  metadataPartitions: number;
}

interface Startup {
  startupMs: number;
  idleRssMB: number;
}

/**
 * Starts a broker on `dataDir` that must load what is there, times spawn to ready and reads its
 * RSS once idle; `body` runs on it before it stops.
 */
async function measureStartup<T>(
  dataDir: string,
  body: (broker: BrokerChild) => Promise<T>,
): Promise<Startup & { result: T }> {
  const broker = await startBrokerChild(dataDir, { startTimeoutMs: 120_000 });
  try {
    await sleep(3000);
    const idleRssMB = residentMegabytes(broker.pid);
    return { startupMs: broker.readyMs, idleRssMB, result: await body(broker) };
  } finally {
    await broker.stop(60_000);
  }
}

async function measurePartitions(context: BenchContext, dataDir: string, partitions: number) {
  let broker: BrokerChild | undefined;
  try {
    broker = await startBrokerChild(dataDir);
    context.log(`scale: creating ${partitions} partitions`);
    const createSeconds = await createTopic(broker.bootstrap, topic, partitions);
    await broker.stop(60_000);
    const iterations = context.quick ? 10 : 40;
    const started = await measureStartup(dataDir, (restarted) =>
      timeMetadata(restarted.bootstrap, topic, iterations),
    );
    const { startupMs, idleRssMB, result: metadata } = started;
    const result: ScaleFigures = {
      createSeconds,
      startupMs,
      idleRssMB,
      metadataP50Ms: metadata.topicMs.p50,
      metadataP99Ms: metadata.topicMs.p99,
      metadataPartitions: metadata.partitions,
    };
    return result;
  } finally {
    await broker?.stop(60_000);
  }
}

/** The load phase on the topic `measurePartitions` made, then a restart with data everywhere. */
async function measureLoad(context: BenchContext, dataDir: string, partitions: number) {
  const broker = await startBrokerChild(dataDir, { startTimeoutMs: 120_000 });
  let load: ScaleLoadFigures;
  try {
    load = await measureScaleLoad(context, broker, { topic, partitions });
  } finally {
    await broker.stop(60_000);
  }
  return { load, restart: await measureStartup(dataDir, async () => undefined) };
}

/**
 * One record into every partition (so each has a batch to load), then a restart. The filler is
 * @platformatic/kafka, many partitions per Produce request (see `fillPartitions`).
 */
async function measureFilledRestart(context: BenchContext, dataDir: string, partitions: number) {
  const broker = await startBrokerChild(dataDir, { startTimeoutMs: 120_000 });
  try {
    context.log(`scale: one record into each of ${partitions} partitions`);
    const fill = { bootstrap: broker.bootstrap, topic, partitions, valueBytes: 1024 };
    await fillPartitions({ ...fill, perRequest: 1000 });
  } finally {
    await broker.stop(60_000);
  }
  return measureStartup(dataDir, async () => undefined);
}

async function measureCrashRestart(context: BenchContext, dataDir: string, walMB: number) {
  let broker: BrokerChild | undefined;
  try {
    broker = await startBrokerChild(dataDir);
    const records = Math.round((walMB * 1e6) / 1024);
    context.log(`scale: writing ${walMB} MB then SIGKILL`);
    const producer = startFlatOut({
      bootstrap: broker.bootstrap,
      topic: 'bench-wal',
      seconds: 300,
      maxRecords: records,
    });
    const acked = driverNumber(await producer.summary, 'acked');
    await broker.kill();
    broker = await startBrokerChild(dataDir, { startTimeoutMs: 300_000 });
    return { acked, restartMs: broker.readyMs };
  } finally {
    await broker?.stop(60_000);
  }
}

const base = { system: 'tributary', client: librdkafkaClient };

/** Creation, startups (empty, then with data in every partition), RSS and Metadata of one size. */
function partitionFigures(
  partitions: number,
  scale: ScaleFigures,
  withData: Startup,
): BenchFigure[] {
  const size = `${partitions} partitions`;
  const under5s = { value: 5, atLeast: false };
  return [
    { ...base, metric: `create topic, ${size}`, value: scale.createSeconds, unit: 's' },
    {
      ...base,
      metric: `startup with ${size}`,
      value: scale.startupMs / 1000,
      unit: 's',
      target: under5s,
    },
    {
      ...base,
      metric: `startup with ${size}, each holding data`,
      value: withData.startupMs / 1000,
      unit: 's',
      target: under5s,
    },
    {
      ...base,
      metric: `idle RSS, ${size}`,
      value: scale.idleRssMB,
      unit: 'MB',
      target: { value: 500, atLeast: false },
    },
    { ...base, metric: `idle RSS, ${size} holding data`, value: withData.idleRssMB, unit: 'MB' },
    { ...base, metric: `Metadata (${size}) p50`, value: scale.metadataP50Ms, unit: 'ms' },
    { ...base, metric: `Metadata (${size}) p99`, value: scale.metadataP99Ms, unit: 'ms' },
  ];
}

function loadFigures(load: ScaleLoadFigures): BenchFigure[] {
  const under = `${load.partitions} partitions`;
  const cpu = (metric: string, value: number, unit: string): BenchFigure => ({
    ...base,
    metric: `${under}: broker CPU ${metric}`,
    value,
    unit,
  });
  return [
    {
      ...base,
      metric: `${under}, live: produced`,
      value: load.live.producedPerSecond,
      unit: `rec/s of ${load.ratePerSecond}`,
    },
    {
      ...base,
      metric: `${under}, live: fetched`,
      value: load.live.fetchedPerSecond,
      unit: 'rec/s',
    },
    cpu('per GB produced', load.cpuSecondsPerGBProduced, 's'),
    cpu('per GB fetched (catch-up)', load.catchUp.cpuSecondsPerGB, 's'),
    cpu('per GB in + out (live)', load.live.cpuSecondsPerGBMoved, 's'),
    cpu('per Fetch with data (catch-up)', load.catchUp.cpuMsPerFetch, 'ms'),
    cpu('per Fetch finding no data', load.idleCpuMsPerFetch, 'ms'),
    {
      ...base,
      metric: `${under}: catch-up read`,
      value: load.catchUp.recordsPerSecond,
      unit: 'rec/s',
    },
    { ...base, metric: `${under}: RSS after the load`, value: load.rssMB, unit: 'MB' },
  ];
}

export async function runScaleBench(context: BenchContext): Promise<WorkloadReport> {
  const partitions = 10_000;
  const manyPartitions = 100_000;
  const walMB = context.quick ? 100 : 1000;
  const parent = context.dataParentDir;
  const dataDir = mkdtempSync(join(parent, 'tributary-bench-scale-'));
  const manyDir = mkdtempSync(join(parent, 'tributary-bench-scale-many-'));
  const walDir = mkdtempSync(join(parent, 'tributary-bench-wal-'));
  try {
    const scale = await measurePartitions(context, dataDir, partitions);
    const { load, restart } = await measureLoad(context, dataDir, partitions);
    rmSync(dataDir, { recursive: true, force: true });
    const many = await measurePartitions(context, manyDir, manyPartitions);
    const manyFilled = await measureFilledRestart(context, manyDir, manyPartitions);
    rmSync(manyDir, { recursive: true, force: true });
    const crash = await measureCrashRestart(context, walDir, walMB);
    const figures: BenchFigure[] = [
      ...partitionFigures(partitions, scale, restart),
      ...loadFigures(load),
      ...partitionFigures(manyPartitions, many, manyFilled),
      {
        ...base,
        metric: `restart after SIGKILL, ${walMB} MB just written`,
        value: crash.restartMs / 1000,
        unit: 's',
        target: { value: 5, atLeast: false },
      },
    ];
    return {
      name: 'scale',
      title: `${partitions} and ${manyPartitions} partitions on one broker; restart after SIGKILL`,
      figures,
      notes: [
        `Startup is spawn to the ready line of \`tributary start\` (includes Node start-up); ` +
          `Metadata answered with ${scale.metadataPartitions} and ${many.metadataPartitions} ` +
          'partitions. "Each holding data": restarted after the load phase (10,000) or after ' +
          'one record was produced into every partition (100,000, by @platformatic/kafka with ' +
          '1,000 partitions a request: a librdkafka 2.0.2 producer spread over 100,000 ' +
          'partitions used a full core and timed most records out, even at 5,000 records/s).',
        `Load (${load.partitions} partitions, librdkafka): a paced producer (` +
          `${load.ratePerSecond} records/s of 1 KiB, record i to partition i % ` +
          `${load.partitions}) alone; one consumer assigned every partition reads that backlog ` +
          `(${load.recordsPerCatchUpFetch.toFixed(0)} records a Fetch); the consumer at the end ` +
          `with nothing produced (${load.idleFetches} fetches, each long-polls up to 100 ms); ` +
          'then producer and that consumer together (live). CPU is the broker process over each ' +
          'phase. librdkafka sends full fetches (no KIP-227 session), so every Fetch names, ' +
          `and is answered for, all ${load.partitions} partitions. Produce errors ` +
          `${load.errors}; peak RSS ${load.peakRssMB.toFixed(0)} MB.`,
        `Crash restart: ${crash.acked} records (${walMB} MB${context.quick ? ', scaled down from 1 GB' : ''}) ` +
          'acked flat out, then SIGKILL at once, so most of it is still in the WAL unless the ' +
          'background upload already moved it; restart timed spawn to ready.',
      ],
      chart: {
        title: 'Workload 5: scale (seconds; RSS in MB / 100)',
        unit: '',
        bars: [
          {
            label: `startup, ${partitions} partitions (s)`,
            value: scale.startupMs / 1000,
            target: 5,
          },
          {
            label: `startup, ${manyPartitions} partitions with data (s)`,
            value: manyFilled.startupMs / 1000,
            target: 5,
          },
          { label: 'idle RSS, 10,000 (MB / 100)', value: scale.idleRssMB / 100, target: 5 },
          { label: 'RSS after the load (MB / 100)', value: load.rssMB / 100, target: 5 },
          { label: `restart after SIGKILL (s)`, value: crash.restartMs / 1000, target: 5 },
        ],
      },
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(manyDir, { recursive: true, force: true });
    rmSync(walDir, { recursive: true, force: true });
  }
}
