/**
 * Workload 5: scale. One topic of 10,000 partitions on one broker: creation time, startup time
 * (spawn to ready line) of a broker that must load them, idle RSS, Metadata latency. Then a
 * crash: a flat-out producer writes a WAL backlog, the broker is SIGKILLed right after the last
 * ack, and the restart is timed from spawn to ready. The WAL size is scaled down from 1 GB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { residentMegabytes, sleep, type BenchContext } from './bench-context.ts';
import type { BenchFigure, WorkloadReport } from './bench-report.ts';
import { startBrokerChild, type BrokerChild } from './broker-child.ts';
import { createTopic, librdkafkaClient, startFlatOut, timeMetadata } from './kafka-drivers.ts';
import { driverNumber } from './python-driver.ts';

interface ScaleFigures {
  createSeconds: number;
  startupMs: number;
  idleRssMB: number;
  metadataP50Ms: number;
  metadataP99Ms: number;
  metadataPartitions: number;
}

async function measurePartitions(context: BenchContext, dataDir: string, partitions: number) {
  let broker: BrokerChild | undefined;
  try {
    broker = await startBrokerChild(dataDir);
    context.log(`scale: creating ${partitions} partitions`);
    const createSeconds = await createTopic(broker.bootstrap, 'bench-scale', partitions);
    await broker.stop(60_000);
    broker = await startBrokerChild(dataDir, { startTimeoutMs: 120_000 });
    const startupMs = broker.readyMs;
    await sleep(3000);
    const idleRssMB = residentMegabytes(broker.pid);
    const metadata = await timeMetadata(broker.bootstrap, 'bench-scale', context.quick ? 10 : 40);
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

export async function runScaleBench(context: BenchContext): Promise<WorkloadReport> {
  const partitions = 10_000;
  const walMB = context.quick ? 100 : 1000;
  const dataDir = mkdtempSync(join(context.dataParentDir, 'tributary-bench-scale-'));
  const walDir = mkdtempSync(join(context.dataParentDir, 'tributary-bench-wal-'));
  try {
    const scale = await measurePartitions(context, dataDir, partitions);
    const crash = await measureCrashRestart(context, walDir, walMB);
    const base = { system: 'tributary', client: librdkafkaClient };
    const figures: BenchFigure[] = [
      {
        ...base,
        metric: `create topic, ${partitions} partitions`,
        value: scale.createSeconds,
        unit: 's',
      },
      {
        ...base,
        metric: `startup with ${partitions} partitions`,
        value: scale.startupMs / 1000,
        unit: 's',
        target: { value: 5, atLeast: false },
      },
      {
        ...base,
        metric: 'idle RSS',
        value: scale.idleRssMB,
        unit: 'MB',
        target: { value: 500, atLeast: false },
      },
      { ...base, metric: 'Metadata (one topic) p50', value: scale.metadataP50Ms, unit: 'ms' },
      { ...base, metric: 'Metadata (one topic) p99', value: scale.metadataP99Ms, unit: 'ms' },
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
      title: `${partitions} partitions on one broker; restart after SIGKILL`,
      figures,
      notes: [
        `Startup is spawn to the ready line of \`tributary start\` (includes Node start-up); ` +
          `Metadata answered with ${scale.metadataPartitions} partitions.`,
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
          { label: 'idle RSS (MB / 100)', value: scale.idleRssMB / 100, target: 5 },
          { label: `restart after SIGKILL (s)`, value: crash.restartMs / 1000, target: 5 },
        ],
      },
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(walDir, { recursive: true, force: true });
  }
}
