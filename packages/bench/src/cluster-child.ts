/**
 * `tributary cluster up` as a child process, started the way a user starts it: ready when it
 * prints `cluster ready: bootstrap ...`, stopped with SIGTERM (it stops the brokers, then the S3
 * server, then PostgreSQL). Its brokers, PostgreSQL and the S3 server run in process groups of
 * their own, so their pids (from its output) are registered with `trackPids`: a suite that dies
 * mid-run still kills them. A missing program (PostgreSQL, weed) is a `ClusterUnavailableError`
 * carrying the CLI's own plain message, so the workload can be skipped rather than fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { BenchContext } from './bench-context.ts';
import { node24Path, trackChild, trackPids } from './broker-child.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const cliMainPath = resolve(repoRoot, 'packages/cli/src/main.ts');
/** PostgreSQL's initdb and the S3 server's first start take seconds; the brokers follow. */
const readyTimeoutMs = 180_000;
/** A clean stop hands leases off, then stops the S3 server and PostgreSQL (about 5 s idle). */
const stopTimeoutMs = 60_000;
/** How `cluster up` introduces a missing program (exit code 1). */
const cannotStartPattern = /tributary cluster up cannot start: (.+)/;

/** A program the cluster needs is not installed; `message` says what to install. */
export class ClusterUnavailableError extends Error {
  override readonly name = 'ClusterUnavailableError';
}

export interface ClusterChild {
  bootstrap: string;
  brokerPids: number[];
  /** The private PostgreSQL's postmaster and the S3 server. */
  postgresPid: number;
  s3Pid: number;
  dataDir: string;
  /** Seconds from spawn to the ready line. */
  readySeconds: number;
  stop(): Promise<void>;
}

interface ReadyLines {
  bootstrap: string;
  brokerPids: number[];
  postgresPid: number;
  s3Pid: number;
}

export async function startClusterChild(
  context: BenchContext,
  brokers: number,
): Promise<ClusterChild> {
  const dataDir = mkdtempSync(join(context.dataParentDir, 'tributary-bench-cluster-'));
  // mkdtemp makes it 0700; PostgreSQL runs as its own user when started as root.
  chmodSync(dataDir, 0o755);
  const [basePort, s3Port] = [await freePortRun(brokers), await freePortRun(1)];
  const args = [cliMainPath, 'cluster', 'up', '--brokers', String(brokers), '--data-dir', dataDir];
  // Ports of our own, so a cluster someone else runs on the defaults (19092, 8333) is untouched.
  args.push('--base-port', String(basePort), '--s3-port', String(s3Port));
  const spawnedAt = performance.now();
  const child = spawn(node24Path(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let untrack: (() => void) | undefined;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      await exited;
      clearTimeout(timer);
    }
    untrack?.();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const ready = await waitForReady(child);
    untrack = trackPids([...ready.brokerPids, ready.postgresPid, ready.s3Pid]);
    const readySeconds = (performance.now() - spawnedAt) / 1000;
    return { ...ready, dataDir, readySeconds, stop };
  } catch (error: unknown) {
    await stop();
    throw error;
  }
}

function pidAfter(text: string, pattern: RegExp): number {
  return Number(pattern.exec(text)?.[1] ?? 0);
}

function waitForReady(child: ChildProcess): Promise<ReadyLines> {
  return new Promise((resolvePromise, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      reject(new Error(`cluster up not ready within ${readyTimeoutMs} ms:\n${stderr}`));
    }, readyTimeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-50_000);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const ready = /^cluster ready: bootstrap (\S+)$/m.exec(stdout);
      if (ready === null) return;
      clearTimeout(timer);
      resolvePromise({
        bootstrap: ready[1] ?? '',
        brokerPids: [...stdout.matchAll(/^broker \d+ pid (\d+) /gm)].map((m) => Number(m[1])),
        postgresPid: pidAfter(stderr, /PostgreSQL ready on \S+ \(pid (\d+)\)/),
        s3Pid: pidAfter(stderr, /S3 server ready on \S+ \(pid (\d+)\)/),
      });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const missing = cannotStartPattern.exec(stderr);
      if (missing !== null) reject(new ClusterUnavailableError(missing[1] ?? ''));
      const tail = stderr.slice(-4_000);
      reject(new Error(`cluster up exited (${code ?? signal}) before ready:\n${tail}`));
    });
  });
}

/** The first of `count` consecutive free loopback ports, from a random start. */
async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    let free = true;
    for (let port = base; port < base + count && free; port++) free = await isFree(port);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((settle) => {
    const server = createServer();
    server.once('error', () => settle(false));
    server.listen(port, '127.0.0.1', () => server.close(() => settle(true)));
  });
}
