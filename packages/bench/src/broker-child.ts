/**
 * Starts the broker as a separate process through the real CLI, so the benchmark measures the
 * production code path and can read the broker's own CPU time from /proc. `startBrokerChild`
 * resolves when the CLI prints its ready line (bounded by `startTimeoutMs`); `stop` sends SIGTERM
 * and escalates to SIGKILL after a bound. Every child is tracked so `killAllChildren` can end them
 * all when the suite exits early.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '../../..');
const cliMainPath = resolve(repoRoot, 'packages/cli/src/main.ts');
const readyPattern = /listening on (\S+):(\d+)/;
const liveChildren = new Set<ChildProcess>();

/**
 * Processes that are not our children but must die with the suite: `cluster up` starts its
 * brokers, PostgreSQL and the S3 server in process groups of their own, so killing it would
 * leave them running.
 */
const trackedPids = new Set<number>();

/** SIGKILLs every child still running (brokers and drivers); called on exit and on signals. */
export function killAllChildren(): void {
  for (const pid of trackedPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  trackedPids.clear();
  for (const child of liveChildren) {
    if (groupLeaders.has(child) && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    }
    child.kill('SIGKILL');
  }
}

const groupLeaders = new WeakSet<ChildProcess>();

/**
 * Registers a child process so `killAllChildren` reaches it; `processGroup` when it was spawned
 * detached and its whole group (children it started) must die with it.
 */
export function trackChild(child: ChildProcess, processGroup = false): void {
  liveChildren.add(child);
  if (processGroup) groupLeaders.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

/**
 * Registers processes `killAllChildren` must SIGKILL though they are not our children; the
 * returned function forgets them (call it once they were stopped, before their pids are reused).
 */
export function trackPids(pids: readonly number[]): () => void {
  // A pid that was not found (0) must never reach process.kill: 0 is our own process group.
  const real = pids.filter((pid) => Number.isInteger(pid) && pid > 0);
  for (const pid of real) trackedPids.add(pid);
  return () => {
    for (const pid of real) trackedPids.delete(pid);
  };
}

export interface BrokerChild {
  pid: number;
  bootstrap: string;
  /** Milliseconds from spawn to the ready line. */
  readyMs: number;
  /** Tail of the broker's stderr, for error reports. */
  logTail(): string;
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL, resolving once the process is gone: a crash, not a shutdown. */
  kill(): Promise<void>;
}

export interface BrokerChildOptions {
  startTimeoutMs?: number;
  /** Broker settings passed as `--override NAME=VALUE`. */
  overrides?: Readonly<Record<string, string>>;
  /** Node options before the script (e.g. `--inspect=127.0.0.1:PORT` to force collections). */
  nodeFlags?: readonly string[];
  /** Write a V8 CPU profile (.cpuprofile) into this directory when the broker exits. */
  cpuProfileDir?: string;
}

/** Node 24 binary: this process's own when it is Node 24, otherwise the repository's copy. */
export function node24Path(): string {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= 24 ? process.execPath : resolve(repoRoot, 'node_modules/.bin/node');
}

export function startBrokerChild(
  dataDir: string,
  options: BrokerChildOptions = {},
): Promise<BrokerChild> {
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const profileFlags =
    options.cpuProfileDir === undefined
      ? []
      : ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir];
  const spawnedAt = performance.now();
  const child = spawn(
    node24Path(),
    [
      ...profileFlags,
      ...(options.nodeFlags ?? []),
      cliMainPath,
      'start',
      '--data-dir',
      dataDir,
      '--listen',
      '127.0.0.1:0',
      ...Object.entries(options.overrides ?? {}).flatMap(([name, value]) => [
        '--override',
        `${name}=${value}`,
      ]),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  let log = '';
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async (timeoutMs = 10_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  };
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };
  return new Promise((resolvePromise, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`broker not ready within ${startTimeoutMs} ms:\n${log}`));
    }, startTimeoutMs);
    child.stderr.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-10_000);
    });
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = readyPattern.exec(stdout);
      if (match === null || child.pid === undefined) return;
      clearTimeout(timer);
      resolvePromise({
        pid: child.pid,
        bootstrap: `127.0.0.1:${match[2] ?? ''}`,
        readyMs: performance.now() - spawnedAt,
        logTail: () => log,
        stop,
        kill,
      });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`broker exited (${code ?? signal}) before ready:\n${stdout}\n${log}`));
    });
  });
}
