/**
 * Typed event contracts. An event type is declared once with `defineEvent`: its CloudEvents
 * `type`, a version, the topic it is published to, how to find its aggregate id (the Kafka key,
 * so one aggregate's events stay in order) and its schema: JSON Schema (ajv's
 * `JSONSchemaType<T>` makes the compiler reject a schema that does not describe `T`) or Avro
 * (avsc; the value is checked against it at runtime). `validate` runs before anything is
 * serialized: a value that does not match throws `EventValidationError` and nothing is sent.
 *
 * Invariant: a contract is immutable; its validator is compiled once, when it is declared.
 */
import { Ajv, type JSONSchemaType, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import avro from 'avsc';

/** A contract's schema language, as the registry names it: `JSON` (JSON Schema) or `AVRO`. */
export type SchemaFormat = 'JSON' | 'AVRO';

interface ContractBase<T> {
  /** The CloudEvents `type`, reverse-DNS or dotted: `order.placed`. */
  readonly type: string;
  /** The contract's version (1, 2, ...); part of `dataschema` when no registry is used. */
  readonly version: number;
  /** The topic the event is published to (`orders`). */
  readonly topic: string;
  /** The aggregate the event belongs to: its id is the Kafka key and the CloudEvents subject. */
  readonly aggregateId: (value: T) => string;
}

export interface JsonEventDefinition<T> extends ContractBase<T> {
  /** JSON Schema (draft-07); `JSONSchemaType<T>` ties it to the TypeScript type. */
  readonly schema: JSONSchemaType<T>;
}

export interface AvroEventDefinition<T> extends ContractBase<T> {
  /** An Avro schema (a record); the TypeScript type `T` is checked against it at runtime. */
  readonly avro: avro.Schema;
}

export type EventDefinition<T> = JsonEventDefinition<T> | AvroEventDefinition<T>;

/** One problem with a value: where (`/items/0/quantity`) and what. */
export interface ValidationProblem {
  readonly path: string;
  readonly message: string;
}

/** A value that does not match its contract: thrown before anything is serialized or sent. */
export class EventValidationError extends Error {
  readonly code = 'EVENT_INVALID';
  readonly eventType: string;
  readonly problems: readonly ValidationProblem[];

  constructor(eventType: string, problems: readonly ValidationProblem[]) {
    const listed = problems.map((problem) => `${problem.path || '/'} ${problem.message}`);
    super(`${eventType}: value does not match its schema: ${listed.join('; ')}`);
    this.name = 'EventValidationError';
    this.eventType = eventType;
    this.problems = problems;
  }
}

export interface EventContract<T> {
  readonly type: string;
  readonly version: number;
  readonly topic: string;
  readonly format: SchemaFormat;
  /** The schema as the registry stores it (JSON text). */
  readonly schemaText: string;
  readonly aggregateId: (value: T) => string;
  /** Throws `EventValidationError` unless `value` matches the schema. */
  validate(value: unknown): asserts value is T;
  /** The payload bytes of a valid value (JSON text, or Avro binary). */
  serialize(value: T): Buffer;
  /**
   * The value from payload bytes. `writerSchema` is the schema the bytes were written with
   * (from the registry) when it may differ from this contract's (Avro schema resolution).
   */
  deserialize(bytes: Buffer, writerSchema?: string): T;
}

const ajv = new Ajv({ allErrors: true, strict: false });
(addFormats as unknown as (instance: Ajv) => void)(ajv);

export function defineEvent<T>(definition: EventDefinition<T>): EventContract<T> {
  if (!/^[A-Za-z0-9._-]+$/.test(definition.type)) {
    throw new Error(`event type ${JSON.stringify(definition.type)}: use letters, digits, . _ -`);
  }
  return 'schema' in definition ? jsonContract(definition) : avroContract(definition);
}

function jsonContract<T>(definition: JsonEventDefinition<T>): EventContract<T> {
  const check: ValidateFunction = ajv.compile(definition.schema);
  const validate: (value: unknown) => asserts value is T = (value) => {
    if (check(value)) return;
    const problems = (check.errors ?? []).map((error) => ({
      path: error.instancePath,
      message: error.message ?? error.keyword,
    }));
    throw new EventValidationError(definition.type, problems);
  };
  return {
    ...identity(definition),
    format: 'JSON',
    schemaText: JSON.stringify(definition.schema),
    validate,
    serialize: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
    deserialize: (bytes) => {
      const value: unknown = JSON.parse(bytes.toString('utf8'));
      validate(value);
      return value as T;
    },
  };
}

function avroContract<T>(definition: AvroEventDefinition<T>): EventContract<T> {
  const type = avro.Type.forSchema(definition.avro);
  type Resolver = ReturnType<avro.Type['createResolver']>;
  const resolvers = new Map<string, Resolver>();
  const validate: (value: unknown) => asserts value is T = (value) => {
    const problems: ValidationProblem[] = [];
    type.isValid(value, {
      errorHook: (path, found) =>
        problems.push({ path: `/${path.join('/')}`, message: `invalid value ${String(found)}` }),
    });
    if (problems.length > 0) throw new EventValidationError(definition.type, problems);
  };
  return {
    ...identity(definition),
    format: 'AVRO',
    schemaText: JSON.stringify(type.schema()),
    validate,
    serialize: (value) => type.toBuffer(value),
    deserialize: (bytes, writerSchema) => {
      if (writerSchema === undefined) return plain(type.fromBuffer(bytes)) as T;
      let resolver = resolvers.get(writerSchema);
      if (resolver === undefined) {
        const writer = avro.Type.forSchema(JSON.parse(writerSchema) as avro.Schema);
        resolver = type.createResolver(writer);
        resolvers.set(writerSchema, resolver);
      }
      return plain(type.fromBuffer(bytes, resolver)) as T;
    },
  };
}

function identity<T>(definition: EventDefinition<T>) {
  return {
    type: definition.type,
    version: definition.version,
    topic: definition.topic,
    aggregateId: definition.aggregateId,
  };
}

/** avsc decodes records as instances of generated classes: handlers get plain objects. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, plain(v)]));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
}
