/**
 * A broker process started through the real CLI with its schema registry on an ephemeral port
 * (`--schema-registry-listen 127.0.0.1:0`, and metrics on another); the URLs come from the lines
 * `tributary start` prints. Shared by the schema registry tests, with the hooks that start one
 * per test file and the kafkajs steps several of them take.
 */
import { SchemaRegistry as ConfluentClient } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import {
  hookedFixture,
  spawnBroker,
  tempDir,
  type SpawnedBroker,
  type TempDir,
} from '../../src/index.ts';

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

export interface RegistryFixture {
  /** The broker process (read it inside tests: the `before` hook starts it). */
  readonly running: RegistryBroker;
  /** @kafkajs/confluent-schema-registry pointed at the broker's registry. */
  readonly confluent: ConfluentClient;
  /** kafkajs pointed at the broker. */
  readonly kafka: Kafka;
}

/**
 * Registers `before` and `after` hooks that start a registry broker with a Confluent client and
 * a kafkajs client on it, and stop it and remove its data. A file's own setup goes in `ready`.
 */
export function useRegistryBroker(
  kafkaConfig: Omit<KafkaConfig, 'brokers'>,
  ready?: (fixture: RegistryFixture) => Promise<void>,
): RegistryFixture {
  return hookedFixture({
    async start() {
      const running = await startRegistryBroker();
      const confluent = new ConfluentClient({ host: running.registryUrl });
      const brokers = [running.broker.bootstrap];
      const kafka = new Kafka({ logLevel: logLevel.NOTHING, ...kafkaConfig, brokers });
      return { running, confluent, kafka };
    },
    ...(ready === undefined ? {} : { ready }),
    async stop({ running }) {
      await running.stop();
      await running.dataDir.remove();
    },
  });
}

/** Creates a one-partition topic with the given topic configs. */
export async function createTopic(
  kafka: Kafka,
  topic: string,
  configs: Readonly<Record<string, string>> = {},
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 1,
          configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
}

/** Reads `count` non-null values from the start of `topic` in a new consumer group. */
export async function consumeValues(
  kafka: Kafka,
  options: { topic: string; groupId: string; count: number },
): Promise<Buffer[]> {
  const consumer = kafka.consumer({ groupId: options.groupId });
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  const received: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          if (message.value !== null) received.push(message.value);
          if (received.length === options.count) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return received;
}
