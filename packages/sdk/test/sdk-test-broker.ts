/**
 * The real parts the SDK's tests run against: a broker process started through the CLI (with
 * its schema registry on an ephemeral port) and, for the outbox and idempotent consumption, a
 * private PostgreSQL. Nothing of the broker is imported: the SDK reaches both over the network.
 */
import {
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
