/**
 * Starts the broker as a separate process through the real CLI, so the benchmark measures the
 * production code path and can read the broker's own CPU time from /proc. `startBrokerChild`
 * resolves when the CLI prints its ready line (bounded by `startTimeoutMs`); `stop` sends SIGTERM
 * and escalates to SIGKILL after a bound.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '../../..');
const cliMainPath = resolve(repoRoot, 'packages/cli/src/main.ts');
const readyPattern = /listening on (\S+):(\d+)/;

export interface BrokerChild {
  pid: number;
  bootstrap: string;
  /** Tail of the broker's stderr, for error reports. */
  logTail(): string;
  stop(timeoutMs?: number): Promise<void>;
}

/** Node 24 binary: this process's own when it is Node 24, otherwise the repository's copy. */
export function node24Path(): string {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= 24 ? process.execPath : resolve(repoRoot, 'node_modules/.bin/node');
}

export function startBrokerChild(dataDir: string, startTimeoutMs = 20_000): Promise<BrokerChild> {
  const child = spawn(
    node24Path(),
    [cliMainPath, 'start', '--data-dir', dataDir, '--listen', '127.0.0.1:0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async (timeoutMs = 10_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
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
        logTail: () => log,
        stop,
      });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`broker exited (${code ?? signal}) before ready:\n${stdout}\n${log}`));
    });
  });
}
