/**
 * A broker run as a separate OS process through the real CLI, for tests that must kill it
 * (SIGKILL), watch its memory, or survive its crash. `start` resolves once the CLI prints its
 * ready line; every wait is bounded. Restarting reuses the same port so that clients configured
 * with the old bootstrap address reconnect by themselves.
 *
 * Invariant: at most one child process per `BrokerProcess` at a time; `kill`/`stop` always wait
 * for the exit event, so a following `start` never races the old process for the port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '../../../..');
const cliMainPath = resolve(repoRoot, 'packages/cli/src/main.ts');
const readyPattern = /listening on (\S+):(\d+)/;
const clusterPattern = /cluster (\S+?),/;
const nodePattern = /node (-?\d+)/;

/** Node 24 binary: this process's own when it is Node 24, otherwise the repository's copy. */
export function node24Path(): string {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= 24 ? process.execPath : resolve(repoRoot, 'node_modules/.bin/node');
}

export interface BrokerProcessOptions {
  dataDir: string;
  /** 0 picks a free port on the first start; later starts reuse the bound port. */
  port?: number;
  startTimeoutMs?: number;
  /** Extra CLI arguments after `start`. */
  extraArgs?: readonly string[];
}

export interface ReadyInfo {
  host: string;
  port: number;
  /** Cluster and node id parsed from the ready line, when the CLI prints them. */
  clusterId: string | undefined;
  nodeId: number | undefined;
}

export class BrokerProcess {
  readonly #options: BrokerProcessOptions;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #port: number;
  /** Combined stdout+stderr of every run, for failure messages. */
  output = '';

  constructor(options: BrokerProcessOptions) {
    this.#options = options;
    this.#port = options.port ?? 0;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get port(): number {
    return this.#port;
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.#port}`;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && !this.#child.killed;
  }

  async start(): Promise<ReadyInfo> {
    if (this.#child !== undefined) throw new Error('broker process already running');
    const args = [
      cliMainPath,
      'start',
      '--data-dir',
      this.#options.dataDir,
      '--listen',
      `127.0.0.1:${this.#port}`,
      ...(this.#options.extraArgs ?? []),
    ];
    const child = spawn(node24Path(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#exited = new Promise((done) => child.once('exit', () => done()));
    this.#exited.then(
      () => {
        if (this.#child === child) this.#child = undefined;
      },
      () => undefined,
    );
    return this.#waitReady(child, this.#options.startTimeoutMs ?? 20_000);
  }

  #waitReady(child: ChildProcess, timeoutMs: number): Promise<ReadyInfo> {
    return new Promise((resolvePromise, reject) => {
      let stdoutText = '';
      const timer = setTimeout(() => {
        fail(new Error(`broker not ready within ${timeoutMs} ms; output:\n${this.output}`));
      }, timeoutMs);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        reject(error);
      };
      child.stderr?.on('data', (chunk: Buffer) => {
        this.output += chunk.toString();
      });
      child.stdout?.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        this.output += text;
        stdoutText += text;
        const match = readyPattern.exec(stdoutText);
        if (match === null) return;
        clearTimeout(timer);
        this.#port = Number(match[2]);
        const nodeText = nodePattern.exec(stdoutText)?.[1];
        resolvePromise({
          host: match[1] ?? '127.0.0.1',
          port: this.#port,
          clusterId: clusterPattern.exec(stdoutText)?.[1],
          nodeId: nodeText === undefined ? undefined : Number(nodeText),
        });
        stdoutText = '';
      });
      child.once('exit', (code, signal) => {
        fail(new Error(`broker exited (${code ?? signal}) before ready; output:\n${this.output}`));
      });
    });
  }

  /** SIGKILL, then wait (bounded) for the exit. */
  async kill(): Promise<void> {
    await this.#signal('SIGKILL', 10_000);
  }

  /** SIGTERM for a clean close; falls back to SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!(await this.#signal('SIGTERM', timeoutMs))) await this.#signal('SIGKILL', 10_000);
  }

  async #signal(signal: NodeJS.Signals, timeoutMs: number): Promise<boolean> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      this.#child = undefined;
      return true;
    }
    child.kill(signal);
    const exited = await Promise.race([
      this.#exited.then(() => true),
      new Promise<boolean>((done) => setTimeout(() => done(false), timeoutMs).unref()),
    ]);
    if (exited) this.#child = undefined;
    return exited;
  }

  /** Whether the process is still alive (not exited). */
  alive(): boolean {
    const child = this.#child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Resident set size in bytes from /proc, or undefined when not running. */
  rssBytes(): number | undefined {
    const pid = this.pid;
    if (pid === undefined) return undefined;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const match = /VmRSS:\s+(\d+) kB/.exec(status);
      return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
    } catch {
      return undefined;
    }
  }
}
