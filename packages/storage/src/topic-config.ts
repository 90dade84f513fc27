/**
 * Topic configuration: Kafka's topic config names, types, defaults and ranges (Kafka 3.9/4.0
 * TopicConfig and LogConfig), validation, and the effective view (defaults + overrides).
 * Storage acts on cleanup.policy, retention.ms and retention.bytes; the broker acts on others
 * (max.message.bytes, message.timestamp.*, and record validation: confluent.*.schema.validation,
 * tributary.*); the rest are accepted and reported like Kafka does.
 */
import type { TopicRecord } from './types.ts';

/** Confluent's subject name strategies (class names), for record validation's settings. */
const subjectNameStrategies = [
  'io.confluent.kafka.serializers.subject.TopicNameStrategy',
  'io.confluent.kafka.serializers.subject.RecordNameStrategy',
  'io.confluent.kafka.serializers.subject.TopicRecordNameStrategy',
];

export type TopicConfigType = 'boolean' | 'int' | 'long' | 'double' | 'string' | 'list';

export interface TopicConfigDefinition {
  name: string;
  type: TopicConfigType;
  /** Kafka's default, as Kafka's DescribeConfigs shows it. */
  defaultValue: string;
  doc: string;
  /** Inclusive numeric bounds. */
  min?: number | bigint;
  max?: number | bigint;
  /** For string and list types: allowed values (each element for lists). */
  validValues?: readonly string[];
}

const longMax = '9223372036854775807';
const compressionTypes = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'];

const definitions: TopicConfigDefinition[] = [
  def('cleanup.policy', 'list', 'delete', 'delete and/or compact old segments', {
    validValues: ['delete', 'compact'],
  }),
  def('compression.type', 'string', 'producer', 'final compression of the topic data', {
    validValues: compressionTypes,
  }),
  def('compression.gzip.level', 'int', '-1', 'gzip level when compression.type=gzip', {
    min: -1,
    max: 9,
  }),
  def('compression.lz4.level', 'int', '9', 'lz4 level when compression.type=lz4', {
    min: 1,
    max: 17,
  }),
  def('compression.zstd.level', 'int', '3', 'zstd level when compression.type=zstd', {
    min: -131072,
    max: 22,
  }),
  def(
    'confluent.key.schema.validation',
    'boolean',
    'false',
    'keys must carry a registered schema id',
  ),
  def(
    'confluent.key.subject.name.strategy',
    'string',
    '',
    "the subject a key's schema id must be registered under (unset: any subject)",
    { validValues: subjectNameStrategies },
  ),
  def(
    'confluent.value.schema.validation',
    'boolean',
    'false',
    'values must carry a registered schema id',
  ),
  def(
    'confluent.value.subject.name.strategy',
    'string',
    '',
    "the subject a value's schema id must be registered under (unset: any subject)",
    { validValues: subjectNameStrategies },
  ),
  def('delete.retention.ms', 'long', '86400000', 'how long tombstones are kept when compacting', {
    min: 0,
  }),
  def('file.delete.delay.ms', 'long', '60000', 'delay before deleting a file', { min: 0 }),
  def('flush.messages', 'long', longMax, 'messages between forced flushes', { min: 1 }),
  def('flush.ms', 'long', longMax, 'ms between forced flushes', { min: 0 }),
  def('follower.replication.throttled.replicas', 'list', '', 'throttled follower replicas'),
  def('index.interval.bytes', 'int', '4096', 'bytes between offset index entries', { min: 0 }),
  def('leader.replication.throttled.replicas', 'list', '', 'throttled leader replicas'),
  def('local.retention.bytes', 'long', '-2', 'local bytes kept with tiered storage', {
    min: -2,
  }),
  def('local.retention.ms', 'long', '-2', 'local ms kept with tiered storage', { min: -2 }),
  def('max.compaction.lag.ms', 'long', longMax, 'max time a message stays uncompacted', {
    min: 1,
  }),
  def('max.message.bytes', 'int', '1048588', 'largest record batch size allowed', { min: 0 }),
  def('message.timestamp.after.max.ms', 'long', longMax, 'max ms a timestamp may be ahead', {
    min: 0,
  }),
  def('message.timestamp.before.max.ms', 'long', longMax, 'max ms a timestamp may be behind', {
    min: 0,
  }),
  def('message.timestamp.type', 'string', 'CreateTime', 'CreateTime or LogAppendTime', {
    validValues: ['CreateTime', 'LogAppendTime'],
  }),
  def('min.cleanable.dirty.ratio', 'double', '0.5', 'dirty ratio that triggers compaction', {
    min: 0,
    max: 1,
  }),
  def('min.compaction.lag.ms', 'long', '0', 'min time a message stays uncompacted', { min: 0 }),
  def('min.insync.replicas', 'int', '1', 'replicas that must acknowledge acks=all', { min: 1 }),
  def('preallocate', 'boolean', 'false', 'preallocate segment files'),
  def('remote.log.copy.disable', 'boolean', 'false', 'stop copying to tiered storage'),
  def('remote.log.delete.on.disable', 'boolean', 'false', 'delete tiered data on disable'),
  def('remote.storage.enable', 'boolean', 'false', 'tiered storage for the topic'),
  def('retention.bytes', 'long', '-1', 'max bytes per partition before deleting old data', {
    min: -1,
  }),
  def('retention.ms', 'long', '604800000', 'max age of data before deletion (-1: forever)', {
    min: -1,
  }),
  def('segment.bytes', 'int', '1073741824', 'segment file size', { min: 14 }),
  def('segment.index.bytes', 'int', '10485760', 'offset index size', { min: 4 }),
  def('segment.jitter.ms', 'long', '0', 'random jitter subtracted from segment.ms', { min: 0 }),
  def('segment.ms', 'long', '604800000', 'time after which a segment rolls', { min: 1 }),
  def('tributary.cloudevents.required', 'boolean', 'false', 'records must be CloudEvents'),
  def(
    'tributary.schema.validation.decode',
    'boolean',
    'false',
    'schema validation also decodes each payload against its schema',
  ),
  def('tributary.owner', 'string', '', 'the team or principal that owns the topic'),
  def('tributary.validation.policy', 'string', 'reject', 'what happens to invalid records', {
    validValues: ['reject', 'dlq', 'warn'],
  }),
  def('unclean.leader.election.enable', 'boolean', 'false', 'allow out-of-sync leaders'),
];

function def(
  name: string,
  type: TopicConfigType,
  defaultValue: string,
  doc: string,
  extra: Partial<Pick<TopicConfigDefinition, 'min' | 'max' | 'validValues'>> = {},
): TopicConfigDefinition {
  return { name, type, defaultValue, doc, ...extra };
}

export const topicConfigDefinitions: ReadonlyMap<string, TopicConfigDefinition> = new Map(
  definitions.map((definition) => [definition.name, definition]),
);

/** An error message when `value` is not valid for topic config `name`, else undefined. */
export function validateTopicConfig(name: string, value: string): string | undefined {
  const definition = topicConfigDefinitions.get(name);
  if (definition === undefined) return `Unknown topic config name: ${name}`;
  const invalid = `Invalid value ${value} for configuration ${name}`;
  switch (definition.type) {
    case 'boolean':
      return /^(true|false)$/i.test(value.trim()) ? undefined : `${invalid}: Expected boolean`;
    case 'int':
    case 'long':
      return validateInteger(definition, value.trim(), invalid);
    case 'double':
      return validateDouble(definition, value.trim(), invalid);
    case 'string':
      return checkValidValues(definition, [value], invalid);
    case 'list': {
      const items = value.split(',').map((item) => item.trim());
      const nonEmpty = items.filter((item) => item !== '');
      if (name === 'cleanup.policy' && nonEmpty.length === 0) return `${invalid}: empty list`;
      return checkValidValues(definition, nonEmpty, invalid);
    }
  }
}

function validateInteger(
  definition: TopicConfigDefinition,
  value: string,
  invalid: string,
): string | undefined {
  if (!/^[+-]?\d+$/.test(value)) return `${invalid}: Not a number of type ${definition.type}`;
  const parsed = BigInt(value);
  const [low, high] =
    definition.type === 'int' ? [-(2n ** 31n), 2n ** 31n - 1n] : [-(2n ** 63n), 2n ** 63n - 1n];
  if (parsed < low || parsed > high) return `${invalid}: Not a number of type ${definition.type}`;
  return checkRange(definition, parsed, invalid);
}

function validateDouble(
  definition: TopicConfigDefinition,
  value: string,
  invalid: string,
): string | undefined {
  const parsed = Number(value);
  if (value === '' || !Number.isFinite(parsed)) return `${invalid}: Not a number of type double`;
  return checkRange(definition, parsed, invalid);
}

function checkRange(
  definition: TopicConfigDefinition,
  value: number | bigint,
  invalid: string,
): string | undefined {
  if (definition.min !== undefined && value < definition.min) {
    return `${invalid}: Value must be at least ${definition.min}`;
  }
  if (definition.max !== undefined && value > definition.max) {
    return `${invalid}: Value must be no more than ${definition.max}`;
  }
  return undefined;
}

function checkValidValues(
  definition: TopicConfigDefinition,
  values: readonly string[],
  invalid: string,
): string | undefined {
  const allowed = definition.validValues;
  if (allowed === undefined) return undefined;
  const bad = values.find((value) => !allowed.includes(value));
  return bad === undefined ? undefined : `${invalid}: String must be one of: ${allowed.join(', ')}`;
}

/**
 * Kafka's defaults, overlaid with the broker's defaults for topics (`brokerDefaults`, e.g.
 * retention.ms from log.retention.ms; names that are not topic configs are ignored), overlaid
 * with the topic's explicit overrides.
 */
export function effectiveTopicConfig(
  topic: TopicRecord,
  brokerDefaults: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const effective: Record<string, string> = {};
  for (const definition of definitions) {
    effective[definition.name] = brokerDefaults[definition.name] ?? definition.defaultValue;
  }
  return Object.assign(effective, topic.configs);
}

/** Does an (effective) config's cleanup.policy list `policy`? Kafka's default is delete. */
export function hasCleanupPolicy(
  config: Readonly<Record<string, string>>,
  policy: 'delete' | 'compact',
): boolean {
  return (config['cleanup.policy'] ?? 'delete').split(',').some((entry) => entry.trim() === policy);
}
