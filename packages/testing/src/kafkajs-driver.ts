/**
 * kafkajs 2.2.4 driver, in process. kafkajs's own protocol code does every step:
 * - produce: its Producer (acks=all), with snappy/lz4/zstd codecs registered from
 *   @tributary/protocol, since kafkajs ships only gzip;
 * - consume: kafkajs has no assign mode (its Consumer always joins a group), so records are
 *   read with its Cluster/Broker fetch (Fetch v11 and its RecordBatch decoder), reached
 *   through the Kafka object's private cluster factory;
 * - ListOffsets by timestamp: the same Cluster's fetchTopicsOffset, because the public
 *   admin.fetchTopicOffsetsByTimestamp replaces "no such offset" (-1) by the high watermark;
 * - admin: its Admin client.
 * kafkajs returns headers as an object keyed by header name, so the order between different
 * keys survives only for non-numeric keys (object key order), and repeated keys are grouped.
 *
 * Every process that uses kafkajs on Node 24 prints `TimeoutNegativeWarning: -17... is a negative
 * number` once: kafkajs's RequestQueue.scheduleCheckPendingRequests sets a timer to
 * `throttledUntil - Date.now()` with throttledUntil starting at -1 when nothing is throttled
 * (tulios/kafkajs#1751, fixes unmerged). The broker answers throttle_time_ms 0; Node clamps the
 * delay to 1 ms. It is the client's, left visible: no test filters warnings.
 */
import kafkajs, {
  type Admin,
  type IHeaders,
  type Kafka,
  type Message,
  type Producer,
} from 'kafkajs';
import { compress, decompress, type CompressionType } from '@tributary/protocol';
import {
  allCompressions,
  defaultOperationTimeoutMs,
  fullCapabilities,
  type ClientDriver,
  type ClientDriverOptions,
  type ClientHeader,
  type ConsumedRecord,
  type DriverOperation,
  type ProduceRecord,
} from './client-driver.ts';
import { readPartitions, type FetchedPartition } from './read-partitions.ts';

// kafkajs is CommonJS and its export list is not statically detectable (it spreads its errors
// into module.exports), so Node's ESM loader only offers the default export.
const { CompressionCodecs, CompressionTypes, ConfigResourceTypes, logLevel } = kafkajs;

const decompressMaxBytes = 256 * 1024 * 1024;
const fetchMaxBytes = 16 * 1024 * 1024;

const codecNumbers: Readonly<Record<CompressionType, number>> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

interface KafkajsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** Registers the project's codecs with kafkajs (global to the kafkajs module; idempotent). */
export function registerKafkajsCodecs(): void {
  const codecs = CompressionCodecs as unknown as Record<number, () => KafkajsCodec>;
  for (const type of ['snappy', 'lz4', 'zstd'] as const) {
    const codec: KafkajsCodec = {
      compress: async (encoder) => compress(type, encoder.buffer),
      decompress: async (buffer) => decompress(type, buffer, decompressMaxBytes),
    };
    codecs[codecNumbers[type]] = () => codec;
  }
}

/** The slice of kafkajs's internal Cluster and Broker that the driver uses. */
interface KafkajsFetchedMessage {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null | (Buffer | null)[]>;
  isControlRecord: boolean;
}
interface KafkajsFetchedPartition {
  partition: number;
  errorCode: number;
  highWatermark: string;
  messages: KafkajsFetchedMessage[];
}
interface KafkajsFetchResponse {
  responses: { topicName: string; partitions: KafkajsFetchedPartition[] }[];
}
interface KafkajsBroker {
  fetch(request: {
    replicaId: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: {
      topic: string;
      partitions: { partition: number; fetchOffset: string; maxBytes: number }[];
    }[];
  }): Promise<KafkajsFetchResponse>;
}
interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(query: { nodeId: string }): Promise<KafkajsBroker>;
  fetchTopicsOffset(
    topics: { topic: string; fromTimestamp: number; partitions: { partition: number }[] }[],
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

function createCluster(kafka: Kafka): KafkajsCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find(
    (candidate) => candidate.description === 'private:Kafka:createCluster',
  );
  const factory: unknown = symbol === undefined ? undefined : Reflect.get(kafka, symbol);
  if (typeof factory !== 'function') throw new Error('kafkajs internals changed: no createCluster');
  return factory.call(kafka, { allowAutoTopicCreation: false }) as KafkajsCluster;
}

function toMessage(record: ProduceRecord): Message {
  const headers: IHeaders = {};
  for (const header of record.headers) {
    if (header.value === null) throw new Error('kafkajs cannot send null header values');
    const existing = headers[header.key];
    headers[header.key] =
      existing === undefined
        ? header.value
        : ([] as (string | Buffer)[]).concat(existing as Buffer | Buffer[], header.value);
  }
  return {
    partition: record.partition,
    key: record.key,
    value: record.value,
    headers,
    ...(record.timestamp === undefined ? {} : { timestamp: record.timestamp.toString() }),
  };
}

function fromMessage(partition: number, message: KafkajsFetchedMessage): ConsumedRecord {
  const headers: ClientHeader[] = [];
  for (const [key, value] of Object.entries(message.headers)) {
    for (const one of Array.isArray(value) ? value : [value]) headers.push({ key, value: one });
  }
  return {
    partition,
    offset: BigInt(message.offset),
    key: message.key,
    value: message.value,
    headers,
    timestamp: BigInt(message.timestamp),
  };
}

class KafkajsDriver implements ClientDriver {
  readonly name = 'kafkajs 2.2.4';
  readonly compressions = allCompressions;
  readonly delegated = new Map<DriverOperation, string>();
  readonly capabilities = { ...fullCapabilities, nullHeaderValues: false };
  readonly #kafka: Kafka;
  readonly #timeoutMs: number;
  #producer: Producer | undefined;
  #admin: Admin | undefined;
  #cluster: KafkajsCluster | undefined;

  constructor(options: ClientDriverOptions) {
    registerKafkajsCodecs();
    this.#timeoutMs = options.operationTimeoutMs ?? defaultOperationTimeoutMs;
    this.#kafka = new kafkajs.Kafka({
      clientId: 'tributary-test-kafkajs',
      brokers: [options.bootstrap],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 5_000,
      requestTimeout: this.#timeoutMs,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
  }

  async #getAdmin(): Promise<Admin> {
    if (this.#admin === undefined) {
      this.#admin = this.#kafka.admin();
      await this.#admin.connect();
    }
    return this.#admin;
  }

  async #getCluster(): Promise<KafkajsCluster> {
    if (this.#cluster === undefined) {
      this.#cluster = createCluster(this.#kafka);
      await this.#cluster.connect();
    }
    return this.#cluster;
  }

  async createTopic(topic: string, numPartitions: number): Promise<void> {
    const admin = await this.#getAdmin();
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions, replicationFactor: 1 }],
      waitForLeaders: true,
      timeout: this.#timeoutMs,
    });
    if (!created) throw new Error(`kafkajs createTopics: topic ${topic} already existed`);
  }

  async produce(
    topic: string,
    records: readonly ProduceRecord[],
    options: { compression: CompressionType },
  ): Promise<void> {
    if (this.#producer === undefined) {
      this.#producer = this.#kafka.producer({ allowAutoTopicCreation: false });
      await this.#producer.connect();
    }
    const chunkRecords = 500;
    for (let start = 0; start < records.length; start += chunkRecords) {
      await this.#producer.send({
        topic,
        acks: -1,
        timeout: this.#timeoutMs,
        compression: codecNumbers[options.compression],
        messages: records.slice(start, start + chunkRecords).map(toMessage),
      });
    }
  }

  async consumeAll(topic: string, partitions: number, expected: number): Promise<ConsumedRecord[]> {
    const cluster = await this.#getCluster();
    await cluster.addTargetTopic(topic);
    await cluster.refreshMetadata();
    const all = Array.from({ length: partitions }, (_, index) => index);
    const fetchRound = async (next: readonly bigint[]): Promise<FetchedPartition[]> => {
      const fetched: FetchedPartition[] = [];
      const leaders = cluster.findLeaderForPartitions(topic, all);
      for (const [nodeId, led] of Object.entries(leaders)) {
        const broker = await cluster.findBroker({ nodeId });
        const response = await broker.fetch({
          replicaId: -1,
          isolationLevel: 1,
          maxWaitTime: 200,
          minBytes: 1,
          maxBytes: fetchMaxBytes,
          topics: [{ topic, partitions: led.map((partition) => fetchPartition(partition, next)) }],
        });
        for (const answer of response.responses.flatMap((entry) => entry.partitions)) {
          fetched.push(fetchedPartition(topic, answer));
        }
      }
      return fetched;
    };
    return readPartitions({ partitions, expected, timeoutMs: this.#timeoutMs, fetchRound });
  }

  async listOffsetsByTimestamp(
    topic: string,
    partition: number,
    timestamp: bigint,
  ): Promise<bigint | null> {
    const cluster = await this.#getCluster();
    await cluster.addTargetTopic(topic);
    const query = { topic, fromTimestamp: Number(timestamp), partitions: [{ partition }] };
    const [answer] = await cluster.fetchTopicsOffset([query]);
    const found = answer?.partitions.find((entry) => entry.partition === partition);
    if (found === undefined) throw new Error(`kafkajs ListOffsets: no answer for ${partition}`);
    const offset = BigInt(found.offset);
    return offset < 0n ? null : offset;
  }

  async describeConfigs(topic: string): Promise<Map<string, string | null>> {
    const admin = await this.#getAdmin();
    const response = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
    });
    const resource = response.resources[0];
    if (resource === undefined) throw new Error('kafkajs describeConfigs: empty answer');
    if (resource.errorCode !== 0) {
      throw new Error(`kafkajs describeConfigs: ${resource.errorCode} ${resource.errorMessage}`);
    }
    const entries = resource.configEntries.map((entry) => [entry.configName, entry.configValue]);
    return new Map(entries as [string, string | null][]);
  }

  async alterConfigs(topic: string, configs: ReadonlyMap<string, string>): Promise<void> {
    // kafkajs only has the non-incremental AlterConfigs: it replaces the whole set.
    const admin = await this.#getAdmin();
    const configEntries = [...configs].map(([name, value]) => ({ name, value }));
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries }],
    });
  }

  async deleteTopic(topic: string): Promise<void> {
    const admin = await this.#getAdmin();
    await admin.deleteTopics({ topics: [topic], timeout: this.#timeoutMs });
  }

  async listTopics(): Promise<string[]> {
    const admin = await this.#getAdmin();
    return (await admin.listTopics()).toSorted();
  }

  async close(): Promise<void> {
    const closing = [this.#producer?.disconnect(), this.#admin?.disconnect()];
    closing.push(this.#cluster?.disconnect());
    await Promise.allSettled(closing);
  }
}

function fetchPartition(
  partition: number,
  next: readonly bigint[],
): { partition: number; fetchOffset: string; maxBytes: number } {
  const fetchOffset = (next[partition] ?? 0n).toString();
  return { partition, fetchOffset, maxBytes: fetchMaxBytes };
}

function fetchedPartition(topic: string, answer: KafkajsFetchedPartition): FetchedPartition {
  if (answer.errorCode !== 0) {
    throw new Error(`kafkajs fetch ${topic}/${answer.partition}: error ${answer.errorCode}`);
  }
  const records = answer.messages
    .filter((message) => !message.isControlRecord)
    .map((message) => fromMessage(answer.partition, message));
  return { partition: answer.partition, highWatermark: BigInt(answer.highWatermark), records };
}

export function createKafkajsDriver(options: ClientDriverOptions): ClientDriver {
  return new KafkajsDriver(options);
}
