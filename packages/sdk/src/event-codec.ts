/**
 * Turns a contract and a value into a CloudEvent record and back. Encoding validates first (a
 * bad value throws `EventValidationError` before any schema is registered or byte is sent),
 * then, with a schema registry, registers the contract's schema under `<topic>-<type>`
 * (TopicRecordNameStrategy: one topic carries an aggregate's several event types) and frames
 * the payload in the registry's wire format; `dataschema` names the registered schema. Without
 * a registry the payload is plain JSON or Avro and `dataschema` is `urn:tributary:<type>:v<n>`.
 */
import { randomUUID } from 'node:crypto';
import {
  toKafkaRecord,
  CloudEventFormatError,
  fromKafkaRecord,
  type CloudEvent,
  type CloudEventAttributes,
  type CloudEventsMode,
  type KafkaRecord,
} from './cloud-event.ts';
import type { EventContract } from './event-contract.ts';
import {
  frameWireFormat,
  SchemaRegistryClient,
  unframeWireFormat,
} from './schema-registry-client.ts';
import { activeTraceHeaders } from './trace-context.ts';

export interface EncodeOptions {
  /** The CloudEvents `source` of this service (`urn:shop:cart`, `/cart`). */
  readonly source: string;
  readonly mode?: CloudEventsMode;
  /** Default a random UUID; pass one to make a retried publish the same event. */
  readonly id?: string;
  /** Default the contract's aggregate id. */
  readonly subject?: string;
  /** Default now. */
  readonly time?: Date;
}

const plainSchemaPrefix = 'urn:tributary:';
const contentTypes = { JSON: 'application/json', AVRO: 'application/avro' } as const;

export class EventCodec {
  readonly registry: SchemaRegistryClient | undefined;

  constructor(options: { schemaRegistryUrl?: string | undefined } = {}) {
    this.registry =
      options.schemaRegistryUrl === undefined
        ? undefined
        : new SchemaRegistryClient(options.schemaRegistryUrl);
  }

  /** The record to publish `value` as (validated, registered, framed) and its attributes. */
  async encode<T>(
    contract: EventContract<T>,
    value: T,
    options: EncodeOptions,
  ): Promise<{ record: KafkaRecord; attributes: CloudEventAttributes }> {
    contract.validate(value);
    let payload = contract.serialize(value);
    let dataschema = `${plainSchemaPrefix}${contract.type}:v${contract.version}`;
    if (this.registry !== undefined) {
      const subject = `${contract.topic}-${contract.type}`;
      const id = await this.registry.register(subject, contract.format, contract.schemaText);
      payload = frameWireFormat(id, payload);
      dataschema = `${this.registry.url}/schemas/ids/${id}`;
    }
    const attributes: CloudEventAttributes = {
      specversion: '1.0',
      id: options.id ?? randomUUID(),
      source: options.source,
      type: contract.type,
      subject: options.subject ?? contract.aggregateId(value),
      time: (options.time ?? new Date()).toISOString(),
      datacontenttype: contentTypes[contract.format],
      dataschema,
      ...activeTraceHeaders(),
    };
    return { record: toKafkaRecord(attributes, payload, options.mode ?? 'binary'), attributes };
  }

  /** The event type of a record, without decoding its data (undefined: not a CloudEvent). */
  typeOf(record: KafkaRecord): string | undefined {
    try {
      return fromKafkaRecord(record).attributes.type;
    } catch {
      return undefined;
    }
  }

  /** The event, its data decoded and validated against `contract`. */
  async decode<T>(contract: EventContract<T>, record: KafkaRecord): Promise<CloudEvent<T>> {
    const { attributes, payload } = fromKafkaRecord(record);
    // Plain data says so in its dataschema; anything else in the wire format is framed.
    const plain = attributes.dataschema?.startsWith(plainSchemaPrefix) === true;
    const framed = plain ? undefined : unframeWireFormat(payload);
    const data =
      framed === undefined
        ? contract.deserialize(payload)
        : await this.#decodeFramed(contract, framed);
    return { ...attributes, data };
  }

  async #decodeFramed<T>(
    contract: EventContract<T>,
    framed: { id: number; payload: Buffer },
  ): Promise<T> {
    if (this.registry === undefined) {
      throw new CloudEventFormatError(
        `data framed with schema id ${framed.id} but no schema registry is configured`,
      );
    }
    const writer = await this.registry.schemaById(framed.id);
    if (writer.schemaType !== contract.format) {
      throw new CloudEventFormatError(
        `schema id ${framed.id} is ${writer.schemaType}, the contract ${contract.format}`,
      );
    }
    return contract.deserialize(
      framed.payload,
      contract.format === 'AVRO' ? writer.schema : undefined,
    );
  }
}
