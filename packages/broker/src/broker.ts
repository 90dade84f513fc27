/**
 * The broker: storage plus one TCP listener per address, wired to the request router. Tests and
 * services start it in-process with `startBroker`; the CLI wraps the same call, so both run the
 * production code path.
 *
 * `close()` stops accepting, closes every connection (their long polls end), then closes the
 * storage, which completes or fails every append still in flight; it is safe to call twice.
 */
import type { Socket } from 'node:net';
import {
  type BrokerStorage,
  type ClusterView,
  ClusterLogStorage,
  LogStorage,
  type StorageOptions,
} from '@tributary/storage';
import type { ClientSecurity } from './cluster/authenticated-connection.ts';
import { BrokerClients } from './cluster/broker-clients.ts';
import { ZoneTraffic } from './cluster/zone-traffic.ts';
import { listenerPattern, parseConnectionOverrides } from './config/setting-catalogue.ts';
import { startMetricsServer, type MetricsServer } from './metrics/metrics-server.ts';
import { RecordValidationStats } from './record-validation.ts';
import { RequestMetrics } from './metrics/request-metrics.ts';
import { TopicTraffic } from './metrics/topic-traffic.ts';
import { StorageMetrics } from './metrics/storage-metrics.ts';
import { ClientQuotas } from './security/client-quotas.ts';
import { TopicPolicy } from './security/topic-policy.ts';
import { AuditLog } from './security/audit-log.ts';
import { interBrokerSecurityOf } from './security/inter-broker-security.ts';
import { hostSchemaRegistry, type SchemaRegistryHost } from './schema-registry-host.ts';
import { hostConsole, type ConsoleServer } from './console/console-server.ts';
import {
  type CoordinatorHosts,
  ensureInternalTopics,
  hostCoordinators,
} from './cluster/coordinator-hosts.ts';
import type { BrokerConfig } from './broker-config.ts';
import { BrokerSettings } from './config/broker-settings.ts';
import { loadDynamicBrokerConfigs } from './config/broker-config-changes.ts';
import type { StaticSettings } from './config/static-settings.ts';
import type { BrokerRuntime } from './broker-runtime.ts';
import type { Endpoint } from './endpoint.ts';
import { Connection } from './connection.ts';
import {
  startListeners,
  type AcceptedConnection,
  type BoundListener,
  type StartedListeners,
} from './broker-listeners.ts';
import { ConnectionAuthentication } from './security/connection-authentication.ts';
import { listenerSpecsOf, usesTls, type ListenerSpec } from './security/listener-specs.ts';
import { saslListenerConfigOf } from './security/sasl-listener-config.ts';
import { GroupRuntime, type GroupSettings, defaultGroupSettings } from './groups/group-runtime.ts';
import { allHandlers } from './handlers/index.ts';
import { createLogger, type Logger } from './logger.ts';
import { RequestMemoryPool } from './request-memory-pool.ts';
import { RequestRouter } from './request-router.ts';
import { Authorizer } from './security/authorizer.ts';
import { BatchRecordCompactor } from './batch-record-compactor.ts';
import {
  TransactionRuntime,
  defaultTransactionSettings,
  type TransactionSettings,
} from './transactions/transaction-runtime.ts';

/** How long close() waits for requests already read to be answered before cutting connections. */
const drainTimeoutMs = 5_000;

export interface StartBrokerOptions {
  /** TCP port; 0 picks a free one. Default 9092. */
  port?: number;
  /** Interface to listen on. 'localhost' listens on both 127.0.0.1 and ::1. Default 'localhost'. */
  host?: string;
  /** Data directory (embedded mode). Ignored when `inMemory` is true. */
  dataDir?: string;
  /** Keep everything in memory (tests). */
  inMemory?: boolean;
  /** Address given to clients; defaults to the listen host and the bound port. */
  advertisedListener?: Endpoint;
  /**
   * Settings by Kafka name (`tributary start` reads them from --config, TRIBUTARY_* and
   * --override; config/static-settings.ts). DescribeConfigs reports them as static.
   */
  settings?: StaticSettings;
  /** In-process overrides (tests), over `settings`; not reported by DescribeConfigs. */
  config?: Partial<BrokerConfig>;
  /** Storage tuning (segment sizes, retention interval, clock); tests shrink these. */
  storage?: Pick<
    StorageOptions,
    | 'walSegmentMaxBytes'
    | 'walSegmentMaxAgeMs'
    | 'tailCacheMaxBytes'
    | 'retentionCheckIntervalMs'
    | 'now'
  >;
  /** Consumer-group coordinator settings (rebalance delay, session timeout bounds). */
  groups?: Partial<GroupSettings>;
  /** Transaction coordinator settings (timeout bounds, timer period). */
  transactions?: Partial<TransactionSettings>;
  /** Suppress INFO logs (tests). */
  quiet?: boolean;
  logger?: Logger;
  /**
   * The embedded WAL failed for good (an I/O error, docs/adr/0014). Default: log it and exit
   * the process with `walFailureExitCode`, so a supervisor restarts it and recovery runs.
   */
  onWalFailure?: (error: Error) => void;
}

/** Exit status after a WAL I/O failure (EX_IOERR in sysexits.h). */
export const walFailureExitCode = 74;

export interface BoundListenerInfo {
  readonly name: string;
  readonly securityProtocol: ListenerSpec['securityProtocol'];
  readonly host: string;
  readonly port: number;
}

export interface RunningBroker {
  readonly host: string;
  readonly port: number;
  /** `host:port` to give a client as its bootstrap server. */
  readonly bootstrap: string;
  readonly clusterId: string;
  readonly nodeId: number;
  readonly storage: BrokerStorage;
  /** The Prometheus endpoint, when metrics.listen is set. */
  readonly metrics?: Endpoint;
  /** The schema registry's REST API, when schema.registry.listeners is set. */
  readonly schemaRegistry?: Endpoint;
  /** The web console, when console.listeners is set. */
  readonly console?: Endpoint;
  /** Every listener as bound (port 0 resolved); `port` and `bootstrap` are the first one's. */
  readonly listeners: readonly BoundListenerInfo[];
  /** Reads the TLS listeners' certificate files again (what SIGHUP does). */
  reloadTls(): Promise<void>;
  close(): Promise<void>;
}

export async function startBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const host = options.host ?? 'localhost';
  const logFormat = options.settings?.get('log.format')?.value === 'text' ? 'text' : 'json';
  const log = options.logger ?? createLogger('broker', options.quiet ?? false, logFormat);
  const settings = new BrokerSettings({
    staticSettings: options.settings ?? new Map(),
    config: options.config ?? {},
  });
  const dataDir = options.inMemory === true ? undefined : options.dataDir;
  const storageMetrics = new StorageMetrics();
  const storage = await openStorage(options, { dataDir, settings, log, storageMetrics });
  const authorizer = await startAuthorizer(storage, settings, log);
  const clientQuotas = await ClientQuotas.start(storage, storage.cluster !== undefined).catch(
    async (error: unknown) => {
      authorizer.close();
      await storage.close();
      throw error;
    },
  );
  let audit: AuditLog | undefined;
  const connections = new Set<Connection>();
  const perAddress = new Map<string, number>();
  const refusals = { count: 0, loggedAtMs: 0 };
  const pool = new RequestMemoryPool(poolCapacityOf(settings.config.queuedMaxRequestBytes));
  const routers = new Map<string, RequestRouter>();
  let router: RequestRouter | undefined;
  let closing: Promise<void> | undefined;
  const onConnection = ({ socket, listener, principal }: AcceptedConnection): void => {
    const listenerRouter = routers.get(listener.spec.name);
    if (router === undefined || listenerRouter === undefined) {
      socket.destroy();
      return;
    }
    const address = normalAddress(socket.remoteAddress);
    const refusal = connectionRefusal(settings, connections.size, {
      address,
      open: perAddress.get(address) ?? 0,
    });
    if (refusal !== undefined) {
      refuseConnection(socket, refusals, { log, ...refusal });
      return;
    }
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    const authentication = new ConnectionAuthentication({
      sasl: listener.sasl,
      principal,
      log,
      peer,
    });
    const connection = new Connection(socket, runtime, listenerRouter, pool, authentication);
    connections.add(connection);
    perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    socket.once('close', () => {
      connections.delete(connection);
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
  };
  const specs = listenerSpecsFor(options, host);
  let interBroker: ClientSecurity | undefined;
  let listeners: StartedListeners;
  try {
    interBroker =
      storage.cluster === undefined || specs[0] === undefined
        ? undefined
        : await interBrokerSecurityOf(options.settings, specs[0]);
    listeners = await startListeners(specs, {
      settings: options.settings,
      log,
      saslConfigOf: (name) =>
        saslListenerConfigOf(name, {
          settings: options.settings,
          listScramCredentials: () => storage.listScramCredentials(),
        }),
      onConnection,
    });
  } catch (error: unknown) {
    authorizer.close();
    await storage.close();
    throw error;
  }
  const servers = { close: () => listeners.close() };
  const first = listeners.bound[0];
  if (first === undefined) throw new Error('no listener');
  const port = first.port;
  const shownOf = (listener: BoundListener): Endpoint =>
    advertisedOf(listener, listener === first ? options.advertisedListener : undefined);
  const advertised = shownOf(first);
  settings.setStartupValues({
    'log.dirs': dataDir ?? null,
    listeners: listeners.bound
      .map((listener) => `${listener.spec.name}://${hostPort(listener.spec.host, listener.port)}`)
      .join(','),
    'advertised.listeners': listeners.bound
      .map(
        (listener) =>
          `${listener.spec.name}://${hostPort(shownOf(listener).host, shownOf(listener).port)}`,
      )
      .join(','),
  });
  const brokerClients =
    storage.cluster === undefined
      ? undefined
      : clientsOf(storage.cluster, storage.nodeId, interBroker);
  const coordinators = await startCoordinators(options, {
    storage,
    settings,
    log,
    clients: brokerClients,
  });
  let registryHost: SchemaRegistryHost | undefined;
  const runtime: BrokerRuntime = {
    storage,
    get config() {
      return settings.config;
    },
    settings,
    nodeId: storage.nodeId,
    clusterId: storage.clusterId,
    advertised,
    log,
    get groups() {
      return coordinators.groups;
    },
    get transactions() {
      return coordinators.transactions;
    },
    get audit() {
      return audit;
    },
    coordinatorNode: (keyType) => coordinators.coordinatorNode(keyType),
    get schemaRegistry() {
      return registryHost?.registry;
    },
    brokerClients,
    zoneTraffic: new ZoneTraffic(),
    recordValidation: new RecordValidationStats(),
    requestMetrics: new RequestMetrics(log),
    topicTraffic: new TopicTraffic(),
    storageMetrics,
    clientQuotas,
    topicPolicy: TopicPolicy.fromSettings((name) => settings.value(name) ?? undefined),
    authorizer,
    now: () => Date.now(),
  };
  if (storage.cluster !== undefined) {
    try {
      await storage.cluster.join(advertised);
      await ensureInternalTopics(storage);
    } catch (error: unknown) {
      await servers.close();
      await coordinators.close();
      await storage.close();
      throw error;
    }
  }
  audit = await AuditLog.start(storage, log, brokerClients);
  const metricsListen = options.settings?.get('metrics.listen')?.value;
  let metrics: MetricsServer | undefined;
  let consoleServer: ConsoleServer | undefined;
  try {
    if (metricsListen !== undefined) {
      metrics = await startMetricsServer(runtime, endpointOf(metricsListen), {
        notReady: () =>
          closing !== undefined ? 'closing' : router === undefined ? 'starting' : undefined,
        openConnections: () => connections.size,
      });
    }
    registryHost = await hostSchemaRegistry({ settings: options.settings, dataDir, log });
    consoleServer = await hostConsole(runtime);
  } catch (error: unknown) {
    await registryHost?.close();
    await servers.close();
    await metrics?.close();
    await coordinators.close();
    await storage.close();
    throw error;
  }
  router = new RequestRouter(runtime, allHandlers);
  for (const listener of listeners.bound) {
    routers.set(
      listener.spec.name,
      new RequestRouter(listenerRuntime(runtime, shownOf(listener)), allHandlers),
    );
  }
  const reloadTls = (): void => void listeners.reloadTls();
  if (listeners.bound.some((listener) => usesTls(listener.spec))) process.on('SIGHUP', reloadTls);
  const close = (): Promise<void> => {
    closing ??= (async () => {
      process.off('SIGHUP', reloadTls);
      const stopped = listeners.close();
      await Promise.all([...connections].map((connection) => connection.drain(drainTimeoutMs)));
      await stopped;
      await consoleServer?.close();
      await metrics?.close();
      await registryHost?.close();
      // Before the broker connections close: a non-leader hands its last entries on.
      await audit?.close();
      await coordinators.close();
      brokerClients?.close();
      authorizer.close();
      clientQuotas.close();
      await storage.close();
    })();
    return closing;
  };
  const firstHost = first.spec.host === '' ? '0.0.0.0' : first.spec.host;
  return {
    host: firstHost,
    port,
    bootstrap: hostPort(firstHost, port),
    listeners: listeners.bound.map((listener) => ({
      name: listener.spec.name,
      securityProtocol: listener.spec.securityProtocol,
      host: listener.spec.host,
      port: listener.port,
    })),
    reloadTls: () => listeners.reloadTls(),
    clusterId: storage.clusterId,
    nodeId: storage.nodeId,
    storage,
    ...(metrics === undefined ? {} : { metrics: { host: metrics.host, port: metrics.port } }),
    ...(registryHost === undefined ? {} : { schemaRegistry: registryHost.endpoint }),
    ...(consoleServer === undefined
      ? {}
      : { console: { host: consoleServer.host, port: consoleServer.port } }),
    close,
  };
}

/**
 * The group and transaction coordinators, the catalogue's settings, then `options`. Embedded:
 * both run here from the start. Cluster mode: they follow the leases of their internal topics.
 */
async function startCoordinators(
  options: StartBrokerOptions,
  context: {
    storage: BrokerStorage;
    settings: BrokerSettings;
    log: Logger;
    clients: BrokerClients | undefined;
  },
): Promise<CoordinatorHosts> {
  const { storage, settings, log, clients } = context;
  const { decompressedBatchMaxBytes } = settings.config;
  const groupOptions = {
    ...settings.groupSettings(defaultGroupSettings),
    ...options.groups,
    storage,
    log,
    now: () => Date.now(),
    decompressedBatchMaxBytes,
  };
  const transactionOptions = {
    ...settings.transactionSettings(defaultTransactionSettings),
    ...options.transactions,
    storage,
    log,
    now: () => Date.now(),
    decompressedBatchMaxBytes,
  };
  if (storage.cluster !== undefined && clients !== undefined) {
    return hostCoordinators(storage, storage.cluster, {
      groups: groupOptions,
      transactions: transactionOptions,
      log,
      clients,
    });
  }
  const groups = new GroupRuntime(groupOptions);
  void groups.start();
  const transactions = new TransactionRuntime({ ...transactionOptions, groups });
  void transactions.start();
  return {
    groups,
    transactions,
    coordinatorNode: () => storage.nodeId,
    async close() {
      await transactions.close();
      await groups.close();
    },
  };
}

/**
 * Opens storage — cluster mode when both metadata.url and object.store.url are set, else the
 * embedded one (memory without a data dir) — and applies the stored dynamic broker configs.
 */
async function openStorage(
  options: StartBrokerOptions,
  context: {
    dataDir: string | undefined;
    settings: BrokerSettings;
    log: Logger;
    storageMetrics: StorageMetrics;
  },
): Promise<BrokerStorage> {
  const { dataDir, settings, log } = context;
  const compactor = new BatchRecordCompactor(settings.config);
  const cluster = clusterSettingsOf(options.settings);
  const indexMemoryMaxBytes = Number(
    options.settings?.get('log.index.memory.max.bytes')?.value ?? '67108864',
  );
  let storage: BrokerStorage;
  if (cluster !== undefined) {
    storage = await ClusterLogStorage.open({
      ...cluster,
      indexMemoryMaxBytes,
      ...(options.storage?.tailCacheMaxBytes === undefined
        ? {}
        : { tailCacheMaxBytes: options.storage.tailCacheMaxBytes }),
      compactor,
      log,
    });
    log.info('cluster mode', { nodeId: cluster.nodeId, rack: cluster.rack ?? '(none)' });
  } else {
    const wal = {
      walLog: log,
      onWalFailure: options.onWalFailure ?? exitOnWalFailure(log),
      observer: context.storageMetrics,
    };
    storage = await LogStorage.open(
      dataDir === undefined
        ? { indexMemoryMaxBytes, ...options.storage, inMemory: true, compactor, log, ...wal }
        : { indexMemoryMaxBytes, ...options.storage, dataDir, compactor, log, ...wal },
    );
  }
  try {
    await loadDynamicBrokerConfigs(storage, settings, log);
  } catch (error: unknown) {
    await storage.close();
    throw error;
  }
  return storage;
}

/** The ACL authorizer over the stored ACLs; reloads them periodically in cluster mode. */
async function startAuthorizer(
  storage: BrokerStorage,
  settings: BrokerSettings,
  log: Logger,
): Promise<Authorizer> {
  try {
    return await Authorizer.start({
      storage,
      settings,
      log,
      refreshPeriodically: storage.cluster !== undefined,
    });
  } catch (error: unknown) {
    await storage.close();
    throw error;
  }
}

/**
 * Kafka halts a broker whose last log directory failed; so does this one: the WAL refuses every
 * write after an I/O error, and only a restart's recovery knows what reached the disk. Acked
 * records are durable, so exiting at once loses nothing; a supervisor brings the broker back.
 */
function exitOnWalFailure(log: Logger): (error: Error) => void {
  return (error) => {
    log.error('exiting: the write-ahead log failed; restart the broker to recover', {
      error: error.message,
      exitCode: walFailureExitCode,
    });
    process.exit(walFailureExitCode);
  };
}

/** The cluster settings, or undefined for the embedded mode; one URL without the other fails. */
function clusterSettingsOf(settings: StaticSettings | undefined) {
  const valueOf = (name: string): string | undefined => settings?.get(name)?.value;
  const metadataUrl = valueOf('metadata.url');
  const objectStoreUrl = valueOf('object.store.url');
  if (metadataUrl === undefined && objectStoreUrl === undefined) return undefined;
  if (metadataUrl === undefined || objectStoreUrl === undefined) {
    throw new Error('cluster mode needs both metadata.url and object.store.url');
  }
  return {
    metadataUrl,
    objectStoreUrl,
    nodeId: Number(valueOf('node.id') ?? '0'),
    rack: valueOf('broker.rack') ?? null,
    leaseMs: Number(valueOf('cluster.lease.ms') ?? '10000'),
    objectGc: {
      deleteDelayMs: Number(valueOf('cluster.object.delete.delay.ms') ?? '600000'),
      orphanMinAgeMs: Number(valueOf('cluster.orphan.object.min.age.ms') ?? '3600000'),
      intervalMs: Number(valueOf('cluster.object.gc.interval.ms') ?? '60000'),
      maxObjectsPerPass: Number(valueOf('cluster.object.gc.max.objects.per.pass') ?? '1000'),
    },
    compaction: {
      intervalMs: Number(valueOf('cluster.compaction.interval.ms') ?? '30000'),
      maxBytesPerPass: Number(valueOf('cluster.compaction.max.bytes.per.pass') ?? '16777216'),
    },
  };
}

/** Connections to the other live brokers, found by node id (cluster mode). */
function clientsOf(
  cluster: ClusterView,
  nodeId: number,
  security: ClientSecurity | undefined,
): BrokerClients {
  return new BrokerClients({
    ...(security === undefined ? {} : { security }),
    endpointOf: (peer) => {
      const broker = cluster.liveBrokers().find((entry) => entry.nodeId === peer);
      return broker === undefined ? undefined : { host: broker.host, port: broker.port };
    },
    clientId: `tributary-broker-${nodeId}`,
    requestTimeoutMs: 15_000,
  });
}

/** `host:port` (or `PLAINTEXT://host:port`, as the catalogue checked) as an endpoint. */
function endpointOf(text: string): Endpoint {
  const match = listenerPattern.exec(text.trim());
  const host = (match?.[1] ?? '').replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(match?.[2] ?? 0) };
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Interval between log lines about refused connections. */
const refusalLogIntervalMs = 10_000;

interface ConnectionRefusal {
  /** The setting that refused it and its value. */
  readonly limit: 'max.connections' | 'max.connections.per.ip';
  readonly maxConnections: number;
  readonly open: number;
}

/** Why a new connection from `peer` must be refused, as Kafka's acceptor decides; or none. */
function connectionRefusal(
  settings: BrokerSettings,
  openTotal: number,
  peer: { address: string; open: number },
): ConnectionRefusal | undefined {
  const { maxConnections, maxConnectionsPerIp } = settings.config;
  if (openTotal >= maxConnections) {
    return { limit: 'max.connections', maxConnections, open: openTotal };
  }
  const overrides = settings.value('max.connections.per.ip.overrides') ?? '';
  const perIp =
    overrides === ''
      ? maxConnectionsPerIp
      : (parseConnectionOverrides(overrides).limits.get(peer.address) ?? maxConnectionsPerIp);
  if (peer.open >= perIp) {
    return { limit: 'max.connections.per.ip', maxConnections: perIp, open: peer.open };
  }
  return undefined;
}

/** `::ffff:127.0.0.1` (IPv4 on a dual-stack socket) -> `127.0.0.1`, as overrides name it. */
function normalAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** queued.max.request.bytes; -1 (Kafka's default) means no limit. */
function poolCapacityOf(queuedMaxRequestBytes: number): number {
  return queuedMaxRequestBytes < 0 ? Number.MAX_SAFE_INTEGER : queuedMaxRequestBytes;
}

/** Closes a connection past a limit, as Kafka's acceptor does; logs at most every 10 s. */
function refuseConnection(
  socket: Socket,
  refusals: { count: number; loggedAtMs: number },
  context: ConnectionRefusal & { log: Logger },
): void {
  const peer = socket.remoteAddress ?? 'unknown';
  socket.destroy();
  refusals.count++;
  const now = Date.now();
  if (now - refusals.loggedAtMs < refusalLogIntervalMs) return;
  refusals.loggedAtMs = now;
  context.log.warn(`connection refused: ${context.limit} reached`, {
    limit: context.maxConnections,
    open: context.open,
    refusedSoFar: refusals.count,
    peer,
  });
}

/**
 * The listeners to open: the `listeners` setting when given (with advertised.listeners and the
 * protocol map), else one PLAINTEXT listener on `host` and `options.port`.
 */
function listenerSpecsFor(options: StartBrokerOptions, host: string): ListenerSpec[] {
  const text = options.settings?.get('listeners')?.value;
  if (text === undefined) {
    return [{ name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host, port: options.port ?? 9092 }];
  }
  const advertised = options.settings?.get('advertised.listeners')?.value;
  return listenerSpecsOf(options.settings, text, advertised);
}

/** What a listener's clients are told: its advertised address, else where it listens. */
function advertisedOf(listener: BoundListener, override: Endpoint | undefined): Endpoint {
  if (override !== undefined) return override;
  if (listener.spec.advertised !== undefined) {
    const { host, port } = listener.spec.advertised;
    return { host: host === '' ? 'localhost' : host, port: port === 0 ? listener.port : port };
  }
  const host = listener.spec.host;
  return { host: host === '' || host === '0.0.0.0' ? 'localhost' : host, port: listener.port };
}

/**
 * The runtime as one listener's requests see it: the same object, but `advertised` is that
 * listener's address, so Metadata and DescribeCluster answer with the endpoints of the listener
 * the client connected to (Kafka answers per listener name).
 */
function listenerRuntime(runtime: BrokerRuntime, advertised: Endpoint): BrokerRuntime {
  return Object.create(runtime, { advertised: { value: advertised } }) as BrokerRuntime;
}
