/**
 * Starts the peer systems for the side-by-side runs: each on a free loopback port with its own
 * temporary data directory, never touching the system instances on the standard ports. Each
 * server runs in its own process group (RabbitMQ's script starts an Erlang VM beneath it), is a
 * tracked child (so the suite's exit kills it) and `stop` ends the group and removes its data.
 */
import { spawn } from 'node:child_process';
import { ensureInstalled } from './peer-install.ts';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { trackChild } from './broker-child.ts';

export interface PeerServer {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** The pid of the process named `name` in process group `group`, if any (Linux /proc). */
function findInGroup(group: number, name: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // After ") ": state, ppid, pgrp.
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp === group && comm === name) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

function killGroup(group: number): void {
  try {
    process.kill(group, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolvePromise(socket));
    socket.once('error', reject);
    socket.setNoDelay(true);
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePromise(port));
    });
  });
}

/**
 * Starts `command` (installing its Debian package when missing) on a free loopback port with its
 * own data directory, once its output matches `readyPattern`.
 */
export async function startServer(
  command: string,
  args: (port: number, dataDir: string) => string[],
  readyPattern: RegExp,
  dataParentDir: string,
  environment?: (port: number, dataDir: string) => NodeJS.ProcessEnv,
): Promise<PeerServer> {
  ensureInstalled(command, debianPackageOf(command));
  const port = await freePort();
  const dataDir = mkdtempSync(join(dataParentDir, 'peer-'));
  const child = spawn(command, args(port, dataDir), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: environment === undefined ? process.env : environment(port, dataDir),
    // Own process group, so stop() can end the Erlang VM the wrapper script starts.
    detached: true,
  });
  trackChild(child, true);
  // A spawn failure (ENOENT, EACCES) is an 'error' event: without a listener it would end the run.
  const spawnFailed = new Promise<Error>((done) => child.once('error', done));
  const exited = new Promise<void>((done) => {
    child.once('exit', () => done());
    void spawnFailed.then(() => done());
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      const group = -child.pid;
      process.kill(group, 'SIGTERM');
      const timer = setTimeout(() => killGroup(group), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  let output = '';
  await new Promise<void>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} not ready:\n${output}`)), 20_000);
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-5_000);
      if (readyPattern.test(output)) {
        clearTimeout(timer);
        resolvePromise();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code}):\n${output}`));
    });
    void spawnFailed.then((error) => {
      clearTimeout(timer);
      reject(new Error(`${command} did not start: ${error.message}`));
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  const leader = child.pid ?? 0;
  return { pid: findInGroup(leader, 'beam.smp') ?? leader, port, stop };
}

/** redis-server with AOF on: `appendfsync` is `always` (fsync before reply) or `everysec`. */
export function startRedis(
  dataParentDir: string,
  appendfsync: 'always' | 'everysec',
): Promise<PeerServer> {
  return startServer(
    '/usr/bin/redis-server',
    (port, dataDir) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dataDir,
      '--appendonly',
      'yes',
      '--appendfsync',
      appendfsync,
      '--save',
      '',
      '--daemonize',
      'no',
      '--protected-mode',
      'yes',
    ],
    /Ready to accept connections/,
    dataParentDir,
  );
}

/** nats-server with JetStream on file storage in its own store directory. */
export function startNats(dataParentDir: string): Promise<PeerServer> {
  return startServer(
    '/usr/sbin/nats-server',
    (port, dataDir) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dataDir],
    /Server is ready/,
    dataParentDir,
  );
}

/**
 * A private RabbitMQ node (own node name, AMQP and distribution ports, data, logs, Erlang
 * cookie under a temporary HOME, no plugins), so the system node on 5672 is never touched.
 */
export async function startRabbitmq(dataParentDir: string): Promise<PeerServer> {
  const distPort = await freePort();
  return startServer(
    '/usr/lib/rabbitmq/bin/rabbitmq-server',
    () => [],
    /Starting broker\.\.\. completed/,
    dataParentDir,
    (port, dataDir) => {
      writeFileSync(join(dataDir, 'plugins'), '[].\n');
      writeFileSync(join(dataDir, 'rabbitmq.conf'), `listeners.tcp.default = 127.0.0.1:${port}\n`);
      return {
        ...process.env,
        HOME: dataDir,
        RABBITMQ_NODENAME: `tributary-bench-${port}@localhost`,
        RABBITMQ_NODE_PORT: String(port),
        RABBITMQ_DIST_PORT: String(distPort),
        RABBITMQ_MNESIA_BASE: join(dataDir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(dataDir, 'log'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(dataDir, 'plugins'),
        RABBITMQ_CONFIG_FILE: join(dataDir, 'rabbitmq'),
        RABBITMQ_PID_FILE: join(dataDir, 'pid'),
      };
    },
  );
}

/** The Debian package that ships a peer's server binary. */
function debianPackageOf(command: string): string {
  if (command.endsWith('redis-server')) return 'redis-server';
  if (command.endsWith('nats-server')) return 'nats-server';
  if (command.includes('rabbitmq')) return 'rabbitmq-server';
  return command.split('/').at(-1) ?? command;
}
