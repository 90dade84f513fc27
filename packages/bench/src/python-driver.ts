/**
 * Runs one of the librdkafka load drivers in python/ under Debian's /usr/bin/python3 (where
 * python3-confluent-kafka lives) and collects its JSON-lines output. Every run is bounded by
 * `timeoutMs` and registered with `trackChild`, so no driver outlives the suite.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { trackChild } from './broker-child.ts';

export const pythonPath = '/usr/bin/python3';
export const produceDriverPath = resolve(import.meta.dirname, 'python/produce_bench.py');
export const kafkaDriverPath = resolve(import.meta.dirname, 'python/kafka_driver.py');

/** One parsed output line; `type` is `started`, `ready`, `finished` or `summary`. */
export type DriverLine = { type: string } & Record<string, unknown>;

export interface DriverRun {
  /** Resolves with the `summary` line once the driver exits 0. */
  summary: Promise<DriverLine>;
  /** Resolves at the first line of this type (never rejects; pair it with `summary`). */
  waitFor(type: string): Promise<DriverLine>;
  kill(): void;
}

export function startPythonDriver(
  script: string,
  args: string[],
  timeoutMs: number,
  onLine: (line: DriverLine) => void = () => undefined,
): DriverRun {
  const child = spawn(pythonPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  const waiters = new Map<string, Array<(line: DriverLine) => void>>();
  const seen = new Map<string, DriverLine>();
  let pending = '';
  let stderr = '';
  let summary: DriverLine | undefined;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-5_000);
  });
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const text of lines) {
      if (text.trim() === '') continue;
      const line = JSON.parse(text) as DriverLine;
      onLine(line);
      if (line.type === 'summary') summary = line;
      if (!seen.has(line.type)) seen.set(line.type, line);
      for (const wake of waiters.get(line.type) ?? []) wake(line);
      waiters.delete(line.type);
    }
  });
  const summaryPromise = new Promise<DriverLine>((resolvePromise, reject) => {
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (summary !== undefined && code === 0) resolvePromise(summary);
      else
        reject(
          new Error(`driver ${script} exited (${code ?? signal}) without a summary:\n${stderr}`),
        );
    });
  });
  return {
    summary: summaryPromise,
    waitFor: (type) =>
      new Promise((resolvePromise) => {
        const line = seen.get(type);
        if (line !== undefined) resolvePromise(line);
        else waiters.set(type, [...(waiters.get(type) ?? []), resolvePromise]);
      }),
    kill: () => child.kill('SIGKILL'),
  };
}

/** Percentile block as the python drivers print it (milliseconds). */
export interface DriverPercentiles {
  samples: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export function driverNumber(line: DriverLine, key: string): number {
  const value = line[key];
  return typeof value === 'number' ? value : 0;
}

export function driverPercentiles(line: DriverLine, key: string): DriverPercentiles {
  const value = line[key] as Partial<DriverPercentiles> | undefined;
  return {
    samples: value?.samples ?? 0,
    p50: value?.p50 ?? 0,
    p99: value?.p99 ?? 0,
    p999: value?.p999 ?? 0,
    max: value?.max ?? 0,
  };
}
