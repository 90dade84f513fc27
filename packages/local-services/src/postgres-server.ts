/**
 * A private PostgreSQL: `startPostgresServer` runs `initdb` into a directory and starts that
 * cluster with `pg_ctl` on a loopback port (its unix socket inside the same directory, so it
 * never meets the system cluster's), makes sure the database exists and returns its URL. The
 * directory is a fresh temp dir removed by `stop` (tests), or one given in `dir` and kept: a
 * later start on it reuses the data (initdb only when `<dir>/data` holds no PG_VERSION), after
 * stopping a server of an earlier run that still holds it (`tributary cluster up`). The
 * binaries are Debian's (`/usr/lib/postgresql/<version>/bin`, the newest version found) or
 * those in TRIBUTARY_PG_BIN. initdb and postgres refuse to run as root: as root, the dir is
 * given to the `postgres` user and the server binaries run through `runuser -u postgres --`.
 *
 * Invariants: every wait is bounded (start, createdb, stop); `stop` resumes a paused server,
 * asks for a fast shutdown and falls back to SIGKILL, then removes a temp dir, and is safe to
 * call twice. A process that exits without `stop` still takes its clusters down (immediate
 * shutdown in an `exit` hook), so a failed test leaves no server running. fsync is off unless
 * `fsync: true`: a test cluster survives its processes being killed (the kernel keeps the
 * written pages), not a power loss; a kept cluster for trying the product turns it on.
 */
import { constants, readdirSync, readFileSync } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MissingToolError } from './missing-tool-error.ts';
import { runCommand } from './run-command.ts';
import { stablePort } from './stable-port.ts';

export interface PostgresServerOptions {
  /** The database created at start (kept when it exists). Default `tributary`. */
  readonly database?: string;
  /**
   * A directory to keep the cluster in (its data in `<dir>/data`, the server log in
   * `<dir>/postgres.log`); reused by the next start and left in place by `stop`. Default a fresh
   * temp dir that `stop` removes.
   */
  readonly dir?: string;
  /** The loopback port to listen on. Default a free one. */
  readonly port?: number;
  /** Whether the server fsyncs its writes. Default false (a test server). */
  readonly fsync?: boolean;
  /** Bound on initdb plus the server start. */
  readonly startTimeoutMs?: number;
  /** Bound on the fast shutdown before the server is killed. */
  readonly stopTimeoutMs?: number;
  /** Progress lines worth showing a user (a stale server stopped, initdb run). */
  readonly log?: (line: string) => void;
}

export interface PostgresServer extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** `postgres://tributary@127.0.0.1:<port>/<database>` (trust authentication on loopback). */
  readonly url: string;
  /** The postmaster's pid: SIGSTOP makes it a hung server (new connections get no answer). */
  readonly pid: number;
  /** The directory that holds the cluster (`data/`), its socket and its log. */
  readonly dir: string;
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
  /**
   * Restarts the server on the same port and data: `fast` (clean shutdown) or `immediate` (no
   * checkpoint, every backend killed, crash recovery at start: as a crashed database host).
   * Open connections are cut either way; `pid` is the new postmaster's afterwards.
   */
  restart(mode: 'fast' | 'immediate'): Promise<void>;
  /** Stops the server and removes a temp directory; a no-op the second time. */
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
  /** A directory given by the caller: kept by stop and on failure. */
  readonly kept: boolean;
}

export async function startPostgresServer(
  options: PostgresServerOptions = {},
): Promise<PostgresServer> {
  const started = performance.now();
  const bin = await findPostgresBin();
  const startTimeoutMs = options.startTimeoutMs ?? defaultStartTimeoutMs;
  const stopTimeoutMs = options.stopTimeoutMs ?? defaultStopTimeoutMs;
  const cluster = await initCluster(bin, options, startTimeoutMs);
  try {
    const port = await startCluster(cluster, options, startTimeoutMs);
    const firstPid = await postmasterPid(cluster);
    if (firstPid === undefined) throw new Error('PostgreSQL started but wrote no postmaster.pid');
    let pid = firstPid;
    running.add(pid);
    const psql = async (database: string, sql: string): Promise<string> => {
      const args = ['-h', host, '-p', String(port), '-U', superuser, '-d', database];
      args.push('-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql);
      return (await mustRun(join(bin, 'psql'), args, clientCommandTimeoutMs)).trim();
    };
    const createDatabase = async (name: string): Promise<string> => {
      if (!databaseNamePattern.test(name)) throw new Error(`bad database name ${name}`);
      const args = ['-h', host, '-p', String(port), '-U', superuser, name];
      await mustRun(join(bin, 'createdb'), args, clientCommandTimeoutMs);
      return `postgres://${superuser}@${host}:${port}/${name}`;
    };
    const database = options.database ?? 'tributary';
    const url = await ensureDatabase(database, port, psql, createDatabase);
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= stopCluster(cluster, pid, stopTimeoutMs);
      return stopping;
    };
    const startMs = Math.round(performance.now() - started);
    const pause = (): void => signalTree(pid, 'SIGSTOP');
    const resume = (): void => signalTree(pid, 'SIGCONT');
    const restart = async (mode: 'fast' | 'immediate'): Promise<void> => {
      signalTree(pid, 'SIGCONT');
      // Without -o, pg_ctl restart reuses the last start's options (port, socket dir, fsync).
      const pgCtl = [join(cluster.bin, 'pg_ctl'), '-D', cluster.dataDir, 'restart', '-m', mode];
      pgCtl.push('-w', '-t', String(Math.ceil(startTimeoutMs / 1000)));
      pgCtl.push('-l', join(cluster.dir, 'postgres.log'));
      await runAsPostgres(cluster, pgCtl, startTimeoutMs + 5_000);
      const next = await postmasterPid(cluster);
      if (next === undefined) throw new Error('PostgreSQL restarted but wrote no postmaster.pid');
      running.delete(pid);
      running.add(next);
      pid = next;
    };
    const { dir } = cluster;
    return {
      host,
      port,
      url,
      get pid() {
        return pid;
      },
      dir,
      startMs,
      createDatabase,
      psql,
      pause,
      resume,
      restart,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error: unknown) {
    // Whatever step failed, a server that did start is stopped.
    const pid = await postmasterPid(cluster);
    await stopCluster(cluster, pid, stopTimeoutMs);
    throw error;
  }
}

/** Creates `name` unless a kept cluster has it already; returns its URL. */
async function ensureDatabase(
  name: string,
  port: number,
  psql: (database: string, sql: string) => Promise<string>,
  createDatabase: (name: string) => Promise<string>,
): Promise<string> {
  if (!databaseNamePattern.test(name)) throw new Error(`bad database name ${name}`);
  // The name matched the pattern above, so it is safe inside the literal.
  const found = await psql('postgres', `SELECT 1 FROM pg_database WHERE datname = '${name}'`);
  return found === '1' ? `postgres://${superuser}@${host}:${port}/${name}` : createDatabase(name);
}

/** The directory holding initdb and pg_ctl, or a MissingToolError that says what to install. */
export async function findPostgresBin(): Promise<string> {
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
  const where = fromEnv === undefined || fromEnv === '' ? '' : ` nor in ${fromEnv}`;
  throw new MissingToolError(
    `PostgreSQL server binaries (initdb, pg_ctl, createdb, psql) not found in ` +
      `${debianBinRoot}/<version>/bin${where}: install Debian's postgresql package ` +
      '(apt-get install postgresql; .ci/run does it), or set TRIBUTARY_PG_BIN to the directory ' +
      'that holds initdb',
  );
}

/** Prepares the cluster directory: initdb into a new one, or reuse a kept one's data. */
async function initCluster(
  bin: string,
  options: PostgresServerOptions,
  timeoutMs: number,
): Promise<Cluster> {
  const kept = options.dir !== undefined;
  const dir =
    options.dir === undefined
      ? await mkdtemp(join(tmpdir(), 'tributary-postgres-'))
      : resolvePath(options.dir);
  const asRoot = process.getuid?.() === 0;
  const cluster: Cluster = {
    bin,
    dir,
    dataDir: join(dir, 'data'),
    asPostgres: asRoot ? ['runuser', '-u', 'postgres', '--'] : [],
    kept,
  };
  try {
    await mkdir(dir, { recursive: true });
    if (asRoot) await mustRun('chown', ['postgres:', dir], timeoutMs);
    if (asRoot && kept) await mustReachAsPostgres(cluster, timeoutMs);
    if (await exists(join(cluster.dataDir, 'PG_VERSION'))) {
      await stopStaleServer(cluster, options, timeoutMs);
      return cluster;
    }
    options.log?.(`initdb ${cluster.dataDir}`);
    const initdb = [join(bin, 'initdb'), '-D', cluster.dataDir, '-U', superuser, '-A', 'trust'];
    initdb.push('-E', 'UTF8', '--locale=C', '--no-instructions');
    if (options.fsync !== true) initdb.push('--no-sync');
    await runAsPostgres(cluster, initdb, timeoutMs);
    return cluster;
  } catch (error: unknown) {
    if (!kept) await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** As root, the `postgres` user must be able to reach and write a kept directory. */
async function mustReachAsPostgres(cluster: Cluster, timeoutMs: number): Promise<void> {
  const result = await runCommand('runuser', ['-u', 'postgres', '--', 'test', '-w', cluster.dir], {
    timeoutMs,
  });
  if (result.code === 0) return;
  throw new Error(
    `PostgreSQL runs as the postgres user, which cannot reach ${cluster.dir} (a parent ` +
      'directory is closed to other users): choose a data directory it can reach, e.g. under ' +
      '/var/tmp or /srv',
  );
}

/** A server of an earlier run that was never stopped (its parent killed) still holds the dir. */
async function stopStaleServer(
  cluster: Cluster,
  options: PostgresServerOptions,
  timeoutMs: number,
): Promise<void> {
  const status = [join(cluster.bin, 'pg_ctl'), '-D', cluster.dataDir, 'status'];
  const [program, ...args] = [...cluster.asPostgres, ...status];
  if (program === undefined) return;
  const result = await runCommand(program, args, { timeoutMs, cwd: cluster.dir });
  if (result.code !== 0) return; // 3: not running (a stale postmaster.pid is handled by pg_ctl)
  options.log?.(`a PostgreSQL of an earlier run still serves ${cluster.dataDir}: stopping it`);
  const pgCtl = [join(cluster.bin, 'pg_ctl'), '-D', cluster.dataDir, 'stop', '-m', 'fast'];
  pgCtl.push('-w', '-t', String(Math.ceil(timeoutMs / 1000)));
  await runAsPostgres(cluster, pgCtl, timeoutMs + 5_000);
}

/** Starts the cluster on the given or a free loopback port; returns the port. */
async function startCluster(
  cluster: Cluster,
  options: PostgresServerOptions,
  timeoutMs: number,
): Promise<number> {
  const log = join(cluster.dir, 'postgres.log');
  const attempts = options.port === undefined ? bindAttempts : 1;
  for (let attempt = 1; ; attempt++) {
    // Below the ephemeral range: `restart` keeps the port, and while the server is down a
    // client's reconnect could otherwise take it as its local port (stablePort).
    const port = options.port ?? (await stablePort());
    let serverOptions = `-p ${port} -c listen_addresses=${host} -k ${cluster.dir}`;
    if (options.fsync !== true) serverOptions += ' -c fsync=off -c full_page_writes=off';
    const pgCtl = [join(cluster.bin, 'pg_ctl'), '-D', cluster.dataDir, '-l', log, '-w'];
    pgCtl.push('-t', String(Math.ceil(timeoutMs / 1000)), '-o', serverOptions, 'start');
    // A kept cluster's log holds earlier runs: only what this start wrote explains a failure.
    const logStart = (await readFile(log, 'utf8').catch(() => '')).length;
    try {
      await runAsPostgres(cluster, pgCtl, timeoutMs + 5_000);
      return port;
    } catch (error: unknown) {
      const text = (await readFile(log, 'utf8').catch(() => '')).slice(logStart);
      if (attempt < attempts && /could not bind|Address already in use/.test(text)) continue;
      throw new Error(`PostgreSQL did not start on port ${port}; its log:\n${text}`, {
        cause: error,
      });
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
  if (!cluster.kept) await rm(cluster.dir, { recursive: true, force: true, maxRetries: 3 });
}

function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
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
