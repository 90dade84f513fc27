/**
 * How the SDK reaches a cluster, and the one place it builds clients of the Kafka library
 * (`@platformatic/kafka`, docs/adr/0024-service-sdk.md), so the library stays swappable and no
 * type of it appears in the SDK's public API. Records are `KafkaRecord`s (Buffers, header names
 * as strings).
 */
import {
  Admin,
  Consumer,
  Producer,
  stringDeserializer,
  stringSerializer,
  type Message,
  type MessageToProduce,
} from '@platformatic/kafka';
import type { KafkaRecord } from './cloud-event.ts';

export interface KafkaConnection {
  /** `host:port` or several; any Kafka-compatible cluster. */
  readonly bootstrap: string | readonly string[];
  /** Default `tributary-sdk`. */
  readonly clientId?: string;
  /** Bound on one request to a broker. Default 30,000. */
  readonly requestTimeoutMs?: number;
}

export type SdkProducer = Producer<Buffer, Buffer, string, Buffer>;
export type SdkConsumer = Consumer<Buffer, Buffer, string, Buffer>;
export type SdkMessage = Message<Buffer, Buffer, string, Buffer>;

const defaultRequestTimeoutMs = 30_000;
const connectTimeoutMs = 10_000;
const clientRetries = 5;
const clientRetryDelayMs = 250;

export function baseOptions(connection: KafkaConnection, suffix: string) {
  const bootstrap =
    typeof connection.bootstrap === 'string' ? [connection.bootstrap] : [...connection.bootstrap];
  return {
    clientId: `${connection.clientId ?? 'tributary-sdk'}-${suffix}`,
    bootstrapBrokers: bootstrap,
    timeout: connection.requestTimeoutMs ?? defaultRequestTimeoutMs,
    connectTimeout: connectTimeoutMs,
    retries: clientRetries,
    retryDelay: clientRetryDelayMs,
  };
}

/** An idempotent (acks=all) producer unless `idempotent: false`; transactional with an id. */
export function createProducer(
  connection: KafkaConnection,
  options: { idempotent?: boolean; transactionalId?: string } = {},
): SdkProducer {
  return new Producer({
    ...baseOptions(connection, 'producer'),
    idempotent: options.idempotent ?? true,
    acks: -1,
    autocreateTopics: false,
    serializers: { headerKey: stringSerializer },
    ...(options.transactionalId === undefined
      ? {}
      : {
          transactionalId: options.transactionalId,
          // InitProducerId with -1/-1 starts a new session for the id (and fences an older
          // instance); the client's default 0/0 is refused PRODUCER_FENCED by a broker that has
          // seen the id before, as Kafka refuses it.
          producerId: -1n,
          producerEpoch: -1,
        }),
  });
}

export function createConsumer(connection: KafkaConnection, groupId: string): SdkConsumer {
  return new Consumer({
    ...baseOptions(connection, 'consumer'),
    groupId,
    deserializers: { headerKey: (data?: string | Buffer) => stringDeserializer(data) ?? '' },
    autocommit: false,
  });
}

export function createAdmin(connection: KafkaConnection): Admin {
  return new Admin(baseOptions(connection, 'admin'));
}

export function toMessage(
  topic: string,
  record: KafkaRecord,
): MessageToProduce<Buffer, Buffer, string, Buffer> {
  return {
    topic,
    ...(record.key === undefined ? {} : { key: record.key }),
    ...(record.value === undefined ? {} : { value: record.value }),
    headers: new Map(record.headers),
  };
}

export function fromMessage(message: SdkMessage): KafkaRecord {
  const headers = new Map<string, Buffer>();
  for (const [name, value] of message.headers) {
    if (value !== undefined && value !== null) headers.set(name, value);
  }
  return {
    key: message.key ?? undefined,
    value: message.value ?? undefined,
    headers,
  };
}

/**
 * Creates the topics that do not exist yet (`partitions` each); existing ones are left as they
 * are. Services call it at start for the topics they publish to and consume.
 */
export async function ensureTopics(
  connection: KafkaConnection,
  topics: readonly string[],
  options: { partitions?: number } = {},
): Promise<void> {
  const admin = createAdmin(connection);
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...new Set(topics)].filter((topic) => !existing.has(topic));
    if (missing.length === 0) return;
    try {
      await admin.createTopics({
        topics: missing,
        partitions: options.partitions ?? 1,
        replicas: -1,
      });
    } catch (error: unknown) {
      // Another service may have created some in between: fine when all exist now.
      const now = new Set(await admin.listTopics());
      if (!missing.every((topic) => now.has(topic))) throw error;
    }
  } finally {
    await admin.close();
  }
}
