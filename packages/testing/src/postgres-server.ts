/**
 * A private PostgreSQL for a test: `startPostgresServer` runs `initdb` into a fresh temp dir and
 * starts that cluster with `pg_ctl` on a free loopback port (its unix socket inside the same
 * dir, so it never meets the system cluster's), creates a database and returns its URL. The
 * binaries are Debian's (`/usr/lib/postgresql/<version>/bin`, the newest version found) or
 * those in TRIBUTARY_PG_BIN. initdb and postgres refuse to run as root: as root, the dir is
 * given to the `postgres` user and the server binaries run through `runuser -u postgres --`.
 *
 * Invariants: every wait is bounded (start, createdb, stop); `stop` resumes a paused server,
 * asks for a fast shutdown and falls back to SIGKILL, then removes the dir, and is safe to call
 * twice. A process that exits without `stop` still takes its clusters down (immediate shutdown
 * in an `exit` hook), so a failed test leaves no server running. fsync is off: a test cluster
 * survives its processes being killed (the kernel keeps the written pages), not a power loss.
 */
import { constants, readdirSync, readFileSync } from 'node:fs';
import { access, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runCommand } from './run-command.ts';

export interface PostgresServerOptions {
  /** The database created at start. Default `tributary`. */
  readonly database?: string;
  /** Bound on initdb plus the server start. */
  readonly startTimeoutMs?: number;
  /** Bound on the fast shutdown before the server is killed. */
  readonly stopTimeoutMs?: number;
}

export interface PostgresServer extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** `postgres://tributary@127.0.0.1:<port>/<database>` (trust authentication on loopback). */
  readonly url: string;
  /** The postmaster's pid: SIGSTOP makes it a hung server (new connections get no answer). */
  readonly pid: number;
  /** How long initdb, the start and the first database took. */
  readonly startMs: number;
  /** Creates another empty database (name: lowercase letters, digits, `_`); returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs `sql` with psql in `database` (stops at the first error); returns psql's output. */
  psql(database: string, sql: string): Promise<string>;
  /**
   * SIGSTOPs the server and every backend: connections stay open but nothing answers, as with
   * a hung host. `resume` (SIGCONT) undoes it; `stop` resumes first.
   */
  pause(): void;
  resume(): void;
  /** Stops the server and removes its directory; a no-op the second time. */
  stop(): Promise<void>;
}

const host = '127.0.0.1';
const superuser = 'tributary';
const defaultStartTimeoutMs = 60_000;
const defaultStopTimeoutMs = 10_000;
/** Bound on one createdb or psql run. */
const clientCommandTimeoutMs = 30_000;
/** A port found free can be taken before the server binds it: this many tries. */
const bindAttempts = 3;
const debianBinRoot = '/usr/lib/postgresql';
const databaseNamePattern = /^[a-z_][a-z0-9_]*$/;

/** Postmaster pids of the clusters this process started and has not stopped yet. */
const running = new Set<number>();
process.once('exit', () => {
  for (const pid of running) {
    signal(pid, 'SIGCONT');
    signal(pid, 'SIGQUIT');
  }
});

interface Cluster {
  readonly bin: string;
  readonly dir: string;
  readonly dataDir: string;
  readonly asPostgres: readonly string[];
}

export async function startPostgresServer(
  options: PostgresServerOptions = {},
): Promise<PostgresServer> {
  const started = performance.now();
  const bin = await findPostgresBin();
  const cluster = await initCluster(bin, options.startTimeoutMs ?? defaultStartTimeoutMs);
  try {
    const port = await startCluster(cluster, options.startTimeoutMs ?? defaultStartTimeoutMs);
    const pid = await postmasterPid(cluster);
    if (pid === undefined) throw new Error('PostgreSQL started but wrote no postmaster.pid');
    running.add(pid);
    const createDatabase = async (name: string): Promise<string> => {
      if (!databaseNamePattern.test(name)) throw new Error(`bad database name ${name}`);
      const args = ['-h', host, '-p', String(port), '-U', superuser, name];
      await mustRun(join(bin, 'createdb'), args, clientCommandTimeoutMs);
      return `postgres://${superuser}@${host}:${port}/${name}`;
    };
    const url = await createDatabase(options.database ?? 'tributary');
    const psql = async (database: string, sql: string): Promise<string> => {
      const args = ['-h', host, '-p', String(port), '-U', superuser, '-d', database];
      args.push('-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql);
      return (await mustRun(join(bin, 'psql'), args, clientCommandTimeoutMs)).trim();
    };
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= stopCluster(cluster, pid, options.stopTimeoutMs ?? defaultStopTimeoutMs);
      return stopping;
    };
    const startMs = Math.round(performance.now() - started);
    const pause = (): void => signalTree(pid, 'SIGSTOP');
    const resume = (): void => signalTree(pid, 'SIGCONT');
    const server = { host, port, url, pid, startMs, createDatabase, psql, pause, resume, stop };
    return { ...server, [Symbol.asyncDispose]: stop };
  } catch (error: unknown) {
    // Whatever step failed, a server that did start is stopped.
    const pid = await postmasterPid(cluster);
    await stopCluster(cluster, pid, options.stopTimeoutMs ?? defaultStopTimeoutMs);
    throw error;
  }
}

/** The directory holding initdb and pg_ctl, or an error that says what to install. */
async function findPostgresBin(): Promise<string> {
  const candidates: string[] = [];
  const fromEnv = process.env['TRIBUTARY_PG_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') candidates.push(fromEnv);
  const versions = await readdir(debianBinRoot).catch(() => []);
  for (const version of versions.toSorted((a, b) => Number(b) - Number(a))) {
    candidates.push(join(debianBinRoot, version, 'bin'));
  }
  for (const bin of candidates) {
    const found = await Promise.all(
      ['initdb', 'pg_ctl', 'createdb', 'psql'].map((tool) =>
        access(join(bin, tool), constants.X_OK).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (found.every(Boolean)) return bin;
  }
  throw new Error(
    `PostgreSQL server binaries (initdb, pg_ctl) not found in ${debianBinRoot}/<version>/bin: ` +
      "install Debian's postgresql package (apt-get install postgresql; .ci/run does it), " +
      'or set TRIBUTARY_PG_BIN to the directory that holds initdb',
  );
}

async function initCluster(bin: string, timeoutMs: number): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-postgres-'));
  const asRoot = process.getuid?.() === 0;
  const cluster = {
    bin,
    dir,
    dataDir: join(dir, 'data'),
    asPostgres: asRoot ? ['runuser', '-u', 'postgres', '--'] : [],
  };
  try {
    if (asRoot) await mustRun('chown', ['postgres:', dir], timeoutMs);
    const initdb = [join(bin, 'initdb'), '-D', cluster.dataDir, '-U', superuser, '-A', 'trust'];
    initdb.push('-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions');
    await runAsPostgres(cluster, initdb, timeoutMs);
    return cluster;
  } catch (error: unknown) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Starts the cluster on a free loopback port; returns the port. */
async function startCluster(cluster: Cluster, timeoutMs: number): Promise<number> {
  const log = join(cluster.dir, 'postgres.log');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const serverOptions =
      `-p ${port} -c listen_addresses=${host} -k ${cluster.dir} ` +
      '-c fsync=off -c full_page_writes=off';
    const pgCtl = [join(cluster.bin, 'pg_ctl'), '-D', cluster.dataDir, '-l', log, '-w'];
    pgCtl.push('-t', String(Math.ceil(timeoutMs / 1000)), '-o', serverOptions, 'start');
    try {
      await runAsPostgres(cluster, pgCtl, timeoutMs + 5_000);
      return port;
    } catch (error: unknown) {
      const text = await readFile(log, 'utf8').catch(() => '');
      if (attempt < bindAttempts && /could not bind|Address already in use/.test(text)) continue;
      throw new Error(`PostgreSQL did not start; its log:\n${text}`, { cause: error });
    }
  }
}

async function postmasterPid(cluster: Cluster): Promise<number | undefined> {
  const text = await readFile(join(cluster.dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number(text.split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function stopCluster(
  cluster: Cluster,
  pid: number | undefined,
  timeoutMs: number,
): Promise<void> {
  if (pid !== undefined) {
    // A paused (SIGSTOP) server would never answer the shutdown request.
    signalTree(pid, 'SIGCONT');
    const pgCtl = [join(cluster.bin, 'pg_ctl'), '-D', cluster.dataDir, 'stop', '-m', 'fast'];
    pgCtl.push('-w', '-t', String(Math.ceil(timeoutMs / 1000)));
    await runAsPostgres(cluster, pgCtl, timeoutMs + 5_000).then(
      () => undefined,
      () => signal(pid, 'SIGKILL'),
    );
    running.delete(pid);
  }
  await rm(cluster.dir, { recursive: true, force: true, maxRetries: 3 });
}

function runAsPostgres(cluster: Cluster, command: readonly string[], timeoutMs: number) {
  const [program, ...args] = [...cluster.asPostgres, ...command];
  if (program === undefined) throw new Error('empty command');
  // The server binaries run in the cluster dir: as `postgres`, the test's cwd may be unreadable.
  return mustRun(program, args, timeoutMs, cluster.dir);
}

/** Runs `program` to a zero exit within `timeoutMs`; returns its stdout. */
async function mustRun(
  program: string,
  args: readonly string[],
  timeoutMs: number,
  cwd?: string,
): Promise<string> {
  const result = await runCommand(program, args, {
    timeoutMs,
    ...(cwd === undefined ? {} : { cwd }),
  });
  if (result.code === 0) return result.stdout;
  const how = result.timedOut ? `timed out after ${timeoutMs} ms` : `exited ${result.code}`;
  throw new Error(`${program} ${args.join(' ')} ${how}\n${result.stdout}${result.stderr}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Signals the postmaster and its children: stopping, the parent first (it forks no more). */
function signalTree(pid: number, name: 'SIGSTOP' | 'SIGCONT'): void {
  if (name === 'SIGSTOP') signal(pid, name);
  for (const child of childPids(pid)) signal(child, name);
  if (name === 'SIGCONT') signal(pid, name);
}

/** The processes whose parent is `pid` (the server's backends and workers), from /proc. */
function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // stat is "pid (comm) state ppid ...": comm may hold spaces, so parse after its ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // The process ended while the list was read.
    }
  }
  return children;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone: nothing to signal.
  }
}
