/**
 * Runs `python/kafka_driver.py` (librdkafka via python3-confluent-kafka) as a child process and
 * parses its JSON-lines output. librdkafka shares no code with the broker, so what it reports is
 * an independent record of what was acknowledged and what can be read back.
 *
 * Invariant: every wait has a bound; `stop` closes stdin (the driver flushes, bounded by its own
 * flush timeout) and SIGKILLs the driver if it has not exited in time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const driverPath = resolve(import.meta.dirname, 'python/kafka_driver.py');
/** Debian's confluent-kafka is installed for the system interpreter, not pyenv's python3. */
const pythonPath = '/usr/bin/python3';

export interface DriverLine {
  type: string;
  [field: string]: unknown;
}

export interface AckLine {
  type: 'ack';
  p: number;
  o: number;
  k: string;
  v: string;
}

export interface RecordLine {
  type: 'record';
  p: number;
  o: number;
  k: string | null;
  v: string | null;
}

export function isAck(line: DriverLine): line is AckLine & DriverLine {
  return line.type === 'ack';
}

export function isRecord(line: DriverLine): line is RecordLine & DriverLine {
  return line.type === 'record';
}

/** A long-running driver (the `produce` subcommand) whose lines arrive as they are printed. */
export class DriverProcess {
  readonly lines: DriverLine[] = [];
  stderr = '';
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  #listeners: Array<() => void> = [];

  constructor(args: readonly string[]) {
    this.#child = spawn(pythonPath, [driverPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#exited = new Promise((done) => this.#child.once('exit', (code) => done(code)));
    let pending = '';
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const part of parts) {
        if (part.trim() === '') continue;
        this.lines.push(JSON.parse(part) as DriverLine);
      }
      for (const listener of this.#listeners) listener();
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      // librdkafka logs connection errors here while the broker is down; keep only the tail.
      this.stderr = (this.stderr + chunk.toString()).slice(-20_000);
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  acks(): AckLine[] {
    return this.lines.filter(isAck);
  }

  /** Resolves when `predicate` holds over the lines so far; rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        remove();
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; stderr tail:\n` +
              this.stderr.slice(-2000),
          ),
        );
      }, timeoutMs);
      const check = (): void => {
        if (!predicate()) return;
        clearTimeout(timer);
        remove();
        resolvePromise();
      };
      const remove = (): void => {
        this.#listeners = this.#listeners.filter((listener) => listener !== check);
      };
      this.#listeners.push(check);
    });
  }

  /** Ends the driver: stdin EOF asks for a flush; SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    this.#child.stdin?.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGKILL');
    }
  }
}

/** Runs a short driver command to completion and returns its lines; bounded by `timeoutMs`. */
export async function runDriver(
  args: readonly string[],
  timeoutMs = 60_000,
): Promise<DriverLine[]> {
  const driver = new DriverProcess(args);
  const timer = setTimeout(() => driver.kill(), timeoutMs);
  try {
    const code = await driver.stop(timeoutMs + 1_000);
    const fatal = driver.lines.find((line) => line.type === 'fatal');
    if (code !== 0 || fatal !== undefined) {
      throw new Error(
        `kafka_driver ${args[0] ?? ''} failed (exit ${code}): ` +
          `${JSON.stringify(fatal ?? null)}\n${driver.stderr.slice(-3000)}`,
      );
    }
    return driver.lines;
  } finally {
    clearTimeout(timer);
  }
}

/** Creates `topic` with `partitions` partitions through the driver. */
export async function createTopic(
  bootstrap: string,
  topic: string,
  partitions: number,
): Promise<void> {
  const args = ['--bootstrap', bootstrap, '--topic', topic, '--partitions', String(partitions)];
  await runDriver(['create-topic', ...args], 30_000);
}

export interface ProducerOptions {
  readonly bootstrap: string;
  readonly topic: string;
  readonly partitions: number;
  readonly ratePerSecond: number;
  /** Keys are `<prefix>-<n>`. */
  readonly prefix: string;
  /** enable.idempotence=true; default false (librdkafka may then store a retried batch twice). */
  readonly idempotent?: boolean;
}

/** Starts a background acks=all producer that runs until `stop` or `kill`. */
export function startProducer(options: ProducerOptions): DriverProcess {
  return new DriverProcess([
    'produce',
    '--bootstrap',
    options.bootstrap,
    '--topic',
    options.topic,
    '--partitions',
    String(options.partitions),
    '--rate',
    String(options.ratePerSecond),
    '--prefix',
    options.prefix,
    ...(options.idempotent === true ? ['--idempotent'] : []),
  ]);
}

/** Reads every partition of `topic` up to its high watermark; throws when it cannot get there. */
export async function readTopic(bootstrap: string, topic: string): Promise<RecordLine[]> {
  const args = ['--bootstrap', bootstrap, '--topic', topic, '--timeout-s', '60'];
  const lines = await runDriver(['consume', ...args], 90_000);
  const end = lines.find((line) => line.type === 'end');
  const incomplete = end?.['incomplete'];
  if (!Array.isArray(incomplete) || incomplete.length > 0) {
    const summary = JSON.stringify(lines.filter((line) => line.type !== 'record'));
    throw new Error(`read-back did not reach the high watermark: ${summary}`);
  }
  return lines.filter(isRecord);
}
