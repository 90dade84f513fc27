/**
 * Record validation at the broker (issue 15, docs/adr/0020): per topic, Produce checks each
 * record before it is stored.
 *
 * - `confluent.value.schema.validation` / `confluent.key.schema.validation` (Confluent Server's
 *   names): the value (key) must be in the registry's wire format (magic byte 0, a 4-byte schema
 *   id) with an id the schema registry knows. With `tributary.schema.validation.decode` the
 *   payload must also decode against that schema. Null keys and values (tombstones) pass.
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
import { RegistryError, type SchemaRegistry, schemaIdOf } from '@tributary/schema-registry';

export type ValidationPolicy = 'reject' | 'dlq' | 'warn';
export const validationPolicies: readonly ValidationPolicy[] = ['reject', 'dlq', 'warn'];

export interface ValidationRules {
  readonly keySchema: boolean;
  readonly valueSchema: boolean;
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
  const rules: ValidationRules = {
    keySchema: on('confluent.key.schema.validation'),
    valueSchema: on('confluent.value.schema.validation'),
    decode: on('tributary.schema.validation.decode'),
    cloudEvents: on('tributary.cloudevents.required'),
    policy: (config['tributary.validation.policy'] ?? 'reject') as ValidationPolicy,
  };
  return rules.keySchema || rules.valueSchema || rules.cloudEvents ? rules : undefined;
}

/**
 * Every invalid record of `batches`, in order. Throws what decodeRecords throws for a batch
 * whose records do not decode (the caller answers it with the decoder's Kafka error).
 */
export async function invalidRecords(
  batches: readonly Buffer[],
  rules: ValidationRules,
  registry: SchemaRegistry | undefined,
  maxDecompressedBytes: number,
): Promise<InvalidRecord[]> {
  const invalid: InvalidRecord[] = [];
  for (const [batch, bytes] of batches.entries()) {
    const records = decodeRecords(bytes, { maxDecompressedBytes });
    for (const [index, record] of records.entries()) {
      const reason = await recordProblem(record, rules, registry);
      if (reason !== undefined) invalid.push({ batch, index, record, reason });
    }
  }
  return invalid;
}

async function recordProblem(
  record: KafkaRecord,
  rules: ValidationRules,
  registry: SchemaRegistry | undefined,
): Promise<string | undefined> {
  if (rules.cloudEvents) {
    const problem = cloudEventProblem(record);
    if (problem !== undefined) return problem;
  }
  if (rules.keySchema && record.key !== null) {
    const problem = await schemaProblem('key', record.key, rules.decode, registry);
    if (problem !== undefined) return problem;
  }
  if (rules.valueSchema && record.value !== null) {
    return schemaProblem('value', record.value, rules.decode, registry);
  }
  return undefined;
}

async function schemaProblem(
  part: 'key' | 'value',
  bytes: Buffer,
  decode: boolean,
  registry: SchemaRegistry | undefined,
): Promise<string | undefined> {
  if (registry === undefined) {
    return `${part} schema validation is on but this broker runs no schema registry`;
  }
  const schemaId = schemaIdOf(bytes);
  if (schemaId === undefined) {
    return `${part} is not in the schema registry's wire format (magic byte 0, 4-byte schema id)`;
  }
  try {
    if (!decode) {
      await registry.schema(schemaId);
      return undefined;
    }
    const result = await registry.decode(bytes);
    return result.ok ? undefined : `${part} does not match schema ${schemaId}: ${result.reason}`;
  } catch (error: unknown) {
    if (error instanceof RegistryError && error.errorCode === 40403) {
      return `${part} schema id ${schemaId} is not registered`;
    }
    throw error;
  }
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
