/**
 * The reference shop on a three-broker cluster over PostgreSQL and S3 (issue 18, cluster mode):
 * 2,000 orders placed concurrently while a seeded schedule kills random services and brokers
 * with SIGKILL (a broker starts again on its port once its lease has aged out), then the same
 * invariants as the embedded run, and a late sales report matching the order totals. Every
 * broker serves the schema registry from the metadata store; the services use broker 1's.
 * SHOP_CHAOS_SEED replays a run; SHOP_CHAOS_ORDERS changes its size. Service output goes to
 * .tmp/shop-test/cluster-<seed>.log, each broker's to cluster-<seed>-broker-<id>.log.
 */
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { appendFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import {
  stablePort,
  startTestCluster,
  type SpawnedBroker,
  type TestCluster,
} from '@tributary/testing';
import { Shop } from '../src/shop.ts';
import { checkLateSalesReport, runShopChaos, type ChaosTarget } from './shop-chaos.ts';

const seed = Number(process.env['SHOP_CHAOS_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const orders = Number(process.env['SHOP_CHAOS_ORDERS'] ?? 2_000);
const initialStock = Math.ceil(orders * 0.3);
const brokerCount = 3;
const leaseMs = 3_000;
const logDir = resolve(import.meta.dirname, '../../../.tmp/shop-test');

let cluster: TestCluster;
let bootstrap: string;
let registryUrl: string;
let databaseUrl: string;
let pool: pg.Pool;
let shop: Shop;
let workDir: string;
let notificationFile: string;
let log: (line: string) => void;

before(async () => {
  await mkdir(logDir, { recursive: true });
  const logFile = createWriteStream(resolve(logDir, `cluster-${seed}.log`));
  log = (line) => logFile.write(`${new Date().toISOString()} ${line}\n`);
  process.stdout.write(`shop chaos (cluster): seed ${seed}, ${orders} orders\n`);
  const registryPorts = new Map<number, number>();
  for (let nodeId = 1; nodeId <= brokerCount; nodeId++) {
    registryPorts.set(nodeId, await stablePort());
  }
  cluster = await startTestCluster({
    brokers: brokerCount,
    leaseMs,
    brokerArgs: (nodeId) => [
      '--schema-registry-listen',
      `127.0.0.1:${registryPorts.get(nodeId) ?? 0}`,
    ],
  });
  bootstrap = cluster.bootstrap();
  registryUrl = `http://127.0.0.1:${registryPorts.get(1) ?? 0}`;
  databaseUrl = await cluster.postgres.createDatabase('shop');
  workDir = await mkdtemp(join(tmpdir(), 'tributary-shop-'));
  notificationFile = join(workDir, 'notifications.jsonl');
  pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  shop = new Shop({
    environment: () => ({
      bootstrap,
      registryUrl,
      databaseUrl,
      notificationFile,
      extra: { SHOP_INITIAL_STOCK: String(initialStock) },
    }),
    onLine: (name, line) => log(`[${name}] ${line}`),
  });
  await shop.start();
});

/** Appends one broker incarnation's output to .tmp/shop-test/cluster-<seed>-broker-<id>.log. */
async function keepBrokerOutput(nodeId: number, broker: SpawnedBroker): Promise<void> {
  const file = resolve(logDir, `cluster-${seed}-broker-${nodeId}.log`);
  await appendFile(file, `${broker.stdout()}${broker.stderr()}--- end of an incarnation\n`);
}

after(async () => {
  if (cluster !== undefined) {
    for (const [nodeId, broker] of cluster.brokers) await keepBrokerOutput(nodeId, broker);
  }
  await shop?.stop();
  await pool?.end();
  await cluster?.stop();
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

/**
 * Broker `nodeId` as a chaos target. A start while the killed incarnation still counts as live
 * (its heartbeat younger than the lease) is refused; it is tried again until that ages out.
 */
function brokerTarget(nodeId: number): ChaosTarget {
  return {
    name: `broker-${nodeId}`,
    async kill() {
      const incarnation = cluster.brokers.get(nodeId);
      await cluster.killBroker(nodeId);
      if (incarnation !== undefined) await keepBrokerOutput(nodeId, incarnation);
    },
    async start() {
      const deadline = Date.now() + 3 * leaseMs + 30_000;
      for (;;) {
        try {
          await cluster.startBroker(nodeId);
          return;
        } catch (error: unknown) {
          const refused = error instanceof Error && /in use by a live broker/.test(error.message);
          if (!refused || Date.now() > deadline) throw error;
          await sleep(500);
        }
      }
    },
  };
}

test(`${orders} orders under kill -9 of services and brokers settle correctly`, async () => {
  const brokers = Array.from({ length: brokerCount }, (_, index) => brokerTarget(index + 1));
  const { kills, ...counts } = await runShopChaos({
    shop,
    pool,
    orders,
    initialStock,
    notificationFile,
    brokers,
    seed,
    bootstrap: () => cluster.bootstrap(),
    log,
  });
  process.stdout.write(
    `shop chaos (cluster) seed ${seed}: ${kills.length} kills (${kills.join(', ')}); ` +
      `${JSON.stringify(counts)}\n`,
  );
  assert.ok(
    kills.some((kill) => kill.includes(' broker-')),
    'brokers were killed too',
  );
});

test('a sales report joining late matches the order totals on the cluster', async () => {
  await checkLateSalesReport({
    environment: () => ({ bootstrap, registryUrl, databaseUrl, notificationFile }),
    pool,
    seed,
    log,
  });
});
