/**
 * The real parts the SDK's tests run against: a broker process started through the CLI (with
 * its schema registry on an ephemeral port) and, for the outbox and idempotent consumption, a
 * private PostgreSQL. Nothing of the broker is imported: the SDK reaches both over the network.
 * Also the hooks that start both for a test file, and the polling wait the tests share.
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import {
  hookedFixture,
  spawnBroker,
  startPostgresServer,
  tempDir,
  type PostgresServer,
  type SpawnedBroker,
  type TempDir,
} from '@tributary/testing';

export interface SdkTestBroker {
  readonly broker: SpawnedBroker;
  readonly bootstrap: string;
  readonly registryUrl: string;
  stop(): Promise<void>;
}

const registryLinePattern = /schema registry on (http:\/\/\S+)/;

export async function startSdkTestBroker(
  options: { partitions?: number; dataDir?: TempDir } = {},
): Promise<SdkTestBroker> {
  const dir = options.dataDir ?? (await tempDir('sdk'));
  const broker = await spawnBroker({
    dataDir: dir.path,
    args: [
      '--schema-registry-listen',
      '127.0.0.1:0',
      '--override',
      `num.partitions=${options.partitions ?? 3}`,
    ],
  });
  const match = registryLinePattern.exec(broker.stdout());
  if (match?.[1] === undefined) {
    await broker.stop();
    throw new Error(`no schema registry line in the broker's output:\n${broker.stdout()}`);
  }
  return {
    broker,
    bootstrap: broker.bootstrap,
    registryUrl: match[1],
    async stop() {
      await broker.stop();
      if (options.dataDir === undefined) await dir.remove();
    },
  };
}

export async function startSdkTestPostgres(): Promise<PostgresServer> {
  return startPostgresServer({ database: 'service' });
}

/** A topic name no earlier test used. */
let topicCounter = 0;
export function uniqueTopic(prefix: string): string {
  topicCounter += 1;
  return `${prefix}-${process.pid}-${topicCounter}`;
}

export interface SdkBrokerAndPostgres {
  readonly broker: SdkTestBroker;
  readonly postgres: PostgresServer;
  /** A pool on `postgres`, ended by the `after` hook. */
  readonly pool: pg.Pool;
}

/**
 * Registers `before` and `after` hooks that start a broker and PostgreSQL side by side with a
 * pool of `poolMax` connections, on which `ready` creates the file's tables, and stop them.
 */
export function useSdkBrokerAndPostgres(options: {
  poolMax: number;
  ready: (pool: pg.Pool) => Promise<void>;
}): SdkBrokerAndPostgres {
  return hookedFixture<SdkBrokerAndPostgres>({
    async start() {
      const [broker, postgres] = await Promise.all([startSdkTestBroker(), startSdkTestPostgres()]);
      const pool = new pg.Pool({ connectionString: postgres.url, max: options.poolMax });
      // Idle connections see the server stop at the end; that is not a test failure.
      pool.on('error', () => undefined);
      return { broker, postgres, pool };
    },
    ready: ({ pool }) => options.ready(pool),
    async stop({ broker, postgres, pool }) {
      await pool.end();
      await Promise.all([broker.stop(), postgres.stop()]);
    },
  });
}

/** How long `waitFor` polls before failing, and how often. */
const waitMaxMs = 120_000;
const pollIntervalMs = 50;

/** Polls `check` until it holds; fails naming `what` after `waitMaxMs`. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  what: string,
): Promise<void> {
  for (let waitedMs = 0; waitedMs < waitMaxMs; waitedMs += pollIntervalMs) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
  assert.fail(`timed out waiting for ${what}`);
}
