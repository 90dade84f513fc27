/**
 * `npm run cluster` / `tributary cluster up` (issue 12): the command prints its help, names a
 * missing S3 server with how to build it (exit 1), and runs a real local cluster: PostgreSQL in
 * its data dir, SeaweedFS, two brokers whose ready lines it prints; every bootstrap address
 * answers kcat's Metadata request, SIGINT to `npm run` stops every process it started, and a
 * second run on the same data dir serves the records the first one took.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { startLocalCluster } from '@tributary/cli';
import { cliMainPath, kcatPath, runCommand } from '@tributary/testing';

const repositoryRoot = resolve(import.meta.dirname, '../../../..');
const commandTimeoutMs = 60_000;
/** PostgreSQL's initdb, SeaweedFS's first start and two brokers on a busy two-core machine. */
const clusterReadyTimeoutMs = 180_000;
/** Brokers hand leases off, weed gets a short grace, PostgreSQL a fast shutdown. */
const clusterStopTimeoutMs = 90_000;
const brokerLine = /^broker (\d+) pid (\d+) rack (\S+) listening (\S+):(\d+)$/;

const parent = await mkdtemp(join(tmpdir(), 'tributary-cluster-up-'));
// As root, PostgreSQL runs as `postgres`, which must reach the data dir inside.
await chmod(parent, 0o755);
after(() => rm(parent, { recursive: true, force: true }));

function tributary(args: readonly string[], env: Record<string, string> = {}) {
  return runCommand(process.execPath, [cliMainPath, ...args], {
    timeoutMs: commandTimeoutMs,
    env,
    cwd: parent,
  });
}

test('cluster --help and cluster up --help print the usage', async () => {
  const cluster = await tributary(['cluster', '--help']);
  assert.equal(cluster.code, 0, cluster.stderr);
  assert.match(cluster.stdout, /usage: tributary cluster up \[--brokers N\] \[--data-dir DIR\]/);
  const up = await tributary(['cluster', 'up', '--help']);
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stdout, /--base-port PORT/);
  assert.match(up.stdout, /cluster ready: bootstrap <host:port,\.\.\.>/);
  const bad = await tributary(['cluster', 'up', '--brokers', 'none']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--brokers wants a whole number/);
});

test('a missing weed binary is named with how to build it, exit code 1', async () => {
  const dataDir = join(parent, 'no-weed');
  const result = await tributary(['cluster', 'up', '--brokers', '1', '--data-dir', dataDir], {
    TRIBUTARY_WEED_BIN: join(parent, 'no-such-weed'),
  });
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /the S3 server \(SeaweedFS's weed\) is not installed/);
  assert.match(result.stderr, /bash packages\/testing\/scripts\/build-s3-server\.sh/);
  assert.equal(result.stdout, '');
});

test('npm run cluster starts two brokers that answer Metadata; SIGINT stops everything', async () => {
  const basePort = await twoFreePorts();
  const dataDir = join(parent, 'cluster');
  const bootstrap = `127.0.0.1:${basePort},127.0.0.1:${basePort + 1}`;
  const first = await runCluster(dataDir, basePort);
  try {
    assert.deepEqual(
      first.brokers.map(({ nodeId, rack, port }) => ({ nodeId, rack, port })),
      [
        { nodeId: 1, rack: 'a', port: basePort },
        { nodeId: 2, rack: 'b', port: basePort + 1 },
      ],
    );
    assert.equal(first.lines.at(-1), `cluster ready: bootstrap ${bootstrap}`);
    for (const address of [bootstrap, ...first.brokers.map((broker) => broker.address)]) {
      const metadata = await kcat(['-L', '-b', address]);
      assert.match(metadata, /broker \d+ at 127\.0\.0\.1:\d+/);
    }
    await kcat(['-P', '-b', bootstrap, '-t', 'kept-records'], 'kept across restarts\n');
    assert.ok(existsSync(join(dataDir, 'postgres', 'data', 'PG_VERSION')));
  } finally {
    await first.interrupt();
  }
  assert.match(
    first.stderr(),
    /stopping 2 broker\(s\)[\s\S]*stopping the S3 server[\s\S]*PostgreSQL/,
  );

  // The same data dir again: the same PostgreSQL cluster (no initdb), bucket and records.
  const second = await runCluster(dataDir, basePort);
  try {
    assert.doesNotMatch(second.stderr(), /initdb/);
    const consumed = await kcat(['-C', '-b', bootstrap, '-t', 'kept-records', '-e', '-q']);
    assert.equal(consumed.trim(), 'kept across restarts');
  } finally {
    await second.interrupt();
  }
});

interface RunningCluster {
  readonly lines: readonly string[];
  readonly brokers: readonly BrokerLine[];
  stderr(): string;
  /** SIGINT to `npm run`, then waits until npm and every process the cluster ran are gone. */
  interrupt(): Promise<void>;
}

/** `npm run cluster` with two brokers, until its ready line. */
async function runCluster(dataDir: string, basePort: number): Promise<RunningCluster> {
  const args = ['run', '--silent', 'cluster', '--', '--brokers', '2', '--data-dir', dataDir];
  args.push('--base-port', String(basePort));
  const child = spawn('npm', args, { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<number | null>((settle) => child.once('exit', settle));
  const ended = (): boolean => child.exitCode !== null || child.signalCode !== null;
  let pids: number[] = [];
  const interrupt = async (): Promise<void> => {
    if (!ended()) child.kill('SIGINT');
    await waitFor(
      ended,
      exited,
      clusterStopTimeoutMs,
      () => `npm run cluster did not exit after SIGINT\nstderr:\n${stderr}`,
    );
    assert.equal(child.exitCode, 0, stderr);
    await waitFor(
      () => pids.every((pid) => !alive(pid)),
      exited,
      10_000,
      () => `still running after the stop: ${pids.filter(alive).join(', ')}`,
    );
  };
  try {
    await waitFor(
      () => stdout.includes('cluster ready:'),
      exited,
      clusterReadyTimeoutMs,
      () => `no ready line\nstdout:\n${stdout}\nstderr:\n${stderr}`,
    );
  } catch (error: unknown) {
    if (!ended()) child.kill('SIGTERM');
    await exited;
    throw error;
  }
  const lines = stdout.split('\n').filter((line) => line !== '');
  const brokers = lines.filter((line) => line.startsWith('broker ')).map(parseBrokerLine);
  const services = servicePids(stderr);
  assert.equal(services.length, 2, stderr);
  pids = [...brokers.map((broker) => broker.pid), ...services];
  pids.forEach((pid) => assert.ok(alive(pid), `pid ${pid} runs while the cluster is up`));
  return { lines, brokers, stderr: () => stderr, interrupt };
}

async function kcat(args: readonly string[], input?: string): Promise<string> {
  const result = await runCommand(kcatPath, [...args, '-m', '30'], {
    timeoutMs: commandTimeoutMs,
    ...(input === undefined ? {} : { input }),
  });
  assert.equal(result.code, 0, `kcat ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

interface BrokerLine {
  readonly nodeId: number;
  readonly pid: number;
  readonly rack: string;
  readonly port: number;
  readonly address: string;
}

function parseBrokerLine(line: string): BrokerLine {
  const match = brokerLine.exec(line);
  assert.ok(match !== null, `not a broker line: ${line}`);
  const [, nodeId, pid, rack, host, port] = match;
  return {
    nodeId: Number(nodeId),
    pid: Number(pid),
    rack: rack ?? '',
    port: Number(port),
    address: `${host}:${port}`,
  };
}

/** PostgreSQL's and the S3 server's pids, from the progress lines on stderr. */
function servicePids(stderr: string): number[] {
  const pattern = /^cluster: (?:PostgreSQL|S3 server) ready on .* \(pid (\d+)\)/gm;
  return [...stderr.matchAll(pattern)].map((match) => Number(match[1]));
}

/** Whether `pid` runs: a zombie has ended (its reaper may be a PID 1 that never reaps). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(
  condition: () => boolean,
  exited: Promise<unknown>,
  timeoutMs: number,
  why: () => string,
): Promise<void> {
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(why());
    // The process ended: give its last output a moment, then judge once more.
    if (done) {
      await sleep(100);
      if (!condition()) assert.fail(why());
      return;
    }
    await sleep(100);
  }
}

/** A port whose next port is free too (the brokers take consecutive ports). */
/**
 * Two consecutive free ports below the kernel's ephemeral range: a broker killed in a test comes
 * back on its own port, and a port in that range can meanwhile be handed to some outgoing
 * connection (a pooled PostgreSQL or S3 one lives for minutes), which failed the restart with
 * EADDRINUSE past the ready bound.
 */
async function twoFreePorts(): Promise<number> {
  const ephemeralStart = await ephemeralPortRangeStart();
  const low = 10_000;
  const high = Math.max(low + 1_000, ephemeralStart - 2);
  for (;;) {
    const port = low + Math.floor(Math.random() * (high - low));
    if ((await isFree(port)) && (await isFree(port + 1))) return port;
  }
}

/** The first port the kernel gives outgoing connections (32768 when it cannot be read). */
async function ephemeralPortRangeStart(): Promise<number> {
  try {
    const range = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
    const start = Number(range.trim().split(/\s+/)[0]);
    return Number.isInteger(start) && start > 11_000 ? start : 32_768;
  } catch {
    return 32_768;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((settle) => {
    const server = createServer();
    server.once('error', () => settle(false));
    server.listen(port, '127.0.0.1', () => server.close(() => settle(true)));
  });
}

test('startLocalCluster kills, pauses and restarts a broker, and stop leaves nothing', async () => {
  const basePort = await twoFreePorts();
  const exits: number[] = [];
  const cluster = await startLocalCluster({
    brokers: 2,
    dataDir: join(parent, 'programmatic'),
    basePort,
    racks: ['x'],
    onBrokerExit: (broker) => exits.push(broker.nodeId),
  });
  const pids: number[] = [];
  try {
    assert.equal(cluster.bootstrap, `127.0.0.1:${basePort},127.0.0.1:${basePort + 1}`);
    assert.deepEqual(
      cluster.brokers.map(({ nodeId, rack }) => ({ nodeId, rack })),
      [
        { nodeId: 1, rack: 'x' },
        { nodeId: 2, rack: 'x' },
      ],
    );
    assert.match(cluster.metadataUrl, /^postgres:\/\/tributary@127\.0\.0\.1:\d+\/tributary$/);
    assert.match(cluster.objectStoreUrl, /^s3:\/\/tributary\/cluster\?endpoint=http:\/\//);
    pids.push(...cluster.brokers.map((broker) => broker.pid));
    const killed = await cluster.killBroker(2);
    assert.equal(killed?.signal, 'SIGKILL');
    assert.deepEqual(
      cluster.brokers.map((broker) => broker.nodeId),
      [1],
    );
    // Started again at once: its node id is still leased by the killed process for a while.
    const again = await cluster.startBroker(2);
    pids.push(again.pid);
    assert.equal(again.port, basePort + 1);
    await cluster.killBroker(1, 'SIGSTOP');
    await kcat(['-L', '-b', `127.0.0.1:${again.port}`]);
    await cluster.killBroker(1, 'SIGCONT');
    await kcat(['-L', '-b', `127.0.0.1:${basePort}`]);
    assert.deepEqual(exits, [], 'a kill asked for is not an unexpected exit');
  } finally {
    await cluster.stop();
  }
  assert.deepEqual(cluster.brokers, []);
  await waitFor(
    () => pids.every((pid) => !alive(pid)),
    new Promise(() => undefined),
    10_000,
    () => `still running after the stop: ${pids.filter(alive).join(', ')}`,
  );
});
