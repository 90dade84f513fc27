/**
 * A broker process started through the real CLI with its schema registry on an ephemeral port
 * (`--schema-registry-listen 127.0.0.1:0`, and metrics on another); the URLs come from the lines
 * `tributary start` prints. Shared by the schema registry tests.
 */
import { spawnBroker, tempDir, type SpawnedBroker, type TempDir } from '../../src/index.ts';

export interface RegistryBroker {
  readonly broker: SpawnedBroker;
  /** http://127.0.0.1:PORT of the registry's REST API. */
  readonly registryUrl: string;
  /** http://127.0.0.1:PORT/metrics of the broker's Prometheus endpoint. */
  readonly metricsUrl: string;
  readonly dataDir: TempDir;
  stop(): Promise<void>;
}

const registryLinePattern = /schema registry on (http:\/\/\S+)/;
const metricsLinePattern = /metrics on (http:\/\/\S+)/;

export async function startRegistryBroker(dataDir?: TempDir): Promise<RegistryBroker> {
  const dir = dataDir ?? (await tempDir('schema-registry'));
  const broker = await spawnBroker({
    dataDir: dir.path,
    args: ['--schema-registry-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0'],
  });
  const match = registryLinePattern.exec(broker.stdout());
  const metrics = metricsLinePattern.exec(broker.stdout());
  if (match?.[1] === undefined || metrics?.[1] === undefined) {
    await broker.stop();
    throw new Error(`no schema registry line in the broker's output:\n${broker.stdout()}`);
  }
  return {
    broker,
    registryUrl: match[1],
    metricsUrl: metrics[1],
    dataDir: dir,
    async stop() {
      await broker.stop();
    },
  };
}
