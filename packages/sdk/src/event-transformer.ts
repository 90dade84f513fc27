/**
 * Exactly-once consume-transform-produce where both ends are topics: a handler turns an event
 * into zero or more events, and the SDK writes them together with the consumed record's offset
 * in one Kafka transaction (`transactional.id`), so downstream consumers reading committed data
 * (the SDK's consumers do) see each input's outputs exactly once, whatever crashes: an aborted
 * or interrupted transaction leaves neither outputs nor offset, and the input is handled again.
 * A handler that throws has its record dead-lettered (`<topic>.dlq`, same headers as
 * EventConsumer's) in the same transaction; there are no retry tiers here.
 *
 * One transaction at a time per transformer (a transactional producer runs one), so partitions
 * are handled concurrently only up to the transaction; records of a partition stay in order.
 * Each instance needs its own `transactionalId` (stable across its restarts, so a new instance
 * fences a zombie).
 */
import type { CloudEvent, KafkaRecord } from './cloud-event.ts';
import { ConsumerLoop, type ConsumedRecord, type RecordSource } from './consumer-loop.ts';
import { EventCodec } from './event-codec.ts';
import type { EventContract } from './event-contract.ts';
import {
  deadLetterHeaders,
  deadLetterTopic,
  errorMessage,
  stackDigest,
  withHeaders,
} from './failure-headers.ts';
import {
  createProducer,
  ensureTopics,
  toMessage,
  type KafkaConnection,
  type SdkProducer,
} from './kafka-connection.ts';
import { PartitionQueues } from './partition-queues.ts';
import { compatibilityPartitioner } from '@platformatic/kafka';
import { contextFromTraceHeaders, ensureContextManager, inSpan } from './trace-context.ts';

export interface TransformContext {
  /** Adds an output event (validated now); written only if the transaction commits. */
  emit<T>(contract: EventContract<T>, value: T): Promise<void>;
}

export type TransformHandler<T> = (
  event: CloudEvent<T>,
  context: TransformContext,
) => Promise<void>;

export interface EventTransformerOptions extends KafkaConnection {
  readonly groupId: string;
  /** Unique per instance, stable across its restarts. */
  readonly transactionalId: string;
  /** The CloudEvents source of the events it emits. */
  readonly source: string;
  readonly schemaRegistryUrl?: string;
  readonly onError?: (error: unknown) => void;
}

interface Registration {
  readonly contract: EventContract<unknown>;
  readonly handler: TransformHandler<unknown>;
}

export class EventTransformer {
  readonly #options: EventTransformerOptions;
  readonly #handlers = new Map<string, Registration>();
  readonly #codec: EventCodec;
  readonly #transactions = new PartitionQueues();
  #producer: SdkProducer | undefined;
  #loop: ConsumerLoop | undefined;
  #closed = false;

  constructor(options: EventTransformerOptions) {
    ensureContextManager();
    this.#options = options;
    this.#codec = new EventCodec({ schemaRegistryUrl: options.schemaRegistryUrl });
  }

  on<T>(contract: EventContract<T>, handler: TransformHandler<T>): this {
    if (this.#loop !== undefined) throw new Error('register handlers before start()');
    this.#handlers.set(contract.type, {
      contract: contract as EventContract<unknown>,
      handler: handler as TransformHandler<unknown>,
    });
    return this;
  }

  async start(): Promise<void> {
    const topics = [...new Set([...this.#handlers.values()].map((entry) => entry.contract.topic))];
    await ensureTopics(this.#options, topics.map(deadLetterTopic));
    this.#producer = this.#newProducer();
    this.#loop = new ConsumerLoop({
      connection: this.#options,
      groupId: this.#options.groupId,
      topics,
      startFrom: 'earliest',
      maxQueuedPerPartition: 64,
      commit: 'transaction',
      handle: (record, source) => this.#inTransaction(record, source),
      onError: this.#options.onError ?? ((error) => console.error('tributary-sdk:', error)),
    });
    await this.#loop.start();
  }

  #newProducer(): SdkProducer {
    return createProducer(this.#options, { transactionalId: this.#options.transactionalId });
  }

  /** One transaction at a time: queued on a single lane. */
  #inTransaction(record: ConsumedRecord, source: RecordSource): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#transactions.push('transactions', () =>
      this.#transform(record, source).then(resolve, reject),
    );
    return promise;
  }

  async #transform(record: ConsumedRecord, source: RecordSource): Promise<void> {
    const producer = this.#producer;
    if (producer === undefined) throw new Error('transformer not started');
    const outputs = await this.#outputs(record);
    let transaction: Awaited<ReturnType<SdkProducer['beginTransaction']>>;
    try {
      transaction = await producer.beginTransaction();
    } catch (error: unknown) {
      // The client keeps a transaction that failed to begin as active: start over with a new
      // producer (same transactional id), the way Kafka's clients recover from a fatal error.
      this.#producer = this.#newProducer();
      await producer.close().catch(() => undefined);
      throw error;
    }
    try {
      if (outputs.length > 0) {
        const metadata = await producer.metadata({ topics: outputs.map((entry) => entry.topic) });
        const messages = outputs.map((entry) => {
          const message = toMessage(entry.topic, entry);
          const count = metadata.topics.get(entry.topic)?.partitionsCount ?? 1;
          const hash = entry.key === undefined ? 0 : compatibilityPartitioner(message, entry.key);
          return { ...message, partition: hash % count };
        });
        await transaction.send({ messages });
      }
      await transaction.addConsumer(source.consumer);
      await transaction.addOffset(source.message);
      await transaction.commit();
    } catch (error: unknown) {
      await transaction.abort().catch(() => undefined);
      throw error;
    }
  }

  /** The records one input becomes: its handler's outputs, or its dead letter. */
  async #outputs(record: ConsumedRecord): Promise<(KafkaRecord & { topic: string })[]> {
    const type = this.#codec.typeOf(record);
    const registration = type === undefined ? undefined : this.#handlers.get(type);
    if (type !== undefined && registration === undefined) return [];
    const outputs: (KafkaRecord & { topic: string })[] = [];
    try {
      if (registration === undefined) throw new Error('not a CloudEvent');
      const event = await this.#codec.decode(registration.contract, record);
      const emit = async <T>(contract: EventContract<T>, value: T): Promise<void> => {
        const encoded = await this.#codec.encode(contract, value, { source: this.#options.source });
        outputs.push({ topic: contract.topic, ...encoded.record });
      };
      await inSpan(
        `process ${event.type}`,
        { kind: 'consumer', parent: contextFromTraceHeaders(event), attributes: {} },
        () => registration.handler(event, { emit }),
      );
      return outputs;
    } catch (error: unknown) {
      const headers = withHeaders(record, {
        [deadLetterHeaders.reason]: errorMessage(error).slice(0, 1_000),
        [deadLetterHeaders.errorName]: error instanceof Error ? error.name : typeof error,
        [deadLetterHeaders.stackDigest]: stackDigest(error),
        [deadLetterHeaders.attempts]: '1',
        [deadLetterHeaders.group]: this.#options.groupId,
        [deadLetterHeaders.topic]: record.topic,
        [deadLetterHeaders.partition]: String(record.partition),
        [deadLetterHeaders.offset]: String(record.offset),
        [deadLetterHeaders.time]: new Date().toISOString(),
      });
      return [
        { topic: deadLetterTopic(record.topic), key: record.key, value: record.value, headers },
      ];
    }
  }

  /** Finishes the transaction in flight, leaves the group, closes the producer. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#loop?.close();
    await this.#transactions.drained();
    await this.#producer?.close();
  }
}
