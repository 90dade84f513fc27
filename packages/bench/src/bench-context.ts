/**
 * What every workload gets: the mode, where to put data, a logger, and helpers to run a broker
 * child on a temporary data directory and to measure a process's CPU time over a window.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startBrokerChild, type BrokerChild, type BrokerChildOptions } from './broker-child.ts';
import { processCpuSeconds } from './process-cpu.ts';

export interface BenchContext {
  quick: boolean;
  /** Parent of every temporary data directory (the disk being measured). */
  dataParentDir: string;
  log: (line: string) => void;
  /**
   * Whether Apache Kafka runs beside Tributary (false under --no-kafka). Most workloads leave
   * that to kafka-comparison.ts; latency starts its Kafka nodes itself, to interleave rounds.
   */
  kafka: boolean;
}

export async function withBroker<T>(
  context: BenchContext,
  options: BrokerChildOptions,
  body: (broker: BrokerChild, dataDir: string) => Promise<T>,
): Promise<T> {
  const dataDir = mkdtempSync(join(context.dataParentDir, 'tributary-bench-'));
  let broker: BrokerChild | undefined;
  try {
    broker = await startBrokerChild(dataDir, options);
    context.log(`broker pid ${broker.pid} on ${broker.bootstrap} (ready in ${broker.readyMs} ms)`);
    return await body(broker, dataDir);
  } finally {
    await broker?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The first `host:port` of a bootstrap list, for the bench's own raw Kafka connections. */
export function firstBrokerOf(bootstrap: string): { host: string; port: number } {
  const [host = '127.0.0.1', port = '0'] = (bootstrap.split(',')[0] ?? '').split(':');
  return { host, port: Number(port) };
}

/** Starts a CPU window on `pid`; the returned function gives the CPU seconds since. */
export function cpuWindow(pid: number): () => number {
  const start = processCpuSeconds(pid);
  return () => processCpuSeconds(pid) - start;
}

/** Resident set size in MB (10^6 bytes) from /proc/<pid>/status. */
export function residentMegabytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match === null ? 0 : (Number(match[1]) * 1024) / 1e6;
}

/** Peak resident set size in MB (VmHWM) of a running process; 0 when it is gone. */
export function peakResidentMegabytes(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : (Number(match[1]) * 1024) / 1e6;
  } catch {
    return 0;
  }
}

export function perCpu(count: number, cpuSeconds: number): number {
  return cpuSeconds > 0 ? count / cpuSeconds : 0;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

export function uniqueTopic(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}`;
}

/** Busy and total CPU seconds of the whole machine (all cores) from /proc/stat. */
function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  // Fields 4 and 5 (idle, iowait) are the not-busy time.
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: (total - idle) / 100, total: total / 100 };
}

export interface CpuUse {
  wallSeconds: number;
  brokerCpuSeconds: number;
  /** Busy CPU seconds of the whole machine over the window (broker, clients, other work). */
  machineBusySeconds: number;
  cores: number;
  /** The measured process's resident set when the window closed, and its peak so far (MB). */
  rssMb: number;
  peakRssMb: number;
}

/** A memory reading of a process that may be gone by now (0 then). */
function memoryOf(pid: number, read: (pid: number) => number): number {
  try {
    return read(pid);
  } catch {
    return 0;
  }
}

/** What a scenario moved through the broker, for its CPU-per-GB figure. */
export interface BytesMoved {
  producedBytes: number;
  fetchedBytes: number;
}

/**
 * The broker's CPU seconds per GB and its resident set for one scenario (issue 14): per GB
 * produced, per GB fetched, or per GB produced and fetched when the scenario did both (the CPU
 * of one process cannot be split between them).
 */
export function resourceFigures(
  base: { system: string; client: string },
  use: CpuUse,
  moved: BytesMoved,
): { system: string; client: string; metric: string; value: number; unit: string }[] {
  const { producedBytes, fetchedBytes } = moved;
  const what =
    producedBytes > 0 && fetchedBytes > 0
      ? 'produced + fetched'
      : producedBytes > 0
        ? 'produced'
        : 'fetched';
  const gigabytes = (producedBytes + fetchedBytes) / 1e9;
  const figures = [
    { ...base, metric: 'server RSS at the end', value: use.rssMb, unit: 'MB' },
    { ...base, metric: 'server peak RSS', value: use.peakRssMb, unit: 'MB' },
  ];
  if (gigabytes <= 0 || use.brokerCpuSeconds <= 0) return figures;
  return [
    {
      ...base,
      metric: `server CPU per GB ${what}`,
      value: use.brokerCpuSeconds / gigabytes,
      unit: 'CPU-s/GB',
    },
    ...figures,
  ];
}

/** Starts a window over the broker's and the machine's CPU; the function closes it. */
export function cpuUseWindow(pid: number): () => CpuUse {
  const broker = cpuWindow(pid);
  const machine = machineCpuSeconds();
  const started = performance.now();
  return () => {
    const now = machineCpuSeconds();
    const wallSeconds = (performance.now() - started) / 1000;
    return {
      wallSeconds,
      brokerCpuSeconds: broker(),
      machineBusySeconds: now.busy - machine.busy,
      cores: Math.max(1, Math.round((now.total - machine.total) / Math.max(wallSeconds, 1e-9))),
      rssMb: memoryOf(pid, residentMegabytes),
      peakRssMb: memoryOf(pid, peakResidentMegabytes),
    };
  };
}

/** Share (0..1) of the machine's cores that were busy over the window. */
export function machineBusyShare(use: CpuUse): number {
  return use.machineBusySeconds / Math.max(use.wallSeconds * use.cores, 1e-9);
}

/**
 * Names what limited a run from where the CPU went: the broker's event loop (one core), the
 * whole machine (load generators share the cores), or neither (waiting: fsync, batching).
 */
export function bottleneckNote(use: CpuUse): string {
  const brokerCores = use.brokerCpuSeconds / Math.max(use.wallSeconds, 1e-9);
  const machineShare = machineBusyShare(use);
  const measured =
    `broker used ${brokerCores.toFixed(2)} cores, the machine was ${(100 * machineShare).toFixed(0)}% ` +
    `busy over ${use.cores} cores`;
  if (machineShare >= 0.85) {
    return `Bottleneck: CPU of the whole machine (${measured}): the load generators and the broker compete for the cores.`;
  }
  if (brokerCores >= 0.75) {
    return `Bottleneck: the broker's CPU (${measured}): its main thread is close to one full core.`;
  }
  return `Bottleneck: not CPU (${measured}): time goes to waiting (fsync, batching, fetch waits).`;
}

/**
 * The order interleaved rounds run in: every round visits each system once, and each round
 * starts one system later than the one before, so no system always follows the same one.
 */
export function interleavedOrder(systems: number, rounds: number): number[] {
  const order: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let step = 0; step < systems; step++) order.push((round + step) % systems);
  }
  return order;
}

/** CPU windows of one process added up: their seconds summed, the last RSS, the peak of all. */
export function sumCpuUse(uses: readonly CpuUse[]): CpuUse {
  const last = uses.at(-1);
  if (last === undefined) throw new Error('no CPU window to add up');
  let wallSeconds = 0;
  let brokerCpuSeconds = 0;
  let machineBusySeconds = 0;
  let peakRssMb = 0;
  for (const use of uses) {
    wallSeconds += use.wallSeconds;
    brokerCpuSeconds += use.brokerCpuSeconds;
    machineBusySeconds += use.machineBusySeconds;
    peakRssMb = Math.max(peakRssMb, use.peakRssMb);
  }
  return { ...last, wallSeconds, brokerCpuSeconds, machineBusySeconds, peakRssMb };
}

/** Each target's results of interleaved rounds by name, and the first error of those that failed. */
export interface InterleavedRounds<Result> {
  rounds: Map<string, Result[]>;
  failures: Map<string, string>;
}

/**
 * `rounds` rounds of `run` over `targets` in interleavedOrder, each result logged as
 * `describe` puts it. A target whose run throws is left out of the rounds after it, its first
 * error kept (three lines at most).
 */
export async function runInterleaved<Target extends { readonly name: string }, Result>(
  targets: readonly Target[],
  rounds: number,
  run: (target: Target) => Promise<Result>,
  log: (line: string) => void,
  describe: (result: Result) => string,
): Promise<InterleavedRounds<Result>> {
  const results = new Map<string, Result[]>();
  const failures = new Map<string, string>();
  for (const index of interleavedOrder(targets.length, rounds)) {
    const target = targets[index] as Target;
    if (failures.has(target.name)) continue;
    try {
      const result = await run(target);
      log(`${target.name}: ${describe(result)}`);
      results.set(target.name, [...(results.get(target.name) ?? []), result]);
    } catch (error: unknown) {
      const message = error instanceof Error ? error.message : String(error);
      log(`${target.name} failed: ${message}`);
      failures.set(target.name, message.split('\n').slice(0, 3).join(' / '));
    }
  }
  for (const name of failures.keys()) results.delete(name);
  return { rounds: results, failures };
}

/** Interleaved rounds after one uncounted round on each target, that round's results apart. */
export interface WarmedInterleavedRounds<Result> extends InterleavedRounds<Result> {
  /** Each target's uncounted first round. */
  warmups: Map<string, Result>;
}

/**
 * One uncounted round on every target (its first run carries JIT and heap growth), then
 * `rounds` counted ones on those that did not fail, all through runInterleaved. `failures`
 * holds both phases'.
 */
export async function runWarmedInterleaved<Target extends { readonly name: string }, Result>(
  targets: readonly Target[],
  rounds: number,
  run: (target: Target) => Promise<Result>,
  log: (line: string) => void,
  describe: (result: Result) => string,
): Promise<WarmedInterleavedRounds<Result>> {
  const first = await runInterleaved(targets, 1, run, log, (r) => `uncounted, ${describe(r)}`);
  const warmed = targets.filter((target) => !first.failures.has(target.name));
  const counted = await runInterleaved(warmed, rounds, run, log, describe);
  const warmups = new Map<string, Result>();
  for (const [name, [result]] of first.rounds) if (result !== undefined) warmups.set(name, result);
  return { ...counted, warmups, failures: new Map([...first.failures, ...counted.failures]) };
}

/** Each target's interleaved rounds combined into one result, or why it has none. */
export interface CombinedRounds<Result> {
  results: Map<string, Result>;
  /** First error of each target that failed a round, by name (its rounds are dropped). */
  failures: Map<string, string>;
}

/** The item in the middle when sorted by `key` (the upper one of two), for median rounds. */
export function medianBy<T>(items: readonly T[], key: (item: T) => number): T {
  const median = items.toSorted((a, b) => key(a) - key(b))[items.length >> 1];
  if (median === undefined) throw new Error('no round to take the median of');
  return median;
}
