/**
 * CloudEvents 1.0 and its Kafka protocol binding. Binary mode (the default) puts the attributes
 * in `ce_<name>` headers, `datacontenttype` in `content-type`, and the data alone in the value.
 * Structured mode puts the whole event in the value as `application/cloudevents+json` (JSON
 * data as `data`, other data as `data_base64`). The Kafka key is the event's subject (the
 * aggregate id), as the binding's partitioning extension suggests. W3C `traceparent` and
 * `tracestate` travel as headers in both modes.
 */
import type { TraceHeaders } from './trace-context.ts';

export type CloudEventsMode = 'binary' | 'structured';

/** A CloudEvent's context attributes. `data` is kept apart: bytes on the wire, typed in use. */
export interface CloudEventAttributes extends TraceHeaders {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject?: string;
  /** RFC 3339. */
  readonly time?: string;
  readonly datacontenttype?: string;
  readonly dataschema?: string;
}

/** A CloudEvent with its data decoded against its contract. */
export interface CloudEvent<T> extends CloudEventAttributes {
  readonly data: T;
}

/** A Kafka record as the SDK sees it, independent of the client library. */
export interface KafkaRecord {
  readonly key: Buffer | undefined;
  readonly value: Buffer | undefined;
  readonly headers: ReadonlyMap<string, Buffer>;
}

export const structuredContentType = 'application/cloudevents+json';
const optionalAttributes = ['subject', 'time', 'datacontenttype', 'dataschema'] as const;
const requiredAttributes = ['id', 'source', 'type'] as const;

/** Thrown for a record that is not a CloudEvent this SDK can read: it is never retried. */
export class CloudEventFormatError extends Error {
  readonly code = 'CLOUDEVENT_FORMAT';
  constructor(message: string) {
    super(message);
    this.name = 'CloudEventFormatError';
  }
}

/** The record for an event whose data is already `payload` (JSON text, framed or Avro bytes). */
export function toKafkaRecord(
  attributes: CloudEventAttributes,
  payload: Buffer,
  mode: CloudEventsMode,
): KafkaRecord {
  const headers = new Map<string, Buffer>();
  const key = attributes.subject === undefined ? undefined : Buffer.from(attributes.subject);
  if (attributes.traceparent) headers.set('traceparent', Buffer.from(attributes.traceparent));
  if (attributes.tracestate) headers.set('tracestate', Buffer.from(attributes.tracestate));
  if (mode === 'binary') {
    headers.set('ce_specversion', Buffer.from(attributes.specversion));
    for (const name of requiredAttributes) headers.set(`ce_${name}`, Buffer.from(attributes[name]));
    for (const name of optionalAttributes) {
      const value = attributes[name];
      if (value === undefined) continue;
      const header = name === 'datacontenttype' ? 'content-type' : `ce_${name}`;
      headers.set(header, Buffer.from(value));
    }
    return { key, value: payload, headers };
  }
  headers.set('content-type', Buffer.from(structuredContentType));
  const inlineJson =
    attributes.datacontenttype === 'application/json' && !isFramed(payload)
      ? { data: JSON.parse(payload.toString('utf8')) as unknown }
      : { data_base64: payload.toString('base64') };
  const event = { ...attributes, ...inlineJson };
  return { key, value: Buffer.from(JSON.stringify(event)), headers };
}

/** The attributes and data bytes of a record in either mode. */
export function fromKafkaRecord(record: KafkaRecord): {
  attributes: CloudEventAttributes;
  payload: Buffer;
  mode: CloudEventsMode;
} {
  const header = (name: string) => record.headers.get(name)?.toString('utf8');
  const trace = traceOf(header('traceparent'), header('tracestate'));
  if (header('content-type')?.startsWith(structuredContentType)) {
    return { ...structured(record.value, trace), mode: 'structured' };
  }
  const specversion = header('ce_specversion');
  if (specversion !== '1.0') {
    throw new CloudEventFormatError(`not a CloudEvent 1.0 (ce_specversion ${specversion})`);
  }
  const attributes: Record<string, string> = { specversion };
  for (const name of requiredAttributes) {
    const value = header(`ce_${name}`);
    if (value === undefined)
      throw new CloudEventFormatError(`binary CloudEvent without ce_${name}`);
    attributes[name] = value;
  }
  for (const name of optionalAttributes) {
    const value = header(name === 'datacontenttype' ? 'content-type' : `ce_${name}`);
    if (value !== undefined) attributes[name] = value;
  }
  return {
    attributes: { ...(attributes as unknown as CloudEventAttributes), ...trace },
    payload: record.value ?? Buffer.alloc(0),
    mode: 'binary',
  };
}

function structured(value: Buffer | undefined, trace: TraceHeaders) {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(value?.toString('utf8') ?? '') as Record<string, unknown>;
  } catch {
    throw new CloudEventFormatError('structured CloudEvent whose value is not JSON');
  }
  if (typeof event !== 'object' || event === null || event.specversion !== '1.0') {
    throw new CloudEventFormatError('structured CloudEvent without specversion 1.0');
  }
  for (const name of requiredAttributes) {
    if (typeof event[name] !== 'string') {
      throw new CloudEventFormatError(`structured CloudEvent without ${name}`);
    }
  }
  const { data, data_base64: dataBase64, ...rest } = event;
  const payload =
    typeof dataBase64 === 'string'
      ? Buffer.from(dataBase64, 'base64')
      : Buffer.from(JSON.stringify(data ?? null));
  const attributes = { ...trace, ...(rest as unknown as CloudEventAttributes) };
  return { attributes, payload };
}

function traceOf(traceparent: string | undefined, tracestate: string | undefined): TraceHeaders {
  if (traceparent === undefined) return {};
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
}

function isFramed(payload: Buffer): boolean {
  return payload.length >= 5 && payload[0] === 0;
}
