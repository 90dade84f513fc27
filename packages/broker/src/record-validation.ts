/**
 * Record validation at the broker (issue 15, docs/adr/0020): per topic, Produce checks each
 * record before it is stored.
 *
 * - `confluent.value.schema.validation` / `confluent.key.schema.validation` (Confluent Server's
 *   names): the value (key) must be in the registry's wire format (magic byte 0, a 4-byte schema
 *   id) with an id the schema registry knows. With `tributary.schema.validation.decode` the
 *   payload must also decode against that schema. Null keys and values (tombstones) pass.
 *   `confluent.value.subject.name.strategy` / `confluent.key.subject.name.strategy` (Confluent's
 *   TopicNameStrategy, RecordNameStrategy, TopicRecordNameStrategy class names) also require the
 *   id to be registered under the subject the strategy names; unset, any subject will do.
 * - `tributary.cloudevents.required`: each record must be a CloudEvent under the Kafka protocol
 *   binding, binary mode (`ce_specversion`, `ce_id`, `ce_source`, `ce_type` headers) or
 *   structured mode (`content-type: application/cloudevents+json`, the value a JSON event with
 *   `specversion`, `id`, `source` and `type`).
 * - `tributary.validation.policy` says what happens to a batch with invalid records: `reject`
 *   (INVALID_RECORD with one RecordError per invalid record, nothing stored), `dlq` (the invalid
 *   records go to `<topic>.dlq` with headers saying why, the rest is stored) or `warn` (stored,
 *   counted, logged).
 *
 * Records are decoded here only for topics with a rule on, bounded by the broker's
 * decompressed-batch limit; other topics keep the undecoded hot path.
 */
import { decodeRecords, type KafkaRecord } from '@tributary/protocol';
import {
  type ParsedSchema,
  RegistryError,
  type SchemaRegistry,
  readFrame,
  schemaIdOf,
} from '@tributary/schema-registry';

export type ValidationPolicy = 'reject' | 'dlq' | 'warn';
export const validationPolicies: readonly ValidationPolicy[] = ['reject', 'dlq', 'warn'];

/** Confluent's subject name strategies, by the class names its settings take. */
export const subjectNameStrategies = [
  'TopicNameStrategy',
  'RecordNameStrategy',
  'TopicRecordNameStrategy',
] as const;
export type SubjectNameStrategy = (typeof subjectNameStrategies)[number];
export const subjectNameStrategyPackage = 'io.confluent.kafka.serializers.subject.';

export interface ValidationRules {
  readonly keySchema: boolean;
  readonly valueSchema: boolean;
  /** The subject the key's (value's) schema id must be registered under; unset: any. */
  readonly keySubjectStrategy: SubjectNameStrategy | undefined;
  readonly valueSubjectStrategy: SubjectNameStrategy | undefined;
  readonly decode: boolean;
  readonly cloudEvents: boolean;
  readonly policy: ValidationPolicy;
}

/** One invalid record: where it is (`batch`, its index in the batch) and why. */
export interface InvalidRecord {
  readonly batch: number;
  readonly index: number;
  readonly record: KafkaRecord;
  readonly reason: string;
}

/** CloudEvents attributes the Kafka binding requires in every event (spec 1.0). */
const requiredAttributes = ['specversion', 'id', 'source', 'type'] as const;
const structuredContentType = 'application/cloudevents+json';

/** The topic's rules, or undefined when it has none (the produce hot path then decodes nothing). */
export function validationRulesOf(
  config: Readonly<Record<string, string>>,
): ValidationRules | undefined {
  const on = (name: string): boolean => config[name]?.trim().toLowerCase() === 'true';
  const keySchema = on('confluent.key.schema.validation');
  const valueSchema = on('confluent.value.schema.validation');
  const cloudEvents = on('tributary.cloudevents.required');
  // Asked for every partition of every produce: topics without rules allocate nothing.
  if (!keySchema && !valueSchema && !cloudEvents) return undefined;
  return {
    keySchema,
    valueSchema,
    keySubjectStrategy: strategyOf(config['confluent.key.subject.name.strategy']),
    valueSubjectStrategy: strategyOf(config['confluent.value.subject.name.strategy']),
    decode: on('tributary.schema.validation.decode'),
    cloudEvents,
    policy: (config['tributary.validation.policy'] ?? 'reject') as ValidationPolicy,
  };
}

/** The strategy a setting names (its class name, with or without Confluent's package). */
function strategyOf(setting: string | undefined): SubjectNameStrategy | undefined {
  const name = setting?.trim().replace(subjectNameStrategyPackage, '');
  return subjectNameStrategies.find((strategy) => strategy === name);
}

/** What the records' schema ids resolve to: parsed schemas and, with a strategy, subjects. */
interface SchemaLookups {
  readonly schemas: Map<number, ParsedSchema | undefined>;
  /** The subjects each id is registered under (live versions); only with a strategy set. */
  readonly subjects: Map<number, ReadonlySet<string>>;
}

/**
 * Every invalid record of `batches`, in order. Each schema id is looked up once (the only await);
 * the records are then checked synchronously. Throws what decodeRecords throws for a batch whose
 * records do not decode (the caller answers it with the decoder's Kafka error).
 */
export async function invalidRecords(
  topic: string,
  batches: readonly Buffer[],
  rules: ValidationRules,
  registry: SchemaRegistry | undefined,
  maxDecompressedBytes: number,
): Promise<InvalidRecord[]> {
  const decoded = batches.map((bytes) => decodeRecords(bytes, { maxDecompressedBytes }));
  const lookups = await schemasOf(decoded, rules, registry);
  const invalid: InvalidRecord[] = [];
  for (const [batch, records] of decoded.entries()) {
    for (const [index, record] of records.entries()) {
      const reason = recordProblem(record, { topic, rules, registry, lookups });
      if (reason !== undefined) invalid.push({ batch, index, record, reason });
    }
  }
  return invalid;
}

/** The parsed schema of every id the records name (undefined: not registered). */
async function schemasOf(
  batches: readonly KafkaRecord[][],
  rules: ValidationRules,
  registry: SchemaRegistry | undefined,
): Promise<SchemaLookups> {
  const schemas = new Map<number, ParsedSchema | undefined>();
  const subjects = new Map<number, ReadonlySet<string>>();
  if (registry === undefined) return { schemas, subjects };
  const strategies =
    rules.keySubjectStrategy !== undefined || rules.valueSubjectStrategy !== undefined;
  const ids = new Set<number>();
  for (const records of batches) {
    for (const record of records) {
      const key = rules.keySchema && record.key !== null ? schemaIdOf(record.key) : undefined;
      const value =
        rules.valueSchema && record.value !== null ? schemaIdOf(record.value) : undefined;
      if (key !== undefined) ids.add(key);
      if (value !== undefined) ids.add(value);
    }
  }
  for (const id of ids) {
    try {
      schemas.set(id, await registry.schema(id));
      if (strategies) {
        const versions = await registry.versionsOfSchema(id, false);
        subjects.set(id, new Set(versions.map((version) => version.subject)));
      }
    } catch (error: unknown) {
      if (!(error instanceof RegistryError && error.errorCode === 40403)) throw error;
      schemas.set(id, undefined);
    }
  }
  return { schemas, subjects };
}

interface RecordCheck {
  readonly topic: string;
  readonly rules: ValidationRules;
  readonly registry: SchemaRegistry | undefined;
  readonly lookups: SchemaLookups;
}

function recordProblem(record: KafkaRecord, check: RecordCheck): string | undefined {
  const { rules, registry } = check;
  if (rules.cloudEvents) {
    const problem = cloudEventProblem(record);
    if (problem !== undefined) return problem;
  }
  const checkPart = (part: 'key' | 'value', bytes: Buffer | null): string | undefined => {
    if (bytes === null) return undefined;
    if (registry === undefined) {
      return `${part} schema validation is on but this broker runs no schema registry`;
    }
    return schemaProblem(part, bytes, check);
  };
  return (
    (rules.keySchema ? checkPart('key', record.key) : undefined) ??
    (rules.valueSchema ? checkPart('value', record.value) : undefined)
  );
}

function schemaProblem(
  part: 'key' | 'value',
  bytes: Buffer,
  { topic, rules, lookups }: RecordCheck,
): string | undefined {
  const schemaId = schemaIdOf(bytes);
  if (schemaId === undefined) {
    return `${part} is not in the schema registry's wire format (magic byte 0, 4-byte schema id)`;
  }
  const schema = lookups.schemas.get(schemaId);
  if (schema === undefined) return `${part} schema id ${schemaId} is not registered`;
  const strategy = part === 'key' ? rules.keySubjectStrategy : rules.valueSubjectStrategy;
  if (!rules.decode && strategy === undefined) return undefined;
  const framed = readFrame(bytes, schema.schemaType === 'PROTOBUF');
  if (strategy !== undefined) {
    const indexes = framed.ok ? framed.frame.messageIndexes : [];
    const subject = subjectOf(strategy, { topic, part, schema, indexes });
    const problem =
      subject === undefined
        ? `${part} schema ${schemaId} has no record name for ${strategy}`
        : lookups.subjects.get(schemaId)?.has(subject) === true
          ? undefined
          : `${part} schema id ${schemaId} is not registered under subject '${subject}' ` +
            `(${strategy})`;
    if (problem !== undefined) return problem;
  }
  if (!rules.decode) return undefined;
  const result = framed.ok
    ? schema.decode(framed.frame.payload, framed.frame.messageIndexes)
    : { ok: false as const, reason: framed.reason };
  return result.ok ? undefined : `${part} does not match schema ${schemaId}: ${result.reason}`;
}

/** The subject Confluent's strategy names for a record's key or value; undefined: no name. */
export function subjectOf(
  strategy: SubjectNameStrategy,
  where: {
    topic: string;
    part: 'key' | 'value';
    schema: ParsedSchema;
    indexes: readonly number[];
  },
): string | undefined {
  if (strategy === 'TopicNameStrategy') return `${where.topic}-${where.part}`;
  const name = where.schema.recordName(where.indexes);
  if (name === undefined) return undefined;
  return strategy === 'RecordNameStrategy' ? name : `${where.topic}-${name}`;
}

/** Why `record` is not a CloudEvent under the Kafka protocol binding, or undefined. */
export function cloudEventProblem(record: KafkaRecord): string | undefined {
  const header = (name: string): string | undefined => {
    const found = record.headers.find((h) => h.key === name);
    return found?.value?.toString('utf8');
  };
  const contentType = header('content-type');
  if (contentType?.toLowerCase().startsWith(structuredContentType) === true) {
    return structuredEventProblem(record.value);
  }
  const missing = requiredAttributes.filter((name) => !header(`ce_${name}`));
  if (missing.length > 0) {
    return (
      `not a CloudEvent: binary mode needs ${missing.map((name) => `ce_${name}`).join(', ')} ` +
      `header(s), structured mode content-type ${structuredContentType}`
    );
  }
  const version = header('ce_specversion');
  return version === '1.0' ? undefined : `CloudEvents specversion ${version} is not 1.0`;
}

function structuredEventProblem(value: Buffer | null): string | undefined {
  if (value === null) return 'structured CloudEvent without a value';
  let event: unknown;
  try {
    event = JSON.parse(value.toString('utf8'));
  } catch {
    return 'structured CloudEvent value is not JSON';
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    return 'structured CloudEvent value is not a JSON object';
  }
  const attributes = event as Record<string, unknown>;
  const missing = requiredAttributes.filter(
    (name) => typeof attributes[name] !== 'string' || attributes[name] === '',
  );
  if (missing.length > 0) return `structured CloudEvent lacks ${missing.join(', ')}`;
  return attributes['specversion'] === '1.0'
    ? undefined
    : `CloudEvents specversion ${String(attributes['specversion'])} is not 1.0`;
}

/** Counts since the broker started (/metrics: tributary_produce_invalid_records_total). */
export class RecordValidationStats {
  invalidRecords = 0;
  rejected = 0;
  deadLettered = 0;
  warned = 0;
}
