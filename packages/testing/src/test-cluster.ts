/**
 * A cluster-mode cluster for a test: a private PostgreSQL, an S3 server and N broker processes
 * (the real `tributary start` with metadata.url and object.store.url), each with its own node id
 * and rack. Brokers can be killed (kill -9), paused (SIGSTOP) and started again on their old
 * port, which is what the failure tests need; `stop` takes everything down and is safe to call
 * twice.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startPostgresServer,
  startS3Server,
  type PostgresServer,
  type S3Server,
} from '@tributary/local-services';
import { spawnBroker, type SpawnedBroker } from './spawn-broker.ts';
import { stablePort } from '@tributary/local-services';

export interface TestClusterOptions {
  readonly brokers: number;
  /** cluster.lease.ms; short leases make failover tests quick. Default 3000. */
  readonly leaseMs?: number;
  /** Rack of broker i (1-based) is racks[(i - 1) % racks.length]. Default a, b, c. */
  readonly racks?: readonly string[];
  /** More `tributary start` arguments for every broker. */
  readonly args?: readonly string[];
  /** The one listener's name (a security protocol, e.g. SASL_SSL). Default PLAINTEXT. */
  readonly listener?: string;
  /** More arguments for one broker (e.g. its own --metrics-listen port). */
  readonly brokerArgs?: (nodeId: number) => readonly string[];
}

export interface TestCluster {
  readonly postgres: PostgresServer;
  readonly s3: S3Server;
  readonly objectStoreUrl: string;
  /** Running brokers by node id. */
  readonly brokers: ReadonlyMap<number, SpawnedBroker>;
  /** host:port of every running broker, comma-separated. */
  bootstrap(): string;
  rackOf(nodeId: number): string;
  /** Starts broker `nodeId` (again: on its previous port). */
  startBroker(nodeId: number): Promise<SpawnedBroker>;
  /** kill -9, as a crash. */
  killBroker(nodeId: number): Promise<void>;
  /** SIGTERM: a clean shutdown that hands its leases off. */
  stopBroker(nodeId: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestCluster(options: TestClusterOptions): Promise<TestCluster> {
  const [postgres, s3] = await Promise.all([startPostgresServer(), startS3Server()]);
  const root = await mkdtemp(join(tmpdir(), 'tributary-cluster-'));
  const racks = options.racks ?? ['a', 'b', 'c'];
  const objectStoreUrl = s3.url(`cluster-${process.pid}-${Date.now()}`);
  const brokers = new Map<number, SpawnedBroker>();
  const ports = new Map<number, number>();
  const rackOf = (nodeId: number): string => racks[(nodeId - 1) % racks.length] ?? 'a';
  const startOne = async (nodeId: number): Promise<SpawnedBroker> => {
    // Outside the ephemeral range, so no client connection takes it while the broker is down.
    const port = ports.get(nodeId) ?? (await stablePort());
    const broker = await spawnBroker({
      dataDir: join(root, `broker-${nodeId}`),
      listen: `${options.listener === undefined ? '' : `${options.listener}://`}127.0.0.1:${port}`,
      env: { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
      readyTimeoutMs: 60_000,
      args: [
        '--override',
        `node.id=${nodeId}`,
        '--override',
        `broker.rack=${rackOf(nodeId)}`,
        '--override',
        `cluster.lease.ms=${options.leaseMs ?? 3000}`,
        '--metadata-url',
        postgres.url,
        '--object-store-url',
        objectStoreUrl,
        ...(options.args ?? []),
        ...(options.brokerArgs?.(nodeId) ?? []),
      ],
    });
    ports.set(nodeId, broker.port);
    brokers.set(nodeId, broker);
    return broker;
  };
  let stopped: Promise<void> | undefined;
  const cluster: TestCluster = {
    postgres,
    s3,
    objectStoreUrl,
    brokers,
    bootstrap: () => [...brokers.values()].map((broker) => broker.bootstrap).join(','),
    rackOf,
    startBroker: startOne,
    async killBroker(nodeId) {
      await brokers.get(nodeId)?.kill();
      brokers.delete(nodeId);
    },
    async stopBroker(nodeId) {
      await brokers.get(nodeId)?.stop();
      brokers.delete(nodeId);
    },
    stop() {
      stopped ??= (async () => {
        await Promise.all([...brokers.values()].map((broker) => broker.stop()));
        brokers.clear();
        await Promise.all([s3.stop(), postgres.stop()]);
        await rm(root, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
  try {
    for (let nodeId = 1; nodeId <= options.brokers; nodeId++) await startOne(nodeId);
  } catch (error: unknown) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
