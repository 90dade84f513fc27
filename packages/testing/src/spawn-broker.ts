/**
 * Starts the broker as a separate process, through the real CLI (`tributary start`), and waits
 * for its ready line. Used where a test needs a process boundary: signals, kill -9, restarts.
 *
 * Invariants: the child always runs on the Node that runs the test (`process.execPath`, Node 24);
 * the ready wait is bounded (`readyTimeoutMs`) and on failure the child is killed and its stderr
 * is part of the error; `stop` escalates to SIGKILL after `stopTimeoutMs`, so no call can leave
 * a process behind or wait forever.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface SpawnBrokerOptions {
  readonly dataDir: string;
  /** HOST:PORT to listen on. Default 127.0.0.1:0 (an ephemeral port). */
  readonly listen?: string;
  /** Added to the parent's environment. */
  readonly env?: Readonly<Record<string, string>>;
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
  readonly pid: number;
  /** Settles when the process has exited. */
  readonly exited: Promise<BrokerExit>;
  /** Sends `signal` (default SIGTERM) and waits for the exit; SIGKILL after `stopTimeoutMs`. */
  stop(signal?: NodeJS.Signals, stopTimeoutMs?: number): Promise<BrokerExit>;
  /** SIGKILL, as a crash would; resolves once the process is gone. */
  kill(): Promise<BrokerExit>;
  /** Everything the process wrote so far. */
  stdout(): string;
  stderr(): string;
}

export const cliMainPath = fileURLToPath(new URL('../../cli/src/main.ts', import.meta.url));

const readyPattern = /listening on (\S+):(\d+)/;
const defaultReadyTimeoutMs = 15_000;
const defaultStopTimeoutMs = 10_000;

export async function spawnBroker(options: SpawnBrokerOptions): Promise<SpawnedBroker> {
  const args = [cliMainPath, 'start', '--data-dir', options.dataDir];
  args.push('--listen', options.listen ?? '127.0.0.1:0');
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
  const endpoint = await waitForReady(() => stdout, exited, options.readyTimeoutMs).catch(
    async (error: unknown) => {
      child.kill('SIGKILL');
      await exited;
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`broker did not start: ${reason}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    },
  );
  const stop = async (
    signal: NodeJS.Signals = 'SIGTERM',
    stopTimeoutMs = defaultStopTimeoutMs,
  ): Promise<BrokerExit> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    ...endpoint,
    bootstrap: `${endpoint.host}:${endpoint.port}`,
    pid,
    exited,
    stop,
    kill: () => stop('SIGKILL'),
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

async function waitForReady(
  output: () => string,
  exited: Promise<BrokerExit>,
  readyTimeoutMs = defaultReadyTimeoutMs,
): Promise<{ host: string; port: number }> {
  const deadline = Date.now() + readyTimeoutMs;
  let exit: BrokerExit | undefined;
  void exited.then((value) => (exit = value));
  for (;;) {
    const match = readyPattern.exec(output());
    if (match !== null) {
      return { host: stripBrackets(match[1] ?? ''), port: Number(match[2]) };
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
