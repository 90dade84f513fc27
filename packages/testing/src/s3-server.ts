/**
 * A private S3-compatible server for a test: `startS3Server` runs SeaweedFS (`weed server` with
 * its master, volume server, filer and S3 gateway in one process; docs/adr/0009) in a fresh temp
 * dir, every port a free loopback port, with one identity holding fixed keys, waits until the
 * S3 endpoint answers signed requests, and creates a bucket through the S3 API. The binary is
 * built by packages/testing/scripts/build-s3-server.sh (`npm test` runs it), or is the one named
 * by TRIBUTARY_WEED_BIN.
 *
 * Invariants: every wait is bounded (start, bucket creation, stop); `stop` resumes a paused
 * server, sends SIGTERM, falls back to SIGKILL after `stopTimeoutMs`, then removes the dir, and
 * is safe to call twice. A test process that exits without `stop` still kills its servers (an
 * `exit` hook), so a failed test leaves no server running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

export interface S3ServerOptions {
  /** The bucket created at start. Default `tributary`. */
  readonly bucket?: string;
  /** Bound on the process start plus the first bucket. */
  readonly startTimeoutMs?: number;
  /** Bound on the SIGTERM shutdown before the server is killed. */
  readonly stopTimeoutMs?: number;
}

export interface S3Server extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`: the S3 API, path-style. */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
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

export const weedPath =
  process.env['TRIBUTARY_WEED_BIN'] ??
  fileURLToPath(new URL('../.tools/bin/weed', import.meta.url));

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
  await access(weedPath, constants.X_OK).catch(() => {
    throw new Error(
      `no SeaweedFS binary at ${weedPath}: run packages/testing/scripts/build-s3-server.sh ` +
        '(needs Go 1.26+ and the Go module proxy) or set TRIBUTARY_WEED_BIN',
    );
  });
  const startTimeoutMs = options.startTimeoutMs ?? defaultStartTimeoutMs;
  const started = performance.now();
  let lastError: unknown;
  for (let attempt = 1; attempt <= bindAttempts; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-s3-'));
    try {
      const server = await launch(dir, options, startTimeoutMs, started);
      return server;
    } catch (error: unknown) {
      lastError = error;
      await rm(dir, { recursive: true, force: true });
    }
  }
  throw lastError;
}

async function launch(
  dir: string,
  options: S3ServerOptions,
  startTimeoutMs: number,
  started: number,
): Promise<S3Server> {
  const ports = await freePorts(8);
  const [s3, s3Grpc, master, masterGrpc, volume, volumeGrpc, filer, filerGrpc] = ports as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const config = join(dir, 's3-identities.json');
  await writeFile(config, JSON.stringify(identityConfig()));
  await mkdir(join(dir, 'data'));
  const args = [
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
  const child = spawn(weedPath, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    log = (log + text).slice(-logLimitBytes);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.pid !== undefined) running.add(child.pid);
  const endpoint = `http://${host}:${s3}`;
  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  });
  const stop = stopper(child, exited, dir, client, options.stopTimeoutMs ?? defaultStopTimeoutMs);
  const bucket = options.bucket ?? defaultBucket;
  try {
    const hasExited = (): boolean => child.exitCode !== null || child.signalCode !== null;
    await waitUntilReady(client, bucket, started + startTimeoutMs, hasExited, () => log);
  } catch (error: unknown) {
    await stop();
    throw error;
  }
  return {
    endpoint,
    port: s3,
    region,
    bucket,
    accessKeyId,
    secretAccessKey,
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
  dir: string,
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
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
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
