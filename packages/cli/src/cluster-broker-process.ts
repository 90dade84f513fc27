/**
 * One broker of a local cluster as a child process: `tributary start` of this CLI on the Node
 * that runs it, with its node id, rack, listener, data dir and the cluster's two URLs. Its
 * output is appended to a log file and the last part is kept for error messages. With
 * `detached` the child runs in its own process group, so a terminal's Ctrl-C reaches only
 * `cluster up`, which stops the brokers before the services they use.
 *
 * Invariants: the ready wait is bounded (`readyTimeoutMs`; the child is killed when it passes or
 * the child exits first, and the error carries its stderr's tail); `stop` escalates to SIGKILL
 * after `stopTimeoutMs`, so no call leaves a process behind or waits forever; a process that
 * exits without stopping its brokers still kills them (an `exit` hook).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export interface ClusterBrokerSpec {
  readonly nodeId: number;
  readonly rack: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly metadataUrl: string;
  readonly objectStoreUrl: string;
  /** Where stdout and stderr are appended. */
  readonly logFile: string;
  /** Holds the pid while the process runs, so a later run can find a broker left behind. */
  readonly pidFile: string;
  /** More `tributary start` arguments (`--override cluster.lease.ms=5000`). */
  readonly args?: readonly string[];
  /** Added to the parent's environment (the S3 credentials). */
  readonly env?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs: number;
  /** Its own process group: a terminal's Ctrl-C then reaches only the parent. */
  readonly detached: boolean;
}

export interface BrokerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ClusterBrokerProcess {
  readonly spec: ClusterBrokerSpec;
  readonly pid: number;
  /** Settles when the process has exited. */
  readonly exited: Promise<BrokerExit>;
  alive(): boolean;
  /** Sends `signal` (default SIGTERM), waits for the exit; SIGKILL after `stopTimeoutMs`. */
  stop(signal?: NodeJS.Signals, stopTimeoutMs?: number): Promise<BrokerExit>;
  /** The last part of what the process wrote to stderr. */
  stderrTail(): string;
}

export const cliMainPath = fileURLToPath(new URL('./main.ts', import.meta.url));

const readyPrefix = 'tributary ready:';
/** A clean stop hands leases off first; past this the broker is killed. */
const defaultStopTimeoutMs = 30_000;
const tailMaxChars = 8_000;

/** Brokers started by this process and not yet exited. */
const running = new Set<number>();
process.once('exit', () => {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

/** Starts the broker and waits for its ready line; throws (the process gone) when it fails. */
export async function spawnClusterBroker(spec: ClusterBrokerSpec): Promise<ClusterBrokerProcess> {
  const args = [cliMainPath, 'start', ...brokerArgs(spec)];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: spec.detached,
  });
  const log = createWriteStream(spec.logFile, { flags: 'a' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    if (!stdout.includes(readyPrefix)) stdout = (stdout + text).slice(-tailMaxChars);
    log.write(text);
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-tailMaxChars);
    log.write(text);
  });
  const exited = once(child, 'exit').then(([code, signal]) => {
    if (child.pid !== undefined) running.delete(child.pid);
    rmSync(spec.pidFile, { force: true });
    log.end();
    return { code, signal } as BrokerExit;
  });
  const pid = child.pid;
  if (pid === undefined) {
    log.end();
    throw new Error(`cannot spawn broker ${spec.nodeId}`);
  }
  running.add(pid);
  writeFileSync(spec.pidFile, `${pid}\n`);
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
  const broker = { spec, pid, exited, alive, stop, stderrTail: () => stderr };
  const ready = await waitForReady(() => stdout, exited, spec.readyTimeoutMs);
  if (ready !== undefined) {
    await stop('SIGKILL');
    const where = `its log: ${spec.logFile}`;
    throw new Error(`broker ${spec.nodeId} did not start: ${ready}; ${where}\n${tail(stderr)}`);
  }
  return broker;
}

function brokerArgs(spec: ClusterBrokerSpec): string[] {
  return [
    '--override',
    `node.id=${spec.nodeId}`,
    '--override',
    `broker.rack=${spec.rack}`,
    '--listen',
    `${spec.host}:${spec.port}`,
    '--data-dir',
    spec.dataDir,
    // The settings behind --metadata-url and --object-store-url, by their Kafka-style names.
    '--override',
    `metadata.url=${spec.metadataUrl}`,
    '--override',
    `object.store.url=${spec.objectStoreUrl}`,
    ...(spec.args ?? []),
  ];
}

/** Undefined once the ready line is out, else why it never came. */
async function waitForReady(
  output: () => string,
  exited: Promise<BrokerExit>,
  readyTimeoutMs: number,
): Promise<string | undefined> {
  const deadline = Date.now() + readyTimeoutMs;
  let exit: BrokerExit | undefined;
  void exited.then((value) => (exit = value));
  for (;;) {
    if (
      output()
        .split('\n')
        .some((line) => line.startsWith(readyPrefix))
    )
      return undefined;
    if (exit !== undefined) return `it exited (code ${exit.code}, signal ${exit.signal})`;
    if (Date.now() > deadline) return `no ready line within ${readyTimeoutMs} ms`;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The last lines of a broker's stderr, indented, for an error message. */
function tail(text: string): string {
  const lines = text.trimEnd().split('\n').slice(-20);
  return lines.map((line) => `  | ${line}`).join('\n');
}
