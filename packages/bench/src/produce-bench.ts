/**
 * The durable-produce benchmark: how close acks=all produce gets to the disk's own fdatasync
 * bandwidth. It probes the disk, starts the broker as a separate process on a temporary data
 * directory on that disk, drives it with a librdkafka producer (python3-confluent-kafka, an
 * independent client) and samples the broker's CPU time from /proc over each phase.
 *
 * Phases: `throughput` produces as fast as the client's bounded queue allows (latency there is
 * queueing latency at saturation); `throughput-c` does the same with the C load generator
 * (native-load.ts), whose client takes far less CPU than the Python one, where it builds;
 * `latency` produces at a fixed low rate, where ack latency is close to the broker's own cost per
 * durable append.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBrokerChild, type BrokerChild } from './broker-child.ts';
import { cpuUseWindow, type CpuUse } from './bench-context.ts';
import { probeDiskSync, type DiskSyncResult } from './disk-sync-probe.ts';
import { nativeLoadAvailable, startNativeProduce } from './native-load.ts';
import { processCpuTimes, type CpuTimes } from './process-cpu.ts';
import { produceDriverPath, startPythonDriver } from './python-driver.ts';
import {
  summarizeCpuProfile,
  type CpuProfile,
  type ProfileHotspot,
} from './cpu-profile-summary.ts';

export interface ProduceBenchOptions {
  quick: boolean;
  /** Parent of the temporary data directory; defaults to the OS temp directory. */
  dataParentDir?: string;
  recordBytes?: number;
  /** Fixed rate of the latency phase, records per second. */
  latencyRatePerSecond?: number;
  /** Run the broker under `--cpu-prof` and summarize its top self-time functions. */
  cpuProfile?: boolean;
  /** Records for the C throughput phase; omitted, the phase is skipped. */
  nativeRecords?: number;
  log?: (line: string) => void;
}

export interface ProducePhaseResult {
  name: 'throughput' | 'throughput-c' | 'latency';
  rateLimitPerSecond: number;
  /** librdkafka linger.ms of the phase. */
  lingerMs: number;
  recordsAcked: number;
  errors: number;
  firstError: string | null;
  seconds: number;
  megabytesPerSecond: number;
  recordsPerSecond: number;
  ackLatencyP50Ms: number;
  ackLatencyP99Ms: number;
  ackLatencyMaxMs: number;
  brokerCpuSeconds: number;
  brokerCpuUserSeconds: number;
  brokerCpuSystemSeconds: number;
  recordsPerBrokerCpuSecond: number;
  /** Broker and machine CPU over the phase, for naming the bottleneck. */
  cpuUse: CpuUse;
  /** CPU seconds of the load generator process (the C tool's getrusage), when known. */
  generatorCpuSeconds?: number;
}

export interface ProduceBenchResult {
  benchmark: 'produce';
  startedAt: string;
  quick: boolean;
  nodeVersion: string;
  dataParentDir: string;
  recordBytes: number;
  disk: DiskSyncResult;
  phases: ProducePhaseResult[];
  /** The C client's flat-out phase, when it ran. */
  nativeThroughput: ProducePhaseResult | undefined;
  /** Throughput-phase produce MB/s divided by the 1 MiB fdatasync MB/s. */
  produceToFdatasyncRatio: number;
  /** Top self-time functions of the broker over both phases (empty unless `cpuProfile`). */
  hotspots: ProfileHotspot[];
}

export async function runProduceBench(options: ProduceBenchOptions): Promise<ProduceBenchResult> {
  const log = options.log ?? (() => undefined);
  const parent = options.dataParentDir ?? tmpdir();
  const recordBytes = options.recordBytes ?? 1024;
  const startedAt = new Date().toISOString();
  log(`probing fdatasync under ${parent}`);
  const disk = probeDiskSync({
    dir: parent,
    bandwidthDurationMs: options.quick ? 2_000 : 5_000,
    latencyDurationMs: options.quick ? 1_500 : 3_000,
  });
  const dataDir = mkdtempSync(join(parent, 'tributary-bench-'));
  const profileDir = mkdtempSync(join(tmpdir(), 'tributary-bench-profile-'));
  let broker: BrokerChild | undefined;
  try {
    broker = await startBrokerChild(
      dataDir,
      options.cpuProfile === true ? { cpuProfileDir: profileDir } : {},
    );
    log(`broker pid ${broker.pid} on ${broker.bootstrap}, data ${dataDir}`);
    const throughput = await runPhase(broker, {
      name: 'throughput',
      seconds: options.quick ? 8 : 20,
      rate: 0,
      lingerMs: 2,
      recordBytes,
      log,
    });
    const nativeThroughput =
      options.nativeRecords !== undefined && (await nativeLoadAvailable(log))
        ? await runNativePhase(broker, options.nativeRecords, recordBytes, log)
        : undefined;
    const latency = await runPhase(broker, {
      name: 'latency',
      seconds: options.quick ? 5 : 10,
      rate: options.latencyRatePerSecond ?? 500,
      // No linger: at a low rate every record is its own request, so latency is the broker's.
      lingerMs: 0,
      recordBytes,
      log,
    });
    await broker.stop();
    return {
      benchmark: 'produce',
      startedAt,
      quick: options.quick,
      nodeVersion: process.version,
      dataParentDir: parent,
      recordBytes,
      disk,
      phases: [throughput, latency],
      nativeThroughput,
      produceToFdatasyncRatio: throughput.megabytesPerSecond / disk.bandwidthMBps,
      hotspots: readHotspots(profileDir),
    };
  } finally {
    await broker?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profileDir, { recursive: true, force: true });
  }
}

/** Hotspots of the (single) .cpuprofile V8 wrote into `dir` at exit; none if it wrote none. */
function readHotspots(dir: string): ProfileHotspot[] {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (file === undefined) return [];
  return summarizeCpuProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile);
}

interface PhaseOptions {
  name: ProducePhaseResult['name'];
  seconds: number;
  rate: number;
  lingerMs: number;
  recordBytes: number;
  log: (line: string) => void;
}

interface Summary {
  acked: number;
  errors: number;
  first_error: string | null;
  elapsed_s: number;
  latency_ms: { p50: number; p99: number; max: number };
}

async function runPhase(broker: BrokerChild, phase: PhaseOptions): Promise<ProducePhaseResult> {
  phase.log(`phase ${phase.name}: ${phase.seconds} s, rate ${phase.rate || 'unlimited'}`);
  const topic = `bench-${phase.name}-${Date.now()}`;
  const args = [
    '--bootstrap',
    broker.bootstrap,
    '--topic',
    topic,
    '--seconds',
    String(phase.seconds),
    '--value-bytes',
    String(phase.recordBytes),
    '--rate',
    String(phase.rate),
    '--linger-ms',
    String(phase.lingerMs),
  ];
  const zero: CpuTimes = { userSeconds: 0, systemSeconds: 0 };
  let cpuStart = zero;
  let cpuEnd = zero;
  let closeUse = cpuUseWindow(broker.pid);
  let cpuUse = closeUse();
  const timeoutMs = (1 + phase.seconds + 90) * 1000;
  const run = startPythonDriver(produceDriverPath, args, timeoutMs, ({ type }) => {
    if (type === 'started') {
      cpuStart = processCpuTimes(broker.pid);
      closeUse = cpuUseWindow(broker.pid);
    }
    if (type === 'finished') {
      cpuEnd = processCpuTimes(broker.pid);
      cpuUse = closeUse();
    }
  });
  const summary = (await run.summary) as unknown as Summary;
  const userSeconds = cpuEnd.userSeconds - cpuStart.userSeconds;
  const systemSeconds = cpuEnd.systemSeconds - cpuStart.systemSeconds;
  const cpu = userSeconds + systemSeconds;
  return {
    name: phase.name,
    rateLimitPerSecond: phase.rate,
    lingerMs: phase.lingerMs,
    recordsAcked: summary.acked,
    errors: summary.errors,
    firstError: summary.first_error,
    seconds: summary.elapsed_s,
    megabytesPerSecond: (summary.acked * phase.recordBytes) / 1e6 / summary.elapsed_s,
    recordsPerSecond: summary.acked / summary.elapsed_s,
    ackLatencyP50Ms: summary.latency_ms.p50,
    ackLatencyP99Ms: summary.latency_ms.p99,
    ackLatencyMaxMs: summary.latency_ms.max,
    brokerCpuSeconds: cpu,
    brokerCpuUserSeconds: userSeconds,
    brokerCpuSystemSeconds: systemSeconds,
    recordsPerBrokerCpuSecond: cpu > 0 ? summary.acked / cpu : 0,
    cpuUse,
  };
}

/** Flat out with the C load generator, linger 2 ms as the Python phase. */
async function runNativePhase(
  broker: BrokerChild,
  records: number,
  recordBytes: number,
  log: (line: string) => void,
): Promise<ProducePhaseResult> {
  log(`phase throughput-c: ${records} records flat out`);
  const before = processCpuTimes(broker.pid);
  const closeUse = cpuUseWindow(broker.pid);
  const run = await startNativeProduce({
    bootstrap: broker.bootstrap,
    topic: `bench-throughput-c-${Date.now()}`,
    records,
    size: recordBytes,
    lingerMs: 2,
  });
  const result = await run.result;
  const cpuUse = closeUse();
  const after = processCpuTimes(broker.pid);
  const userSeconds = after.userSeconds - before.userSeconds;
  const systemSeconds = after.systemSeconds - before.systemSeconds;
  const cpu = userSeconds + systemSeconds;
  return {
    name: 'throughput-c',
    rateLimitPerSecond: 0,
    lingerMs: 2,
    recordsAcked: result.acked,
    errors: result.errors,
    firstError: result.firstError,
    seconds: result.elapsedSeconds,
    megabytesPerSecond: (result.acked * recordBytes) / 1e6 / result.elapsedSeconds,
    recordsPerSecond: result.acked / result.elapsedSeconds,
    ackLatencyP50Ms: result.ackMs.p50,
    ackLatencyP99Ms: result.ackMs.p99,
    ackLatencyMaxMs: result.ackMs.max,
    brokerCpuSeconds: cpu,
    brokerCpuUserSeconds: userSeconds,
    brokerCpuSystemSeconds: systemSeconds,
    recordsPerBrokerCpuSecond: cpu > 0 ? result.acked / cpu : 0,
    cpuUse,
    ...(result.cpuSeconds === undefined ? {} : { generatorCpuSeconds: result.cpuSeconds }),
  };
}
