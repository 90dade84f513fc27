/**
 * Starts the broker as a separate process, through the real CLI (`tributary start`), and waits
 * for its ready line. Used where a test needs a process boundary: signals, kill -9, restarts,
 * the process's own memory. `RestartableBroker` starts it again on the same data dir and port.
 *
 * Invariants: the child always runs on the Node that runs the test (`process.execPath`, Node 24);
 * the ready wait is bounded (`readyTimeoutMs`) and on failure the child is killed and its stderr
 * is part of the error; `stop` escalates to SIGKILL after `stopTimeoutMs`, so no call can leave
 * a process behind or wait forever.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stablePort } from '@tributary/local-services';

export interface SpawnBrokerOptions {
  readonly dataDir: string;
  /** HOST:PORT to listen on. Default 127.0.0.1:0 (an ephemeral port). */
  readonly listen?: string;
  /** Added to the parent's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** More `tributary start` arguments (`--override num.partitions=4`, `--config FILE`). */
  readonly args?: readonly string[];
  readonly readyTimeoutMs?: number;
}

export interface BrokerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnedBroker {
  readonly host: string;
  readonly port: number;
  readonly bootstrap: string;
  /** As the ready line reports them; both survive restarts on the same data dir. */
  readonly clusterId: string;
  readonly nodeId: number;
  readonly pid: number;
  /** Settles when the process has exited. */
  readonly exited: Promise<BrokerExit>;
  /** Sends `signal` (default SIGTERM) and waits for the exit; SIGKILL after `stopTimeoutMs`. */
  stop(signal?: NodeJS.Signals, stopTimeoutMs?: number): Promise<BrokerExit>;
  /** SIGKILL, as a crash would; resolves once the process is gone. */
  kill(): Promise<BrokerExit>;
  /** Whether the process has not exited yet. */
  alive(): boolean;
  /** Resident set size in bytes from /proc, or undefined once the process is gone. */
  rssBytes(): number | undefined;
  /** Everything the process wrote so far. */
  stdout(): string;
  stderr(): string;
}

export const cliMainPath = fileURLToPath(new URL('../../cli/src/main.ts', import.meta.url));

const readyPattern = /listening on (\S+):(\d+) \(cluster ([^,]+), node (-?\d+)/;
const defaultReadyTimeoutMs = 20_000;
const defaultStopTimeoutMs = 10_000;

interface ReadyLine {
  readonly host: string;
  readonly port: number;
  readonly clusterId: string;
  readonly nodeId: number;
}

export async function spawnBroker(options: SpawnBrokerOptions): Promise<SpawnedBroker> {
  const args = [cliMainPath, 'start', '--data-dir', options.dataDir];
  args.push('--listen', options.listen ?? '127.0.0.1:0', ...(options.args ?? []));
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<BrokerExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('cannot spawn the broker process');
  const ready = await waitForReady(() => stdout, exited, options.readyTimeoutMs).catch(
    async (error: unknown) => {
      child.kill('SIGKILL');
      await exited;
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`broker did not start: ${reason}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    },
  );
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const stop = async (
    signal: NodeJS.Signals = 'SIGTERM',
    stopTimeoutMs = defaultStopTimeoutMs,
  ): Promise<BrokerExit> => {
    if (alive()) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    ...ready,
    bootstrap: `${ready.host}:${ready.port}`,
    pid,
    exited,
    stop,
    kill: () => stop('SIGKILL'),
    alive,
    rssBytes: () => (alive() ? rssBytes(pid) : undefined),
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

async function waitForReady(
  output: () => string,
  exited: Promise<BrokerExit>,
  readyTimeoutMs = defaultReadyTimeoutMs,
): Promise<ReadyLine> {
  const deadline = Date.now() + readyTimeoutMs;
  let exit: BrokerExit | undefined;
  void exited.then((value) => (exit = value));
  for (;;) {
    const match = readyPattern.exec(output());
    if (match !== null) {
      return {
        host: stripBrackets(match[1] ?? ''),
        port: Number(match[2]),
        clusterId: match[3] ?? '',
        nodeId: Number(match[4]),
      };
    }
    if (exit !== undefined) {
      throw new Error(`process exited (code ${exit.code}, signal ${exit.signal}) before ready`);
    }
    if (Date.now() > deadline) throw new Error(`no ready line within ${readyTimeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * One broker on one data dir, killed and started again by a test. The first start picks the
 * address (`listen`, default a free port below the ephemeral range: stablePort); every
 * later start reuses the bound port, so clients configured with the first bootstrap address
 * reconnect by themselves.
 *
 * Invariant: at most one process at a time; `kill` and `stop` wait for the exit, so the next
 * `start` never races the old process for the port.
 */
export class RestartableBroker {
  readonly #options: SpawnBrokerOptions;
  #listen: string | undefined;
  #current: SpawnedBroker | undefined;

  constructor(options: SpawnBrokerOptions) {
    this.#options = options;
    this.#listen = options.listen;
  }

  async start(): Promise<SpawnedBroker> {
    if (this.#current?.alive() === true) throw new Error('broker process already running');
    this.#listen ??= `127.0.0.1:${await stablePort()}`;
    this.#current = await spawnBroker({ ...this.#options, listen: this.#listen });
    this.#listen = this.#current.bootstrap;
    return this.#current;
  }

  /** The process of the latest start; throws before the first. */
  get current(): SpawnedBroker {
    if (this.#current === undefined) throw new Error('broker was never started');
    return this.#current;
  }

  get bootstrap(): string {
    return this.current.bootstrap;
  }

  get port(): number {
    return this.current.port;
  }

  /** SIGKILL, as a crash would; a no-op when no process runs. */
  async kill(): Promise<void> {
    await this.#current?.kill();
  }
}
