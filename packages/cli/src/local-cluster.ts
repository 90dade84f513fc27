/**
 * A whole cluster on one machine, without Docker (`tributary cluster up`, and tests): a private
 * PostgreSQL in `<dataDir>/postgres` (unless `metadataUrl` names one), SeaweedFS's S3 server in
 * `<dataDir>/s3` (unless `objectStoreUrl` names one), and N brokers as child processes, node ids
 * 1..N on `basePort`.. with racks assigned round-robin, each with `<dataDir>/broker-<id>` and a
 * log in `<dataDir>/logs`. Every part keeps its data in `dataDir`, so starting again on the same
 * directory brings the same cluster back.
 *
 * Invariants: a start that fails stops whatever it had started before it throws; `stop` stops
 * the brokers first (their clean shutdown still needs the metadata and object stores), then the
 * S3 server, then PostgreSQL, and is safe to call twice. Broker 1 starts alone before the others,
 * so the first start of an empty metadata store is not a race of N brokers.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  findPostgresBin,
  findWeed,
  killStaleS3Server,
  startPostgresServer,
  startS3Server,
  type PostgresServer,
  type S3Server,
} from '@tributary/local-services';
import {
  spawnClusterBroker,
  type BrokerExit,
  type ClusterBrokerProcess,
  type ClusterBrokerSpec,
} from './cluster-broker-process.ts';

export interface LocalClusterOptions {
  readonly brokers: number;
  readonly dataDir: string;
  /** Racks given to brokers round-robin, in node id order. Default a, b, c. */
  readonly racks?: readonly string[];
  /** The address brokers listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Broker `n` listens on `basePort + n - 1`. Default 19092. */
  readonly basePort?: number;
  /** An existing PostgreSQL database (postgres://...): no private PostgreSQL is started. */
  readonly metadataUrl?: string;
  /** An existing bucket (s3://...): no S3 server is started; credentials from AWS_* variables. */
  readonly objectStoreUrl?: string;
  /** The S3 server's port. Default 8333, or a free port when 8333 is taken. */
  readonly s3Port?: number;
  /** PostgreSQL's port. Default a free port. */
  readonly pgPort?: number;
  /** More `tributary start` arguments for every broker (`--override KEY=VALUE`). */
  readonly brokerArgs?: readonly string[];
  /** Bound on each broker's start. Default 60 s. */
  readonly readyTimeoutMs?: number;
  /** Progress lines (what is starting, how long it took); `cluster up` writes them to stderr. */
  readonly log?: (line: string) => void;
  /**
   * Every process in its own process group, so a terminal's Ctrl-C reaches only this one, which
   * stops them in order (`cluster up`). Default false: they get the signal with the parent.
   */
  readonly detached?: boolean;
  /** Called when a broker exits without `stop` or `killBroker` asking it to. */
  readonly onBrokerExit?: (broker: LocalClusterBroker, exit: BrokerExit) => void;
}

export interface LocalClusterBroker {
  readonly nodeId: number;
  readonly pid: number;
  readonly rack: string;
  readonly host: string;
  readonly port: number;
}

export interface LocalCluster extends AsyncDisposable {
  /** `host:port,...` of every broker started by `startLocalCluster`. */
  readonly bootstrap: string;
  /** The brokers running now, in node id order. */
  readonly brokers: readonly LocalClusterBroker[];
  readonly metadataUrl: string;
  readonly objectStoreUrl: string;
  readonly dataDir: string;
  /** Sends `signal` (default SIGKILL) to a broker; waits for its exit unless it is SIGSTOP. */
  killBroker(nodeId: number, signal?: NodeJS.Signals): Promise<BrokerExit | undefined>;
  /** Starts a broker that is not running: a stopped one again, or a new node id (scale out). */
  startBroker(nodeId: number): Promise<LocalClusterBroker>;
  /** Stops the brokers, then the S3 server, then PostgreSQL; a no-op the second time. */
  stop(): Promise<void>;
}

const defaultRacks = ['a', 'b', 'c'];
const defaultHost = '127.0.0.1';
export const defaultBasePort = 19092;
export const defaultS3Port = 8333;
const defaultReadyTimeoutMs = 60_000;
const bucket = 'tributary';
const objectPrefix = 'cluster';
const s3Region = 'us-east-1';
/** What a broker says when its node id is still registered by a process that is gone. */
const nodeIdInUse = 'is in use by a live broker';
const nodeIdRetryMs = 1_000;
/** Bound on the wait for a killed broker of an earlier run to go. */
const staleKillWaitMs = 5_000;

interface Services {
  postgres?: PostgresServer;
  s3?: S3Server;
  metadataUrl: string;
  objectStoreUrl: string;
  /** The S3 credentials brokers need for a server started here. */
  env: Record<string, string>;
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  checkOptions(options);
  const cluster = new LocalClusterRun(options);
  await mkdir(join(cluster.dataDir, 'logs'), { recursive: true });
  const killed = await killStaleBrokers(cluster.dataDir, cluster.log);
  const ports = cluster.nodeIds.map((nodeId) => cluster.portOf(nodeId));
  // A killed process frees its sockets only once its last thread is gone: give it a moment.
  await mustBeFree(cluster.host, ports, killed ? staleKillWaitMs : 0);
  try {
    await startServices(options, cluster.dataDir, cluster.services, cluster.log);
    // The first start of an empty metadata store creates its schema: one broker does it alone.
    const [first, ...rest] = cluster.nodeIds;
    if (first !== undefined) await cluster.startBroker(first);
    await Promise.all(rest.map((nodeId) => cluster.startBroker(nodeId)));
  } catch (error: unknown) {
    await cluster.stop();
    throw error;
  }
  const stop = (): Promise<void> => cluster.stop();
  return {
    bootstrap: cluster.nodeIds
      .map((nodeId) => `${cluster.host}:${cluster.portOf(nodeId)}`)
      .join(','),
    get brokers() {
      return cluster.liveBrokers();
    },
    metadataUrl: cluster.services.metadataUrl,
    objectStoreUrl: cluster.services.objectStoreUrl,
    dataDir: cluster.dataDir,
    killBroker: (nodeId, signal) => cluster.killBroker(nodeId, signal),
    startBroker: (nodeId) => cluster.startBroker(nodeId),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** The state of one started cluster: its services and its broker processes by node id. */
class LocalClusterRun {
  readonly options: LocalClusterOptions;
  readonly dataDir: string;
  readonly host: string;
  readonly basePort: number;
  readonly nodeIds: readonly number[];
  readonly log: (line: string) => void;
  readonly services: Services = { metadataUrl: '', objectStoreUrl: '', env: {} };
  readonly #children = new Map<number, ClusterBrokerProcess>();
  /** Node ids whose exit was asked for: no onBrokerExit for them. */
  readonly #stopping = new Set<number>();
  #stopped: Promise<void> | undefined;

  constructor(options: LocalClusterOptions) {
    this.options = options;
    this.dataDir = resolve(options.dataDir);
    this.host = options.host ?? defaultHost;
    this.basePort = options.basePort ?? defaultBasePort;
    this.nodeIds = Array.from({ length: options.brokers }, (_, index) => index + 1);
    this.log = options.log ?? (() => undefined);
  }

  portOf(nodeId: number): number {
    return this.basePort + nodeId - 1;
  }

  specOf(nodeId: number): ClusterBrokerSpec {
    const racks = this.options.racks ?? defaultRacks;
    return {
      nodeId,
      rack: racks[(nodeId - 1) % racks.length] ?? 'a',
      host: this.host,
      port: this.portOf(nodeId),
      dataDir: join(this.dataDir, `broker-${nodeId}`),
      metadataUrl: this.services.metadataUrl,
      objectStoreUrl: this.services.objectStoreUrl,
      logFile: join(this.dataDir, 'logs', `broker-${nodeId}.log`),
      pidFile: join(this.dataDir, 'logs', `broker-${nodeId}.pid`),
      args: this.options.brokerArgs ?? [],
      env: this.services.env,
      readyTimeoutMs: this.options.readyTimeoutMs ?? defaultReadyTimeoutMs,
      detached: this.options.detached ?? false,
    };
  }

  liveBrokers(): LocalClusterBroker[] {
    const live = [...this.#children.values()].filter((child) => child.alive());
    return live.map(brokerOf).toSorted((a, b) => a.nodeId - b.nodeId);
  }

  async startBroker(nodeId: number): Promise<LocalClusterBroker> {
    if (!Number.isInteger(nodeId) || nodeId < 1) throw new RangeError(`bad node id ${nodeId}`);
    if (this.#children.get(nodeId)?.alive() === true) {
      throw new Error(`broker ${nodeId} runs already`);
    }
    const started = performance.now();
    const spec = this.specOf(nodeId);
    this.log(`starting broker ${nodeId} (rack ${spec.rack}) on ${spec.host}:${spec.port} ...`);
    const child = await this.#spawnWhenFree(spec);
    this.#children.set(nodeId, child);
    this.#stopping.delete(nodeId);
    void child.exited.then((exit) => {
      if (this.#children.get(nodeId) === child && !this.#stopping.has(nodeId)) {
        this.options.onBrokerExit?.(brokerOf(child), exit);
      }
    });
    this.log(`broker ${nodeId} ready in ${seconds(started)}`);
    return brokerOf(child);
  }

  /**
   * A broker killed a moment ago (kill -9, or an earlier run's) still holds its node id in the
   * metadata store until its registration lease runs out: the new process is refused meanwhile,
   * so it is started again until then, within the ready bound. The same for its port, which
   * another process may hold for a while once it is free (an outgoing connection given it as an
   * ephemeral port): the broker comes back on its own port, where clients look for it.
   */
  async #spawnWhenFree(spec: ClusterBrokerSpec): Promise<ClusterBrokerProcess> {
    const deadline = performance.now() + spec.readyTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await spawnClusterBroker(spec);
      } catch (error: unknown) {
        const message = error instanceof Error ? error.message : String(error);
        const portTaken = message.includes('EADDRINUSE');
        if (!(message.includes(nodeIdInUse) || portTaken) || performance.now() > deadline) {
          throw error;
        }
        if (attempt === 1) {
          this.log(
            portTaken
              ? `port ${spec.port} of broker ${spec.nodeId} is taken: waiting for it`
              : `node id ${spec.nodeId} is still held by its previous process: waiting for ` +
                  'its lease to run out',
          );
        }
        await sleep(nodeIdRetryMs);
      }
    }
  }

  async killBroker(
    nodeId: number,
    signal: NodeJS.Signals = 'SIGKILL',
  ): Promise<BrokerExit | undefined> {
    const child = this.#children.get(nodeId);
    if (child === undefined || !child.alive()) return undefined;
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') {
      process.kill(child.pid, signal);
      return undefined;
    }
    this.#stopping.add(nodeId);
    return child.stop(signal);
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stopAll();
    return this.#stopped;
  }

  async #stopAll(): Promise<void> {
    const live = [...this.#children.values()].filter((child) => child.alive());
    for (const nodeId of this.#children.keys()) this.#stopping.add(nodeId);
    if (live.length > 0) {
      this.log(`stopping ${live.length} broker(s) ...`);
      // A broker paused by SIGSTOP cannot act on SIGTERM.
      for (const child of live) sendSignal(child.pid, 'SIGCONT');
      await Promise.all(live.map((child) => child.stop('SIGTERM')));
    }
    if (this.services.s3 !== undefined) {
      this.log('stopping the S3 server ...');
      await this.services.s3.stop();
    }
    if (this.services.postgres !== undefined) {
      this.log('stopping PostgreSQL ...');
      await this.services.postgres.stop();
    }
    const started = live.length + (this.services.s3 === undefined ? 0 : 1);
    if (started + (this.services.postgres === undefined ? 0 : 1) > 0) this.log('cluster stopped');
  }
}

function checkOptions(options: LocalClusterOptions): void {
  if (!Number.isInteger(options.brokers) || options.brokers < 1) {
    throw new RangeError(`brokers must be a whole number >= 1, not ${options.brokers}`);
  }
  if (options.racks?.length === 0 || options.racks?.some((rack) => rack === '')) {
    throw new RangeError('racks must be non-empty names');
  }
}

function brokerOf(child: ClusterBrokerProcess): LocalClusterBroker {
  const { nodeId, rack, host, port } = child.spec;
  return { nodeId, pid: child.pid, rack, host, port };
}

/** Starts PostgreSQL and the S3 server unless given; fills in `services`. */
async function startServices(
  options: LocalClusterOptions,
  dataDir: string,
  services: Services,
  log: (line: string) => void,
): Promise<void> {
  // Every missing program is named before anything starts.
  if (options.objectStoreUrl === undefined) await findWeed();
  if (options.metadataUrl === undefined) await findPostgresBin();
  if (options.metadataUrl === undefined) {
    const started = performance.now();
    const dir = join(dataDir, 'postgres');
    log(`starting PostgreSQL in ${dir} ...`);
    const pgOptions = { dir, fsync: true, log, ...portOption(options.pgPort) };
    services.postgres = await startPostgresServer(pgOptions);
    services.metadataUrl = services.postgres.url;
    const { host, port, pid } = services.postgres;
    log(`PostgreSQL ready on ${host}:${port} (pid ${pid}) in ${seconds(started)}`);
  } else {
    services.metadataUrl = options.metadataUrl;
  }
  if (options.objectStoreUrl === undefined) {
    const started = performance.now();
    const s3 = await startObjectStore(options, join(dataDir, 's3'), log);
    services.s3 = s3;
    services.objectStoreUrl = `s3://${bucket}/${objectPrefix}?endpoint=${s3.endpoint}&region=${s3Region}`;
    services.env = { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey };
    log(`S3 server ready on ${s3.endpoint} (pid ${s3.pid}) in ${seconds(started)}`);
  } else {
    services.objectStoreUrl = options.objectStoreUrl;
  }
}

/** The S3 server on --s3-port, else on 8333 when free, else on a free port. */
async function startObjectStore(
  options: LocalClusterOptions,
  dir: string,
  log: (line: string) => void,
): Promise<S3Server> {
  // An S3 server left by a killed run still holds the port this one should take.
  await killStaleS3Server(dir, log);
  const defaultFree = await isFree(defaultHost, defaultS3Port);
  const port = options.s3Port ?? (defaultFree ? defaultS3Port : undefined);
  log(`starting S3 server (SeaweedFS) in ${dir} ...`);
  const s3Options = { dir, bucket, log, detached: options.detached ?? false };
  try {
    return await startS3Server({ ...s3Options, ...portOption(port) });
  } catch (error: unknown) {
    // Another process took 8333 between the check and the bind: any free port does as well.
    const chosen = options.s3Port === undefined && port !== undefined;
    if (!chosen || (await isFree(defaultHost, defaultS3Port))) throw error;
    log(`port ${defaultS3Port} was taken meanwhile: starting on a free port instead`);
    return startS3Server(s3Options);
  }
}

/**
 * Brokers of an earlier run whose `cluster up` was killed (kill -9) still hold their ports and
 * talk to services about to be restarted: each is found by its pid file, checked to be that
 * broker (its command line names its data dir), and killed, as a crash would end it.
 */
async function killStaleBrokers(dataDir: string, log: (line: string) => void): Promise<boolean> {
  const logs = join(dataDir, 'logs');
  const pidFiles = (await readdir(logs)).filter((name) => /^broker-\d+\.pid$/.test(name));
  let killed = false;
  for (const name of pidFiles) {
    const pid = Number(await readFile(join(logs, name), 'utf8').catch(() => ''));
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const brokerDir = join(dataDir, name.replace(/\.pid$/, ''));
    if (!command.includes(`--data-dir\0${brokerDir}\0`)) continue;
    log(`${name.replace(/\.pid$/, '')} of an earlier run (pid ${pid}) still runs: killing it`);
    sendSignal(pid, 'SIGCONT');
    sendSignal(pid, 'SIGKILL');
    killed = true;
    for (let waitedMs = 0; waitedMs < staleKillWaitMs && (await running(pid)); waitedMs += 100) {
      await sleep(100);
    }
  }
  return killed;
}

/** Whether `pid` runs: a zombie has ended (its new parent may be a PID 1 that never reaps). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

function portOption(port: number | undefined): { port: number } | Record<string, never> {
  return port === undefined ? {} : { port };
}

/** Fails with a plain message when one of `ports` is still taken after `waitMs`. */
async function mustBeFree(host: string, ports: readonly number[], waitMs: number): Promise<void> {
  const deadline = performance.now() + waitMs;
  for (const port of ports) {
    while (!(await isFree(host, port))) {
      if (performance.now() >= deadline) {
        throw new Error(
          `broker port ${host}:${port} is in use (a cluster already running?): stop what ` +
            'holds it or choose other ports with --base-port',
        );
      }
      await sleep(100);
    }
  }
}

function isFree(host: string, port: number): Promise<boolean> {
  return new Promise((settle) => {
    const server = createServer();
    server.once('error', () => settle(false));
    server.listen(port, host, () => server.close(() => settle(true)));
  });
}

function seconds(startedMs: number): string {
  return `${((performance.now() - startedMs) / 1000).toFixed(1)} s`;
}

function sendSignal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}
