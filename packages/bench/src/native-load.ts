/**
 * The C load generator (native/tributary-load.c, librdkafka without a Python layer): builds it
 * on demand into packages/bench/.build, rebuilding only when the source is newer than the binary,
 * and runs its `consume` and `produce` modes as children that `killAllChildren` reaches. Every
 * run is bounded; each prints one JSON summary, parsed here into typed results.
 *
 * The build needs a C compiler and Debian's librdkafka-dev (headers plus the -lrdkafka link);
 * when either is missing the error says which package to install.
 */
import { spawn } from 'node:child_process';
import { mkdir, rename, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { trackChild } from './broker-child.ts';
import { driverPercentiles, type DriverLine, type DriverPercentiles } from './python-driver.ts';

const sourcePath = resolve(import.meta.dirname, '../native/tributary-load.c');
const buildDir = resolve(import.meta.dirname, '../.build');
const nativeLoadPath = resolve(buildDir, 'tributary-load');

/** How report rows name this client. */
export const nativeClient = 'librdkafka C (tributary-load, librdkafka-dev 2.0.2)';
const buildTimeoutMs = 120_000;
/** Beyond the tool's own deadline: time to leave the group and print its summary. */
const exitGraceMs = 30_000;

interface ChildOutput {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface ChildRun {
  exited: Promise<ChildOutput>;
  kill(): void;
}

/**
 * Spawns a tracked child, SIGKILLed after `timeoutMs`; rejects only when it cannot start.
 * `onStderr` sees its stderr as it comes (progress such as the produce warm-up's end).
 */
function runChild(
  command: string,
  args: readonly string[],
  timeoutMs: number,
  onStderr?: (chunk: string) => void,
): ChildRun {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-10_000);
    onStderr?.(chunk.toString());
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<ChildOutput>((resolvePromise, reject) => {
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
  return { exited, kill: () => child.kill('SIGKILL') };
}

/** Explains a failed `cc` run; a missing librdkafka header or library names the package. */
export function buildFailureMessage(stderr: string): string {
  if (/librdkafka\/rdkafka\.h|-lrdkafka/.test(stderr)) {
    return `librdkafka-dev is missing (apt-get install librdkafka-dev):\n${stderr}`;
  }
  return `building ${sourcePath} failed:\n${stderr}`;
}

async function modifiedMs(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * `binaryPath`, built from `sourcePath` by `build(partialPath)` first when the source is newer
 * than the binary or there is none. Test files run in parallel processes: each builds to its own
 * partial file, renamed in place.
 */
export async function buildWhenStale(
  sourcePath: string,
  binaryPath: string,
  build: (partialPath: string) => Promise<void>,
): Promise<string> {
  const sourceMs = await modifiedMs(sourcePath);
  if (sourceMs === undefined) throw new Error(`missing ${sourcePath}`);
  const binaryMs = await modifiedMs(binaryPath);
  if (binaryMs !== undefined && binaryMs >= sourceMs) return binaryPath;
  await mkdir(dirname(binaryPath), { recursive: true });
  const partialPath = `${binaryPath}.${process.pid}.partial`;
  await build(partialPath);
  await rename(partialPath, binaryPath);
  return binaryPath;
}

async function compile(partialPath: string): Promise<void> {
  const args = ['-O2', '-Wall', '-o', partialPath, sourcePath, '-lrdkafka'];
  let output: ChildOutput;
  try {
    output = await runChild('cc', args, buildTimeoutMs).exited;
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      const message = 'no C compiler (cc) on PATH: apt-get install gcc librdkafka-dev';
      throw new Error(message, { cause: error });
    }
    throw error;
  }
  if (output.code !== 0) throw new Error(buildFailureMessage(output.stderr));
}

let building: Promise<string> | undefined;

/** Path of an up-to-date binary, compiling it first when needed (once per process). */
export function buildNativeLoad(): Promise<string> {
  building ??= buildWhenStale(sourcePath, nativeLoadPath, compile).catch((error: unknown) => {
    building = undefined;
    throw error;
  });
  return building;
}

/** Whether the C load generator can be built here; says why not through `log`. */
export async function nativeLoadAvailable(log: (line: string) => void): Promise<boolean> {
  try {
    await buildNativeLoad();
    return true;
  } catch (error: unknown) {
    log(`C load generator unavailable, using python3-confluent-kafka: ${String(error)}`);
    return false;
  }
}

export interface NativeRun<T> {
  /** The parsed summary; rejects when the tool fails or prints none. */
  result: Promise<T>;
  kill(): void;
}

async function startNativeLoad<T>(
  args: readonly string[],
  timeoutMs: number,
  parse: (line: DriverLine) => T,
  onStderr?: (chunk: string) => void,
): Promise<NativeRun<T>> {
  const binary = await buildNativeLoad();
  const run = runChild(binary, args, timeoutMs, onStderr);
  const result = run.exited.then((output) => {
    const text = output.stdout.trim();
    if (output.code !== 0 || text === '') {
      const status = output.code ?? output.signal;
      throw new Error(`tributary-load ${args[0]} exited (${status}):\n${output.stderr}`);
    }
    return parse(JSON.parse(text) as DriverLine);
  });
  return { result, kill: run.kill };
}

function numberField(line: DriverLine, key: string): number {
  const value = line[key];
  if (typeof value !== 'number') throw new Error(`tributary-load summary lacks ${key}`);
  return value;
}

/** Monotonic nanoseconds, which the tool prints as strings to keep every digit. */
function nanosecondsField(line: DriverLine, key: string): bigint {
  const value = line[key];
  if (typeof value !== 'string') throw new Error(`tributary-load summary lacks ${key}`);
  return BigInt(value);
}

function firstError(line: DriverLine): string | null {
  const value = line['first_error'];
  return typeof value === 'string' ? value : null;
}

export interface NativeConsumeOptions {
  bootstrap: string;
  topic: string;
  /** Subscribe as this consumer group (earliest offset); omitted, assign every partition. */
  group?: string;
  /** Stop after this many records; default: read until idle. */
  records?: number;
  /** Stop when no record arrived for this long (also before the first one). Default 10 s. */
  idleMs?: number;
  /** Hard bound on the read. Default 600 s. */
  timeoutMs?: number;
  isolation?: 'read_committed' | 'read_uncommitted';
  /** Report end-to-end latency from the stamps a `stamped` producer wrote; needs `records`. */
  stamped?: boolean;
}

export interface NativeConsumeResult {
  assignment: 'group' | 'assign';
  stopped: 'records' | 'idle' | 'timeout';
  records: number;
  /** Value bytes. */
  bytes: number;
  errors: number;
  firstError: string | null;
  /** CLOCK_MONOTONIC ns: consumer created, first and last record received (0 when none). */
  startNs: bigint;
  firstNs: bigint;
  lastNs: bigint;
  /** From consumer creation to the end of the read loop. */
  elapsedSeconds: number;
  /** Receive time minus the producer's stamp, when `stamped`. */
  e2eMs: DriverPercentiles | undefined;
}

function consumeArgs(options: NativeConsumeOptions): string[] {
  const args = ['consume', '--bootstrap', options.bootstrap, '--topic', options.topic];
  if (options.group !== undefined) args.push('--group', options.group);
  if (options.records !== undefined) args.push('--records', String(options.records));
  if (options.idleMs !== undefined) args.push('--idle-ms', String(options.idleMs));
  if (options.timeoutMs !== undefined) args.push('--timeout-ms', String(options.timeoutMs));
  if (options.isolation !== undefined) args.push('--isolation', options.isolation);
  if (options.stamped === true) args.push('--stamped', '1');
  return args;
}

function consumeResult(line: DriverLine): NativeConsumeResult {
  return {
    assignment: line['assignment'] === 'group' ? 'group' : 'assign',
    stopped: line['stopped'] as NativeConsumeResult['stopped'],
    records: numberField(line, 'records'),
    bytes: numberField(line, 'bytes'),
    errors: numberField(line, 'errors'),
    firstError: firstError(line),
    startNs: nanosecondsField(line, 'start_ns'),
    firstNs: nanosecondsField(line, 'first_ns'),
    lastNs: nanosecondsField(line, 'last_ns'),
    elapsedSeconds: numberField(line, 'elapsed_s'),
    e2eMs: line['e2e_ms'] === undefined ? undefined : driverPercentiles(line, 'e2e_ms'),
  };
}

export function startNativeConsume(
  options: NativeConsumeOptions,
): Promise<NativeRun<NativeConsumeResult>> {
  const timeoutMs = (options.timeoutMs ?? 600_000) + exitGraceMs;
  return startNativeLoad(consumeArgs(options), timeoutMs, consumeResult);
}

export interface NativeProduceOptions {
  bootstrap: string;
  topic: string;
  records: number;
  /** Value bytes per record. */
  size: number;
  /** librdkafka `linger.ms`. Default 5. */
  lingerMs?: number;
  /** Fixed partition; omitted, librdkafka's partitioner spreads the records. */
  partition?: number;
  /** Paced: record i is due at start + i / rate and its latency counts from then. */
  ratePerSecond?: number;
  /** Producer instances (one connection each), records spread round robin; default 1. */
  producers?: number;
  /** Write each record's latency start into its first 8 bytes, for a `stamped` consumer. */
  stamped?: boolean;
  /** enable.idempotence=true (producer ids and sequences in every batch); default false. */
  idempotence?: boolean;
  /** Bytes every value starts with (e.g. a schema registry frame); the rest is filler. */
  valuePrefix?: Buffer;
  timeoutMs?: number;
  /** Records sent first at the same rate and left out of every figure (not with `stamped`). */
  warmupRecords?: number;
  /** Called once when the warm-up is over and the measured records start. */
  onMeasuring?: () => void;
}

export interface NativeProduceResult {
  acked: number;
  errors: number;
  firstError: string | null;
  /** CLOCK_MONOTONIC ns when the first measured record was due (after the warm-up). */
  startNs: bigint;
  /** From the first measured record to the last delivery report. */
  elapsedSeconds: number;
  /** Enqueue (or, paced, due time) to delivery report. */
  ackMs: DriverPercentiles;
  /** The tool's own CPU seconds (user + system) over its whole run; undefined if not printed. */
  cpuSeconds: number | undefined;
}

function produceArgs(options: NativeProduceOptions): string[] {
  const args = ['produce', '--bootstrap', options.bootstrap, '--topic', options.topic];
  args.push('--records', String(options.records), '--size', String(options.size));
  args.push('--linger-ms', String(options.lingerMs ?? 5));
  if (options.partition !== undefined) args.push('--partition', String(options.partition));
  if (options.ratePerSecond !== undefined) args.push('--rate', String(options.ratePerSecond));
  if (options.producers !== undefined) args.push('--producers', String(options.producers));
  if (options.stamped === true) args.push('--stamped', '1');
  if (options.idempotence === true) args.push('--idempotence', '1');
  if (options.valuePrefix !== undefined) {
    args.push('--value-prefix', options.valuePrefix.toString('hex'));
  }
  if ((options.warmupRecords ?? 0) > 0) {
    args.push('--warmup-records', String(options.warmupRecords));
  }
  return args;
}

function produceResult(line: DriverLine): NativeProduceResult {
  return {
    acked: numberField(line, 'acked'),
    errors: numberField(line, 'errors'),
    firstError: firstError(line),
    startNs: nanosecondsField(line, 'start_ns'),
    elapsedSeconds: numberField(line, 'elapsed_s'),
    ackMs: driverPercentiles(line, 'ack_ms'),
    cpuSeconds: typeof line['cpu_s'] === 'number' ? line['cpu_s'] : undefined,
  };
}

export function startNativeProduce(
  options: NativeProduceOptions,
): Promise<NativeRun<NativeProduceResult>> {
  const timeoutMs = options.timeoutMs ?? 600_000;
  let told = false;
  let seen = '';
  const onStderr = (chunk: string): void => {
    if (told) return;
    // The line can arrive split over two reads.
    seen = (seen + chunk).slice(-64);
    if (!seen.includes('measuring\n')) return;
    told = true;
    options.onMeasuring?.();
  };
  return startNativeLoad(produceArgs(options), timeoutMs, produceResult, onStderr);
}
