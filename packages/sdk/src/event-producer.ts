/**
 * Publishes typed events as CloudEvents. Idempotent by default (a producer id and per-partition
 * sequences, acks=all): the client's own retries never duplicate or reorder a partition's
 * records. Each event is keyed by its contract's aggregate id, so one aggregate's events land on
 * one partition in publish order. `publish` resolves once the event is acknowledged (written
 * and fsynced by every in-sync replica); it rejects with `EventValidationError` before anything
 * is sent when the value does not match its contract.
 */
import { context } from '@opentelemetry/api';
import { compatibilityPartitioner } from '@platformatic/kafka';
import type { CloudEventAttributes, CloudEventsMode, KafkaRecord } from './cloud-event.ts';
import { EventCodec, type EncodeOptions } from './event-codec.ts';
import type { EventContract } from './event-contract.ts';
import {
  createProducer,
  toMessage,
  type KafkaConnection,
  type SdkProducer,
} from './kafka-connection.ts';
import { inSpan } from './trace-context.ts';
import { ensureContextManager } from './trace-context.ts';

export interface EventProducerOptions extends KafkaConnection {
  /** The CloudEvents `source` of every event this producer publishes (`urn:shop:cart`). */
  readonly source: string;
  /** Registers schemas and frames values in the registry's wire format when set. */
  readonly schemaRegistryUrl?: string;
  /** Default `binary`. */
  readonly mode?: CloudEventsMode;
  /** Default true. */
  readonly idempotent?: boolean;
}

export interface PublishOptions extends Partial<Omit<EncodeOptions, 'source'>> {}

/** Where an event went. */
export interface PublishedEvent extends CloudEventAttributes {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

/** A record ready to send: used by the outbox relay, which stores encoded records. */
export interface TopicRecord extends KafkaRecord {
  readonly topic: string;
}

export class EventProducer {
  readonly codec: EventCodec;
  readonly #options: EventProducerOptions;
  readonly #producer: SdkProducer;
  #roundRobin = 0;

  constructor(options: EventProducerOptions) {
    ensureContextManager();
    this.#options = options;
    this.codec = new EventCodec({ schemaRegistryUrl: options.schemaRegistryUrl });
    this.#producer = createProducer(
      options,
      options.idempotent === undefined ? {} : { idempotent: options.idempotent },
    );
  }

  /** Validates, encodes and sends `value`; resolves when it is acknowledged. */
  async publish<T>(
    contract: EventContract<T>,
    value: T,
    options: PublishOptions = {},
  ): Promise<PublishedEvent> {
    return inSpan(
      `publish ${contract.type}`,
      {
        kind: 'producer',
        parent: context.active(),
        attributes: { 'messaging.destination.name': contract.topic },
      },
      async () => {
        const { record, attributes } = await this.encode(contract, value, options);
        const [sent] = await this.send([{ topic: contract.topic, ...record }]);
        if (sent === undefined) throw new Error('the producer answered no offset');
        return { ...attributes, ...sent };
      },
    );
  }

  /** The record `publish` would send, for the outbox (validated, schema registered). */
  encode<T>(contract: EventContract<T>, value: T, options: PublishOptions = {}) {
    return this.codec.encode(contract, value, {
      source: this.#options.source,
      ...(this.#options.mode === undefined ? {} : { mode: this.#options.mode }),
      ...options,
    });
  }

  /**
   * Sends encoded records in one request per partition leader, in the given order; resolves with
   * each record's partition and offset (in the same order) once all are acknowledged.
   */
  async send(
    records: readonly TopicRecord[],
  ): Promise<{ topic: string; partition: number; offset: bigint }[]> {
    const topics = [...new Set(records.map((record) => record.topic))];
    const metadata = await this.#producer.metadata({ topics });
    const messages = records.map((record) => {
      const count = metadata.topics.get(record.topic)?.partitionsCount;
      if (count === undefined) throw new Error(`topic ${record.topic} does not exist`);
      const message = toMessage(record.topic, record);
      // Java's partitioner (murmur2 of the key), so services in any language agree on where an
      // aggregate's events go; keyless records go round-robin.
      const hash =
        record.key === undefined
          ? this.#roundRobin++
          : compatibilityPartitioner(message, record.key);
      return { ...message, partition: hash % count };
    });
    const result = await this.#producer.send({ messages });
    const next = new Map<string, bigint>();
    // The answer is each partition's base offset; a partition's records follow it in order.
    for (const entry of result.offsets ?? []) {
      next.set(`${entry.topic}/${entry.partition}`, entry.offset);
    }
    return messages.map(({ topic, partition }) => {
      const key = `${topic}/${partition}`;
      const offset = next.get(key) ?? -1n;
      if (offset >= 0n) next.set(key, offset + 1n);
      return { topic, partition, offset };
    });
  }

  async close(): Promise<void> {
    await this.#producer.close();
  }
}
