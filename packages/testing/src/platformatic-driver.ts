/**
 * @platformatic/kafka 2.12 driver, in process. Its own protocol code does every step, mostly
 * on flexible (KIP-482) versions: Producer (acks=all, its own codecs), Admin for topics, configs
 * and ListOffsets, and Consumer.fetch for reading. Consumer.fetch is a single Fetch request to a
 * chosen node without joining a group: the assign-mode read the scenario needs (the group
 * consume() path needs a group coordinator, a later issue). The consumer's groupId is required
 * by the constructor but unused.
 */
import {
  Admin,
  ConfigResourceTypes,
  Consumer,
  Producer,
  type MessageToProduce,
} from '@platformatic/kafka';
import type { CompressionType } from '@tributary/protocol';
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

const fetchMaxBytes = 16 * 1024 * 1024;
const produceChunkRecords = 500;
/** RecordBatch attributes bit 5: a transaction marker, not user data. */
const controlBatchFlag = 0x20;

function baseOptions(bootstrap: string, timeoutMs: number) {
  return {
    clientId: 'tributary-test-platformatic',
    bootstrapBrokers: [bootstrap],
    connectTimeout: 5_000,
    timeout: timeoutMs,
    retries: 3,
    retryDelay: 100,
  };
}

function toMessage(topic: string, record: ProduceRecord): MessageToProduce {
  const headers = new Map<Buffer, Buffer>();
  for (const header of record.headers) {
    if (header.value === null)
      throw new Error('platformatic driver: null header values unsupported');
    // Distinct Buffer objects are distinct Map keys, so repeated header names survive.
    headers.set(Buffer.from(header.key), header.value);
  }
  return {
    topic,
    partition: record.partition,
    headers,
    ...(record.key === null ? {} : { key: record.key }),
    ...(record.value === null ? {} : { value: record.value }),
    ...(record.timestamp === undefined ? {} : { timestamp: record.timestamp }),
  };
}

class PlatformaticDriver implements ClientDriver {
  readonly name = '@platformatic/kafka 2.12';
  readonly compressions = allCompressions;
  readonly delegated = new Map<DriverOperation, string>();
  readonly capabilities = { ...fullCapabilities, nullHeaderValues: false };
  readonly #bootstrap: string;
  readonly #timeoutMs: number;
  #producer: Producer | undefined;
  #admin: Admin | undefined;
  #consumer: Consumer | undefined;

  constructor(options: ClientDriverOptions) {
    this.#bootstrap = options.bootstrap;
    this.#timeoutMs = options.operationTimeoutMs ?? defaultOperationTimeoutMs;
  }

  get #adminClient(): Admin {
    this.#admin ??= new Admin(baseOptions(this.#bootstrap, this.#timeoutMs));
    return this.#admin;
  }

  async createTopic(topic: string, partitions: number): Promise<void> {
    await this.#adminClient.createTopics({ topics: [topic], partitions, replicas: 1 });
  }

  async produce(
    topic: string,
    records: readonly ProduceRecord[],
    options: { compression: CompressionType },
  ): Promise<void> {
    this.#producer ??= new Producer({
      ...baseOptions(this.#bootstrap, this.#timeoutMs),
      idempotent: false,
      autocreateTopics: false,
    });
    for (let start = 0; start < records.length; start += produceChunkRecords) {
      const chunk = records.slice(start, start + produceChunkRecords);
      await this.#producer.send({
        messages: chunk.map((record) => toMessage(topic, record)),
        acks: -1,
        compression: options.compression,
      });
    }
  }

  async consumeAll(topic: string, partitions: number, expected: number): Promise<ConsumedRecord[]> {
    this.#consumer ??= new Consumer({
      ...baseOptions(this.#bootstrap, this.#timeoutMs),
      groupId: 'tributary-test-unused',
    });
    const consumer = this.#consumer;
    const metadata = await consumer.metadata({ topics: [topic], forceUpdate: true });
    const described = metadata.topics.get(topic);
    if (described === undefined) throw new Error(`platformatic metadata: no topic ${topic}`);
    const fetchRound = async (next: readonly bigint[]): Promise<FetchedPartition[]> => {
      const fetched: FetchedPartition[] = [];
      for (let partition = 0; partition < partitions; partition++) {
        const node = described.partitions[partition]?.leader ?? 0;
        const response = await consumer.fetch({
          node,
          maxWaitTime: 100,
          minBytes: 1,
          maxBytes: fetchMaxBytes,
          isolationLevel: 1,
          topics: [
            {
              topicId: described.id,
              partitions: [
                {
                  partition,
                  fetchOffset: next[partition] ?? 0n,
                  partitionMaxBytes: fetchMaxBytes,
                  currentLeaderEpoch: -1,
                  lastFetchedEpoch: -1,
                },
              ],
            },
          ],
        });
        for (const answer of response.responses.flatMap((entry) => entry.partitions)) {
          if (answer.errorCode !== 0) {
            throw new Error(`platformatic fetch ${topic}/${partition}: error ${answer.errorCode}`);
          }
          const records = (answer.records ?? [])
            .filter((batch) => (batch.attributes & controlBatchFlag) === 0)
            .flatMap((batch) => batch.records.map((record) => consumed(partition, batch, record)));
          fetched.push({ partition, highWatermark: answer.highWatermark, records });
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
    const answer = await this.#adminClient.listOffsets({
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp }] }],
    });
    const found = answer
      .flatMap((entry) => entry.partitions)
      .find((entry) => entry.partitionIndex === partition);
    if (found === undefined)
      throw new Error(`platformatic listOffsets: no answer for ${partition}`);
    return found.offset < 0n ? null : found.offset;
  }

  async describeConfigs(topic: string): Promise<Map<string, string | null>> {
    const [description] = await this.#adminClient.describeConfigs({
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }],
    });
    if (description === undefined) throw new Error('platformatic describeConfigs: empty answer');
    return new Map(description.configs.map((entry) => [entry.name, entry.value ?? null]));
  }

  async alterConfigs(topic: string, configs: ReadonlyMap<string, string>): Promise<void> {
    // The non-incremental AlterConfigs, as the other clients use: it replaces the whole set.
    const entries = [...configs].map(([name, value]) => ({ name, value }));
    await this.#adminClient.alterConfigs({
      resources: [
        { resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configs: entries },
      ],
    });
  }

  async deleteTopic(topic: string): Promise<void> {
    await this.#adminClient.deleteTopics({ topics: [topic] });
  }

  async listTopics(): Promise<string[]> {
    return (await this.#adminClient.listTopics()).toSorted();
  }

  async close(): Promise<void> {
    const clients = [this.#producer, this.#admin, this.#consumer];
    await Promise.allSettled(clients.map((client) => client?.close()));
  }
}

function consumed(
  partition: number,
  batch: { firstOffset: bigint; firstTimestamp: bigint },
  record: {
    offsetDelta: number;
    timestampDelta: bigint;
    key: Buffer | null;
    value: Buffer | null;
    headers: [Buffer | null, Buffer | null][];
  },
): ConsumedRecord {
  const headers: ClientHeader[] = record.headers.map(([key, value]) => ({
    key: key === null ? '' : key.toString('utf8'),
    value,
  }));
  return {
    partition,
    offset: batch.firstOffset + BigInt(record.offsetDelta),
    key: record.key,
    value: record.value,
    headers,
    timestamp: batch.firstTimestamp + record.timestampDelta,
  };
}

export function createPlatformaticDriver(options: ClientDriverOptions): ClientDriver {
  return new PlatformaticDriver(options);
}
