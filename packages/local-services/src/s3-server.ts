/**
 * A private S3-compatible server: `startS3Server` runs SeaweedFS (`weed server` with its master,
 * volume server, filer and S3 gateway in one process; docs/adr/0009) on loopback, with one
 * identity holding fixed keys, waits until the S3 endpoint answers signed requests, and creates
 * a bucket through the S3 API. Its directory is a fresh temp dir removed by `stop` (tests), or
 * one given in `dir` and kept, so a later start serves the same objects (`tributary cluster
 * up`); a server of an earlier run that still holds a kept dir is killed first. Every port is a
 * free loopback port, except the S3 port when `port` names one. The binary is built by
 * packages/testing/scripts/build-s3-server.sh (`npm test` runs it) into packages/testing/.tools,
 * or is the one named by TRIBUTARY_WEED_BIN.
 *
 * Invariants: every wait is bounded (start, bucket creation, stop); `stop` resumes a paused
 * server, sends SIGTERM, falls back to SIGKILL after `stopTimeoutMs`, then removes a temp dir,
 * and is safe to call twice. A process that exits without `stop` still kills its servers (an
 * `exit` hook), so a failed test leaves no server running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { MissingToolError } from './missing-tool-error.ts';

export interface S3ServerOptions {
  /** The bucket created at start. Default `tributary`. */
  readonly bucket?: string;
  /** Bound on the process start plus the first bucket. */
  readonly startTimeoutMs?: number;
  /** Bound on the SIGTERM shutdown before the server is killed. */
  readonly stopTimeoutMs?: number;
  /** A directory to keep the data in, reused by the next start. Default a fresh temp dir. */
  readonly dir?: string;
  /** The S3 port. Default a free one. */
  readonly port?: number;
  /** The weed binary. Default TRIBUTARY_WEED_BIN, else the one build-s3-server.sh builds. */
  readonly weedPath?: string;
  /** Progress lines worth showing a user (a stale server killed). */
  readonly log?: (line: string) => void;
  /**
   * Runs the server in its own process group, so a terminal's Ctrl-C reaches only the parent,
   * which then stops it in its own order. Default false: it gets the signal with its parent.
   */
  readonly detached?: boolean;
}

export interface S3Server extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`: the S3 API, path-style. */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The directory that holds its data and its pid file. */
  readonly dir: string;
  /** The server's pid: SIGSTOP makes it a hung S3 server. */
  readonly pid: number;
  /** How long the start and the first bucket took. */
  readonly startMs: number;
  /** `s3://<bucket>/<prefix>?endpoint=...&region=...`, the object store URL for this server. */
  url(prefix?: string, bucket?: string): string;
  /** Creates another bucket (S3 naming rules). */
  createBucket(name: string): Promise<void>;
  /** Everything the server wrote to stderr so far (its log). */
  log(): string;
  /** Stops the server and removes its directory; a no-op the second time. */
  stop(): Promise<void>;
}

/** Where packages/testing/scripts/build-s3-server.sh puts the binary it builds. */
export const builtWeedPath = fileURLToPath(
  new URL('../../testing/.tools/bin/weed', import.meta.url),
);
/** The weed binary a start uses by default: TRIBUTARY_WEED_BIN, else the built one. */
export const weedPath = process.env['TRIBUTARY_WEED_BIN'] ?? builtWeedPath;
/** The command that builds the binary, from the repository root; for error messages. */
export const weedBuildCommand = 'bash packages/testing/scripts/build-s3-server.sh';

const host = '127.0.0.1';
const region = 'us-east-1';
const accessKeyId = 'tributary-test';
const secretAccessKey = 'tributary-test-secret';
const defaultBucket = 'tributary';
const defaultStartTimeoutMs = 60_000;
/**
 * weed's own graceful shutdown takes 15-25 s (the filer keeps retrying the volume server it has
 * already stopped); the directory is deleted right after, so only a short grace is worth waiting.
 */
const defaultStopTimeoutMs = 3_000;
const readyPollMs = 200;
const electionTimeoutMs = 1_000;
const readyKey = 'tributary-ready-check';
const pidFileName = 'weed.pid';
/** Bound on the wait for a killed stale server to go. */
const staleKillWaitMs = 5_000;
/** Ports found free can be taken before the server binds them: this many tries. */
const bindAttempts = 3;
/** Keeps a test server's disk use small: volumes are files that grow up to this size. */
const volumeSizeLimitMb = 64;
const maxVolumes = 100;
const logLimitBytes = 256 * 1024;

/** Pids this process started and has not stopped yet. */
const running = new Set<number>();
process.once('exit', () => {
  for (const pid of running) signal(pid, 'SIGKILL');
});

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const weed = await findWeed(options.weedPath);
  const startTimeoutMs = options.startTimeoutMs ?? defaultStartTimeoutMs;
  const started = performance.now();
  const kept = options.dir !== undefined;
  if (options.dir !== undefined) await killStaleS3Server(options.dir, options.log);
  let lastError: unknown;
  const attempts = options.port === undefined ? bindAttempts : 1;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const dir =
      options.dir === undefined
        ? await mkdtemp(join(tmpdir(), 'tributary-s3-'))
        : resolvePath(options.dir);
    try {
      const launched = { dir, kept, weed, startTimeoutMs, started };
      return await launch(launched, options);
    } catch (error: unknown) {
      lastError = error;
      if (!kept) await rm(dir, { recursive: true, force: true });
    }
  }
  throw lastError;
}

/**
 * The weed binary to run: `path`, else TRIBUTARY_WEED_BIN, else the one the build script
 * makes; a MissingToolError saying how to get it when it is not there.
 */
export async function findWeed(path?: string): Promise<string> {
  const weed = path ?? process.env['TRIBUTARY_WEED_BIN'] ?? builtWeedPath;
  await access(weed, constants.X_OK).catch(() => {
    throw new MissingToolError(
      `the S3 server (SeaweedFS's weed) is not installed: no executable at ${weed}. ` +
        `Build it with \`${weedBuildCommand}\` from the repository root (needs Go 1.26+ ` +
        'and the Go module proxy; a few minutes), or set TRIBUTARY_WEED_BIN to a weed binary',
    );
  });
  return weed;
}

/**
 * A weed of an earlier run whose parent was killed (kill -9) still holds the kept `dir` and its
 * ports: it is found by its pid file, checked to be the server of that dir, and killed.
 * `startS3Server` does this itself; call it first to know whether the S3 port is really free.
 */
export async function killStaleS3Server(
  keptDir: string,
  log?: (line: string) => void,
): Promise<void> {
  const dir = resolvePath(keptDir);
  const pid = Number(await readFile(join(dir, pidFileName), 'utf8').catch(() => ''));
  if (!Number.isInteger(pid) || pid <= 0) return;
  const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!command.includes(`-dir=${join(dir, 'data')}`)) return;
  log?.(`an S3 server of an earlier run (pid ${pid}) still serves ${dir}: stopping it`);
  signal(pid, 'SIGCONT');
  signal(pid, 'SIGKILL');
  for (let waited = 0; waited < staleKillWaitMs; waited += readyPollMs) {
    const state = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (state === '' || state.slice(state.lastIndexOf(')') + 2).startsWith('Z')) return;
    await sleep(readyPollMs);
  }
}

interface Launch {
  readonly dir: string;
  /** A directory given by the caller: kept by stop and on failure. */
  readonly kept: boolean;
  readonly weed: string;
  readonly startTimeoutMs: number;
  /** performance.now() when the start began. */
  readonly started: number;
}

async function launch(launched: Launch, options: S3ServerOptions): Promise<S3Server> {
  const { dir, started } = launched;
  const free = await freePorts(options.port === undefined ? 8 : 7);
  const ports = (options.port === undefined ? free : [options.port, ...free]) as WeedPorts;
  const config = join(dir, 's3-identities.json');
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(config, JSON.stringify(identityConfig()));
  // A kept dir may hold the sockets of a run that was killed: binding them again would fail.
  for (const socket of ['filer.sock', 's3.sock']) await rm(join(dir, socket), { force: true });
  const child = spawn(launched.weed, weedArgs(dir, config, ports), {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: options.detached ?? false,
  });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    log = (log + text).slice(-logLimitBytes);
  });
  const exited = new Promise<void>((settle) => child.once('exit', () => settle()));
  if (child.pid !== undefined) running.add(child.pid);
  if (child.pid !== undefined) await writeFile(join(dir, pidFileName), `${child.pid}\n`);
  const endpoint = `http://${host}:${ports[0]}`;
  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  });
  const stopTimeoutMs = options.stopTimeoutMs ?? defaultStopTimeoutMs;
  const stop = stopper(child, exited, launched, client, stopTimeoutMs);
  const bucket = options.bucket ?? defaultBucket;
  try {
    const hasExited = (): boolean => child.exitCode !== null || child.signalCode !== null;
    const deadline = started + launched.startTimeoutMs;
    await waitUntilReady(client, bucket, deadline, hasExited, () => log);
  } catch (error: unknown) {
    await stop();
    throw error;
  }
  return {
    endpoint,
    port: ports[0],
    region,
    bucket,
    accessKeyId,
    secretAccessKey,
    dir,
    pid: child.pid ?? 0,
    startMs: Math.round(performance.now() - started),
    url: (prefix = '', name = bucket) =>
      `s3://${name}/${prefix}?endpoint=${encodeURIComponent(endpoint)}&region=${region}`,
    createBucket: async (name) => {
      await client.send(new CreateBucketCommand({ Bucket: name }));
      await firstWrite(client, name);
    },
    log: () => log,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** s3, s3 gRPC, master, master gRPC, volume, volume gRPC, filer, filer gRPC. */
type WeedPorts = [number, number, number, number, number, number, number, number];

function weedArgs(dir: string, config: string, ports: WeedPorts): string[] {
  const [s3, s3Grpc, master, masterGrpc, volume, volumeGrpc, filer, filerGrpc] = ports;
  return [
    'server',
    `-dir=${join(dir, 'data')}`,
    `-ip=${host}`,
    `-ip.bind=${host}`,
    '-master.telemetry=false',
    // One master elects itself: waiting the default 10 s for peers only slows the start.
    `-master.electionTimeout=${electionTimeoutMs}ms`,
    `-master.port=${master}`,
    `-master.port.grpc=${masterGrpc}`,
    `-master.volumeSizeLimitMB=${volumeSizeLimitMb}`,
    `-volume.port=${volume}`,
    `-volume.port.grpc=${volumeGrpc}`,
    `-volume.max=${maxVolumes}`,
    // The volume server's drain pause before it stops (10 s by default) is for load balancers.
    '-volume.preStopSeconds=0',
    '-filer',
    `-filer.port=${filer}`,
    `-filer.port.grpc=${filerGrpc}`,
    `-filer.localSocket=${join(dir, 'filer.sock')}`,
    '-s3',
    `-s3.port=${s3}`,
    `-s3.port.grpc=${s3Grpc}`,
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    `-s3.localSocket=${join(dir, 's3.sock')}`,
    `-s3.config=${config}`,
  ];
}

/**
 * Creates the bucket as soon as the S3 gateway takes signed requests (it answers before the
 * filer and the identities are loaded, so early tries fail), then writes and deletes one object:
 * SeaweedFS allocates a bucket's volumes on its first write, which takes seconds, and a test's
 * own first write should not pay for that (nor trip a short request timeout).
 */
async function waitUntilReady(
  client: S3Client,
  bucket: string,
  deadline: number,
  hasExited: () => boolean,
  log: () => string,
): Promise<void> {
  let lastError: unknown;
  let created = false;
  while (performance.now() < deadline && !hasExited()) {
    try {
      if (!created) await client.send(new CreateBucketCommand({ Bucket: bucket }));
      created = true;
      await firstWrite(client, bucket);
      return;
    } catch (error: unknown) {
      if (errorName(error) === 'BucketAlreadyOwnedByYou') created = true;
      lastError = error;
    }
    await sleep(readyPollMs);
  }
  const why = hasExited() ? 'exited' : 'did not become ready in time';
  const detail = lastError instanceof Error ? lastError.message : String(lastError);
  throw new Error(`SeaweedFS ${why} (last S3 error: ${detail})\n${log().slice(-4000)}`);
}

/** Writes and deletes one object, so the bucket's volumes exist before a test writes. */
async function firstWrite(client: S3Client, bucket: string): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: readyKey, Body: 'ready' }));
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: readyKey }));
}

function stopper(
  child: ChildProcess,
  exited: Promise<void>,
  launched: Launch,
  client: S3Client,
  stopTimeoutMs: number,
): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      client.destroy();
      const pid = child.pid;
      if (pid !== undefined && child.exitCode === null && child.signalCode === null) {
        signal(pid, 'SIGCONT'); // a paused server cannot act on SIGTERM
        signal(pid, 'SIGTERM');
        const timer = setTimeout(() => signal(pid, 'SIGKILL'), stopTimeoutMs);
        await exited;
        clearTimeout(timer);
      }
      if (pid !== undefined) running.delete(pid);
      if (launched.kept) await rm(join(launched.dir, pidFileName), { force: true });
      else await rm(launched.dir, { recursive: true, force: true, maxRetries: 3 });
    })();
    return stopping;
  };
}

function identityConfig(): object {
  return {
    identities: [
      {
        name: 'tributary',
        credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }],
        actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'],
      },
    ],
  };
}

/** Distinct free loopback ports: all are held open together, then released. */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let index = 0; index < count; index++) {
      const server = createServer();
      servers.push(server);
      ports.push(await listen(server));
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone: nothing to signal.
  }
}
