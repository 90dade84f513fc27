/**
 * The broker settings catalogue: every setting `tributary start` takes, under Kafka's name, with
 * Kafka's type, default, unit and dynamic update mode, and where its value goes. Parsing
 * (server.properties, --override, TRIBUTARY_* variables), `tributary start --help`,
 * DescribeConfigs on the BROKER resource and the dynamic alter path are all derived from this one
 * list (docs/adr/0006-broker-settings.md).
 *
 * Values are kept as Kafka's text forms (as DescribeConfigs shows them); `checkSettingValue`
 * validates and normalises a text once, at the edge, so everything behind it may parse without
 * checking again.
 */
import { isIP } from 'node:net';
import type { BrokerConfig } from '../broker-config.ts';
import { checkListenerList } from '../security/listener-specs.ts';
import type { GroupSettings } from '../groups/group-runtime.ts';
import type { TransactionSettings } from '../transactions/transaction-runtime.ts';

export type SettingType = 'boolean' | 'short' | 'int' | 'long' | 'string' | 'list';

type NumericField<T> = { [K in keyof T]: T[K] extends number ? K : never }[keyof T];
type BooleanField<T> = { [K in keyof T]: T[K] extends boolean ? K : never }[keyof T];

/** Where an effective value goes. `scale` converts the setting's unit to the field's (ms). */
export type SettingTarget =
  | { readonly kind: 'broker'; readonly field: NumericField<BrokerConfig> }
  | { readonly kind: 'broker-flag'; readonly field: BooleanField<BrokerConfig> }
  | {
      readonly kind: 'groups';
      readonly field: NumericField<GroupSettings>;
      readonly scale?: number;
    }
  | { readonly kind: 'transactions'; readonly field: NumericField<TransactionSettings> }
  /** The broker's default for a topic config (topics without their own value). */
  | { readonly kind: 'topic'; readonly config: string }
  /** log.retention.minutes / hours: fall back for log.retention.ms, as Kafka resolves them. */
  | { readonly kind: 'retention'; readonly msPerUnit: number }
  /** Read before the broker starts: data directory and listeners. */
  | { readonly kind: 'startup' }
  /** Accepted and reported only (docs/adr/0002 for default.replication.factor). */
  | { readonly kind: 'reported' }
  /** Not a number: read by name where it is used (`settings.value`), so dynamic changes apply. */
  | { readonly kind: 'named' };

export interface SettingDefinition {
  /** Kafka's name. */
  readonly name: string;
  readonly type: SettingType;
  /** Kafka's default as DescribeConfigs shows it; null when Kafka leaves it unset. */
  readonly defaultValue: string | null;
  readonly unit?: 'ms' | 'minutes' | 'hours' | 'bytes';
  /** Kafka's "cluster-wide" update mode: alterable at runtime, per broker or cluster default. */
  readonly dynamic: boolean;
  readonly doc: string;
  readonly min?: bigint;
  readonly max?: bigint;
  readonly validValues?: readonly string[];
  /** Extra validation of the (trimmed) text; a problem description or undefined. */
  readonly check?: (value: string) => string | undefined;
  readonly target: SettingTarget;
  /** The `tributary start` flag that sets it, besides --override. */
  readonly flag?: string;
  /** Environment variables read besides `envNameOf(name)` (the names older releases read). */
  readonly envAliases?: readonly string[];
}

const minuteMs = 60_000;
const hourMs = 3_600_000;

/** `PLAINTEXT://host:port` or `host:port`; the only listener kind this broker serves. */
export const listenerPattern = /^(?:PLAINTEXT:\/\/)?(\[[^\]]+\]|[^:,/[\]]*):(\d{1,5})$/i;

function checkListener(value: string): string | undefined {
  if (value.includes(',')) return 'only one listener is supported';
  const match = listenerPattern.exec(value);
  if (match === null) return 'expected PLAINTEXT://HOST:PORT or HOST:PORT';
  return Number(match[2]) > 65_535 ? 'port must be at most 65535' : undefined;
}

export interface ConnectionOverrides {
  /** Connection limit by IP address. */
  readonly limits: ReadonlyMap<string, number>;
  readonly problem?: string;
}

/** `max.connections.per.ip.overrides`: `IP:COUNT` items, comma-separated (IPv6: last ':'). */
export function parseConnectionOverrides(value: string): ConnectionOverrides {
  const limits = new Map<string, number>();
  for (const item of value.split(',')) {
    const text = item.trim();
    if (text === '') continue;
    const at = text.lastIndexOf(':');
    const address = text.slice(0, at).replace(/^\[(.*)\]$/, '$1');
    const count = text.slice(at + 1);
    if (at <= 0 || isIP(address) === 0 || !/^\d{1,10}$/.test(count)) {
      return { limits, problem: `'${text}': expected IP:COUNT (an IP address, not a host name)` };
    }
    limits.set(address, Math.min(Number(count), 2_147_483_647));
  }
  return { limits };
}

function checkOneDir(value: string): string | undefined {
  if (value === '') return 'expected a directory';
  return value.includes(',') ? 'only one data directory is supported' : undefined;
}

/** Kafka's settings in the order `--help` lists them: startup, broker, topics, groups, txns. */
export const settingCatalogue: readonly SettingDefinition[] = [
  {
    name: 'log.dirs',
    type: 'string',
    defaultValue: 'data',
    dynamic: false,
    doc: 'The data directory (one; relative to the working directory).',
    check: checkOneDir,
    target: { kind: 'startup' },
    flag: '--data-dir',
    envAliases: ['TRIBUTARY_DATA_DIR'],
  },
  {
    name: 'listeners',
    type: 'string',
    defaultValue: 'PLAINTEXT://localhost:9092',
    dynamic: false,
    doc:
      'NAME://HOST:PORT,... (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL or a name mapped by ' +
      'listener.security.protocol.map); localhost means 127.0.0.1 and ::1, port 0 a free one.',
    check: checkListenerList,
    target: { kind: 'startup' },
    flag: '--listen',
    envAliases: ['TRIBUTARY_LISTEN'],
  },
  {
    name: 'advertised.listeners',
    type: 'string',
    defaultValue: null,
    dynamic: false,
    doc: 'NAME://HOST:PORT per listener given to its clients; defaults to the listener.',
    check: checkListenerList,
    target: { kind: 'startup' },
    flag: '--advertised-listener',
    envAliases: ['TRIBUTARY_ADVERTISED_LISTENER'],
  },
  {
    name: 'node.id',
    type: 'int',
    defaultValue: '0',
    dynamic: false,
    doc:
      "This broker's id. Unique in a cluster (two live brokers with one id: the second is " +
      'refused); the embedded broker is node 0.',
    min: 0n,
    max: 2_147_483_647n,
    target: { kind: 'startup' },
  },
  {
    name: 'broker.rack',
    type: 'string',
    defaultValue: null,
    dynamic: false,
    doc:
      'The rack or zone of this broker; consumers with client.rack (KIP-392) and clients ' +
      'with zone=<rack> in client.id are served by brokers of their own zone.',
    target: { kind: 'startup' },
  },
  {
    name: 'metadata.url',
    type: 'string',
    defaultValue: null,
    dynamic: false,
    doc:
      'Cluster mode: postgres://[user[:password]@]host[:port]/database shared by every ' +
      'broker. Needs object.store.url too; unset, the broker is embedded (SQLite in log.dirs).',
    check: (value) =>
      /^postgres(ql)?:\/\//.test(value) ? undefined : 'expected a postgres:// URL',
    target: { kind: 'startup' },
    flag: '--metadata-url',
  },
  {
    name: 'object.store.url',
    type: 'string',
    defaultValue: null,
    dynamic: false,
    doc:
      'Cluster mode: s3://bucket/prefix?endpoint=http://host:port&region=REGION shared by ' +
      "every broker (credentials from the AWS SDK's usual sources).",
    check: (value) => (value.startsWith('s3://') ? undefined : 'expected an s3:// URL'),
    target: { kind: 'startup' },
    flag: '--object-store-url',
  },
  {
    name: 'cluster.lease.ms',
    type: 'long',
    defaultValue: '10000',
    unit: 'ms',
    dynamic: false,
    doc:
      'Cluster mode: how long a partition or coordinator lease lasts without renewal, and ' +
      "how long a silent broker still counts as alive; a dead broker's partitions move " +
      'after at most this long. Renewed every third of it.',
    min: 1000n,
    max: 600_000n,
    target: { kind: 'startup' },
  },
  {
    name: 'cluster.object.delete.delay.ms',
    type: 'long',
    defaultValue: '600000',
    unit: 'ms',
    dynamic: false,
    doc:
      'Cluster mode: how long an object no index row references stays in the bucket before ' +
      'it is deleted; covers reads already holding its location and zone-routed batches ' +
      'not yet committed by their leader.',
    min: 0n,
    target: { kind: 'startup' },
  },
  {
    name: 'cluster.orphan.object.min.age.ms',
    type: 'long',
    defaultValue: '3600000',
    unit: 'ms',
    dynamic: false,
    doc:
      'Cluster mode: an object in the bucket that the index never had (its commit failed) ' +
      'is collected once this old; younger ones may belong to a commit still in flight.',
    min: 1000n,
    target: { kind: 'startup' },
  },
  {
    name: 'cluster.object.gc.interval.ms',
    type: 'long',
    defaultValue: '60000',
    unit: 'ms',
    dynamic: false,
    doc: 'Cluster mode: time between two passes of the object collector (one broker runs it).',
    min: 100n,
    max: 86_400_000n,
    target: { kind: 'startup' },
  },
  {
    name: 'cluster.object.gc.max.objects.per.pass',
    type: 'int',
    defaultValue: '1000',
    dynamic: false,
    doc:
      'Cluster mode: objects one collector pass marks, deletes and adopts as orphans at most ' +
      '(it lists ten times as many bucket keys).',
    min: 1n,
    max: 100_000n,
    target: { kind: 'startup' },
  },
  {
    name: 'cluster.compaction.interval.ms',
    type: 'long',
    defaultValue: '30000',
    unit: 'ms',
    dynamic: false,
    doc:
      'Cluster mode: time between two compaction passes; each broker compacts the ' +
      'cleanup.policy=compact partitions it leads.',
    min: 100n,
    max: 86_400_000n,
    target: { kind: 'startup' },
  },
  {
    name: 'cluster.compaction.max.bytes.per.pass',
    type: 'long',
    defaultValue: '16777216',
    unit: 'bytes',
    dynamic: false,
    doc:
      'Cluster mode: batch bytes one compaction pass reads at most, over all partitions; ' +
      'also the largest object it writes (keep it below 16 MiB, the multipart threshold).',
    min: 1024n,
    max: 1_073_741_824n,
    target: { kind: 'startup' },
  },
  {
    name: 'create.topic.policy.name.pattern',
    type: 'string',
    defaultValue: null,
    dynamic: false,
    doc: 'Regular expression every new topic name must match (POLICY_VIOLATION otherwise).',
    check: (value) => {
      try {
        new RegExp(value);
        return undefined;
      } catch (error: unknown) {
        return error instanceof Error ? error.message : 'not a regular expression';
      }
    },
    target: { kind: 'startup' },
  },
  {
    name: 'create.topic.policy.max.partitions',
    type: 'int',
    defaultValue: null,
    dynamic: false,
    doc: 'Partitions a new topic (or CreatePartitions) may have under the creation policy.',
    min: 1n,
    target: { kind: 'startup' },
  },
  {
    name: 'create.topic.policy.max.retention.ms',
    type: 'long',
    defaultValue: null,
    dynamic: false,
    doc: 'Largest retention.ms of a new topic under the creation policy (-1, forever, refused).',
    min: 0n,
    target: { kind: 'startup' },
  },
  {
    name: 'create.topic.policy.require.owner',
    type: 'boolean',
    defaultValue: 'false',
    dynamic: false,
    doc: 'New topics need tributary.owner (given, or the creating principal when authenticated).',
    target: { kind: 'startup' },
  },
  {
    name: 'create.topic.policy.require.schema.validation',
    type: 'boolean',
    defaultValue: 'false',
    dynamic: false,
    doc: 'New topics need confluent.value.schema.validation=true.',
    target: { kind: 'startup' },
  },
  {
    name: 'create.topic.policy.require.cloudevents',
    type: 'boolean',
    defaultValue: 'false',
    dynamic: false,
    doc: 'New topics need tributary.cloudevents.required=true.',
    target: { kind: 'startup' },
  },
  {
    name: 'log.format',
    type: 'string',
    defaultValue: 'json',
    dynamic: false,
    doc: 'Log lines on stderr: json (one JSON object per line, pino) or text (for terminals).',
    check: (value) => (value === 'json' || value === 'text' ? undefined : 'expected json or text'),
    target: { kind: 'startup' },
    flag: '--log-format',
  },
  {
    name: 'metrics.listen',
    type: 'string',
    defaultValue: null,
    dynamic: false,
    doc: 'HOST:PORT of the Prometheus endpoint (GET /metrics); unset, none is served.',
    check: checkListener,
    target: { kind: 'startup' },
    flag: '--metrics-listen',
  },
  {
    name: 'schema.registry.listeners',
    type: 'string',
    defaultValue: null,
    dynamic: false,
    doc: 'HOST:PORT of the schema registry REST API (docs/schema-registry.md); unset, none.',
    check: (value) =>
      checkListener(value.replace(/^https?:\/\//i, '')) === undefined
        ? undefined
        : 'expected HOST:PORT or http://HOST:PORT',
    target: { kind: 'startup' },
    flag: '--schema-registry-listen',
  },
  {
    name: 'console.listeners',
    type: 'string',
    defaultValue: null,
    dynamic: false,
    doc: 'HOST:PORT of the web console (docs/console.md); unset, none is served.',
    check: (value) =>
      checkListener(value.replace(/^https?:\/\//i, '')) === undefined
        ? undefined
        : 'expected HOST:PORT or http://HOST:PORT',
    target: { kind: 'startup' },
    flag: '--console-listen',
  },
  {
    name: 'console.read.only',
    type: 'boolean',
    defaultValue: 'false',
    dynamic: false,
    doc: 'The console only shows: create topic, reset offsets and delete records answer 403.',
    target: { kind: 'startup' },
  },
  {
    name: 'console.login',
    type: 'string',
    defaultValue: 'none',
    dynamic: false,
    doc:
      'none, or scram: the console asks for the password of a SCRAM user and acts as that ' +
      'user (ACLs apply); set it when security is on.',
    check: (value) =>
      value === 'none' || value === 'scram' ? undefined : 'expected none or scram',
    target: { kind: 'startup' },
  },
  {
    name: 'console.sample.interval.ms',
    type: 'int',
    defaultValue: '5000',
    unit: 'ms',
    dynamic: false,
    doc: "How often the console samples topics' throughput and groups' lag for its charts.",
    min: 100n,
    max: 3_600_000n,
    target: { kind: 'startup' },
  },
  {
    name: 'auto.create.topics.enable',
    type: 'boolean',
    defaultValue: 'true',
    dynamic: false,
    doc: 'Metadata requests create unknown topics (num.partitions partitions).',
    target: { kind: 'broker-flag', field: 'autoCreateTopicsEnable' },
  },
  {
    name: 'num.partitions',
    type: 'int',
    defaultValue: '1',
    dynamic: false,
    doc: 'Partitions of auto-created topics and of CreateTopics with -1.',
    min: 1n,
    target: { kind: 'broker', field: 'numPartitions' },
  },
  {
    name: 'max.partitions.per.topic',
    type: 'int',
    defaultValue: '100000',
    dynamic: true,
    doc:
      'Partitions one topic may have; CreateTopics and CreatePartitions past it get ' +
      'INVALID_PARTITIONS. librdkafka refuses metadata with more than 100000 (ADR 0015).',
    min: 1n,
    target: { kind: 'broker', field: 'maxPartitionsPerTopic' },
  },
  {
    name: 'max.partitions',
    type: 'int',
    defaultValue: '200000',
    dynamic: true,
    doc:
      'Partitions of all topics together (the whole cluster); CreateTopics and ' +
      'CreatePartitions that would pass it get POLICY_VIOLATION (KIP-578; ADR 0015).',
    min: 1n,
    target: { kind: 'broker', field: 'maxPartitions' },
  },
  {
    name: 'default.replication.factor',
    type: 'short',
    defaultValue: '1',
    dynamic: false,
    doc: 'Accepted and reported; every partition keeps one copy in the WAL and objects (ADR 0002).',
    min: 1n,
    target: { kind: 'reported' },
  },
  {
    name: 'max.connections',
    type: 'int',
    defaultValue: '2147483647',
    dynamic: true,
    doc: 'Client connections open at once; connections past it are closed on accept.',
    min: 0n,
    target: { kind: 'broker', field: 'maxConnections' },
  },
  {
    name: 'max.connections.per.ip',
    type: 'int',
    defaultValue: '2147483647',
    dynamic: true,
    doc: 'Connections open at once from one IP address; more are closed on accept.',
    min: 0n,
    target: { kind: 'broker', field: 'maxConnectionsPerIp' },
  },
  {
    name: 'max.connections.per.ip.overrides',
    type: 'string',
    defaultValue: '',
    dynamic: true,
    doc: 'Per-IP exceptions to max.connections.per.ip: IP:COUNT,... (e.g. 127.0.0.1:200).',
    check: (value) => parseConnectionOverrides(value).problem,
    target: { kind: 'named' },
  },
  {
    name: 'authorizer.class.name',
    type: 'string',
    defaultValue: '',
    dynamic: false,
    doc:
      'Set to any authorizer class (e.g. org.apache.kafka.metadata.authorizer.' +
      'StandardAuthorizer) to enforce ACLs on every request; empty, nothing is checked.',
    target: { kind: 'named' },
  },
  {
    name: 'super.users',
    type: 'string',
    defaultValue: '',
    dynamic: false,
    doc: 'Principals allowed everything when an authorizer is on: User:NAME;User:NAME...',
    target: { kind: 'named' },
  },
  {
    name: 'allow.everyone.if.no.acl.found',
    type: 'boolean',
    defaultValue: 'false',
    dynamic: false,
    doc: 'With an authorizer on: allow a resource that has no ACL at all to everyone.',
    target: { kind: 'named' },
  },
  {
    name: 'socket.request.max.bytes',
    type: 'int',
    defaultValue: '104857600',
    unit: 'bytes',
    dynamic: false,
    doc: 'Largest request frame; bigger frames close the connection before any buffer exists.',
    min: 1n,
    target: { kind: 'broker', field: 'socketRequestMaxBytes' },
  },
  {
    name: 'queued.max.requests',
    type: 'int',
    defaultValue: '500',
    dynamic: false,
    doc: 'Requests read from one connection but not yet answered before reading it pauses.',
    min: 1n,
    target: { kind: 'broker', field: 'connectionInFlightMaxRequests' },
  },
  {
    name: 'queued.max.request.bytes',
    type: 'long',
    defaultValue: '536870912',
    unit: 'bytes',
    dynamic: false,
    doc:
      'Bytes of requests being read or processed, all connections together; once reached, ' +
      'sockets stop being read until some return (-1: no limit; Kafka: -1; ADR 0015).',
    min: -1n,
    check: (value) => (value.trim() === '0' ? 'must be -1 (no limit) or positive' : undefined),
    target: { kind: 'broker', field: 'queuedMaxRequestBytes' },
  },
  {
    name: 'connections.max.idle.ms',
    type: 'long',
    defaultValue: '600000',
    unit: 'ms',
    dynamic: false,
    doc: 'Idle connections are closed after this long.',
    min: 1n,
    max: 2_147_483_647n,
    target: { kind: 'broker', field: 'connectionsMaxIdleMs' },
  },
  {
    name: 'fetch.max.bytes',
    type: 'int',
    defaultValue: '57671680',
    unit: 'bytes',
    dynamic: false,
    doc: 'Cap on the bytes of one Fetch response (at least one batch is always returned).',
    min: 1024n,
    target: { kind: 'broker', field: 'fetchMaxBytes' },
  },
  {
    name: 'max.incremental.fetch.session.cache.slots',
    type: 'int',
    defaultValue: '1000',
    dynamic: false,
    doc:
      'Fetch sessions (KIP-227) kept at once; past it the least recently used one is evicted. ' +
      '0 turns sessions off (every fetch is then a full one).',
    min: 0n,
    max: 2_147_483_647n,
    target: { kind: 'named' },
  },
  {
    name: 'message.max.bytes',
    type: 'int',
    defaultValue: '1048588',
    unit: 'bytes',
    dynamic: true,
    doc: "Largest record batch; the default of topics' max.message.bytes.",
    min: 0n,
    target: { kind: 'topic', config: 'max.message.bytes' },
  },
  {
    name: 'log.retention.ms',
    type: 'long',
    defaultValue: null,
    unit: 'ms',
    dynamic: true,
    doc: 'Default retention.ms of topics (-1: forever); unset, minutes then hours apply.',
    min: -1n,
    target: { kind: 'topic', config: 'retention.ms' },
  },
  {
    name: 'log.retention.minutes',
    type: 'int',
    defaultValue: null,
    unit: 'minutes',
    dynamic: false,
    doc: 'Default retention in minutes, when log.retention.ms is unset.',
    min: -1n,
    target: { kind: 'retention', msPerUnit: minuteMs },
  },
  {
    name: 'log.retention.hours',
    type: 'int',
    defaultValue: '168',
    unit: 'hours',
    dynamic: false,
    doc: 'Default retention in hours, when log.retention.ms and .minutes are unset.',
    min: -1n,
    target: { kind: 'retention', msPerUnit: hourMs },
  },
  {
    name: 'log.retention.bytes',
    type: 'long',
    defaultValue: '-1',
    unit: 'bytes',
    dynamic: true,
    doc: 'Default retention.bytes of topics: bytes kept per partition (-1: no limit).',
    min: -1n,
    target: { kind: 'topic', config: 'retention.bytes' },
  },
  {
    name: 'log.segment.bytes',
    type: 'int',
    defaultValue: '1073741824',
    unit: 'bytes',
    dynamic: true,
    doc: 'Default segment.bytes of topics (reported; the shared WAL has its own segments).',
    min: 14n,
    target: { kind: 'topic', config: 'segment.bytes' },
  },
  {
    name: 'log.index.memory.max.bytes',
    type: 'long',
    defaultValue: '67108864',
    unit: 'bytes',
    dynamic: false,
    doc:
      'Batch index bytes kept in memory over all partitions (57 bytes a batch, in chunks of ' +
      '512); older chunks spill to a file in the data directory and load back on demand ' +
      '(ADR 0017).',
    min: 65_536n,
    target: { kind: 'startup' },
  },
  {
    name: 'log.cleanup.policy',
    type: 'list',
    defaultValue: 'delete',
    dynamic: true,
    doc: 'Default cleanup.policy of topics: delete and/or compact.',
    validValues: ['delete', 'compact'],
    target: { kind: 'topic', config: 'cleanup.policy' },
  },
  {
    name: 'log.message.timestamp.type',
    type: 'string',
    defaultValue: 'CreateTime',
    dynamic: true,
    doc: 'Default message.timestamp.type of topics: CreateTime or LogAppendTime.',
    validValues: ['CreateTime', 'LogAppendTime'],
    target: { kind: 'topic', config: 'message.timestamp.type' },
  },
  {
    name: 'offsets.retention.minutes',
    type: 'int',
    defaultValue: '10080',
    unit: 'minutes',
    dynamic: false,
    doc: 'Committed offsets of an empty group expire after this long (KIP-211).',
    min: 1n,
    target: { kind: 'groups', field: 'offsetsRetentionMs', scale: minuteMs },
  },
  {
    name: 'group.initial.rebalance.delay.ms',
    type: 'int',
    defaultValue: '250',
    unit: 'ms',
    dynamic: false,
    doc: 'Wait for more members of a new group before its first rebalance (Kafka: 3000; ADR 0003).',
    min: 0n,
    target: { kind: 'groups', field: 'initialRebalanceDelayMs' },
  },
  {
    name: 'group.min.session.timeout.ms',
    type: 'int',
    defaultValue: '6000',
    unit: 'ms',
    dynamic: false,
    doc: 'Smallest session timeout a consumer may ask for.',
    min: 0n,
    target: { kind: 'groups', field: 'minSessionTimeoutMs' },
  },
  {
    name: 'group.max.session.timeout.ms',
    type: 'int',
    defaultValue: '1800000',
    unit: 'ms',
    dynamic: false,
    doc: 'Largest session timeout a consumer may ask for.',
    min: 0n,
    target: { kind: 'groups', field: 'maxSessionTimeoutMs' },
  },
  {
    name: 'group.consumer.session.timeout.ms',
    type: 'int',
    defaultValue: '45000',
    unit: 'ms',
    dynamic: false,
    doc: 'KIP-848 consumer groups: a member silent this long is fenced.',
    min: 1n,
    target: { kind: 'groups', field: 'consumerSessionTimeoutMs' },
  },
  {
    name: 'group.consumer.heartbeat.interval.ms',
    type: 'int',
    defaultValue: '5000',
    unit: 'ms',
    dynamic: false,
    doc: 'KIP-848 consumer groups: how often members are told to heartbeat.',
    min: 1n,
    target: { kind: 'groups', field: 'consumerHeartbeatIntervalMs' },
  },
  {
    name: 'transaction.max.timeout.ms',
    type: 'int',
    defaultValue: '900000',
    unit: 'ms',
    dynamic: false,
    doc: 'Largest transaction timeout a producer may ask for.',
    min: 1n,
    target: { kind: 'transactions', field: 'maxTimeoutMs' },
  },
  {
    name: 'transactional.id.expiration.ms',
    type: 'int',
    defaultValue: '604800000',
    unit: 'ms',
    dynamic: false,
    doc: 'A transactional id without transactions for this long is forgotten.',
    min: 1n,
    target: { kind: 'transactions', field: 'idExpirationMs' },
  },
];

export const settingDefinitions: ReadonlyMap<string, SettingDefinition> = new Map(
  settingCatalogue.map((definition) => [definition.name, definition]),
);

/** `num.partitions` -> `TRIBUTARY_NUM_PARTITIONS`. */
export function envNameOf(settingName: string): string {
  return `TRIBUTARY_${settingName.replaceAll('.', '_').replaceAll('-', '_').toUpperCase()}`;
}

/** Every variable that sets this setting: the older names first, then `envNameOf(name)`. */
export function envNamesOf(definition: SettingDefinition): string[] {
  return [...(definition.envAliases ?? []), envNameOf(definition.name)];
}

const integerBits: Readonly<Record<string, bigint>> = { short: 16n, int: 32n, long: 64n };

/** What a value of this setting must look like, for error messages and --help. */
export function expectedOf(definition: SettingDefinition): string {
  const bits = integerBits[definition.type];
  if (bits !== undefined) {
    const range = [
      definition.min === undefined ? '' : ` >= ${definition.min}`,
      definition.max === undefined ? '' : ` <= ${definition.max}`,
    ].join('');
    return `${definition.type} (${bits}-bit integer${range})`;
  }
  if (definition.type === 'boolean') return 'boolean (true or false)';
  if (definition.validValues !== undefined) {
    const what = definition.type === 'list' ? 'comma-separated list of' : 'one of';
    return `${what} ${definition.validValues.join(', ')}`;
  }
  return definition.type;
}

export type CheckedValue = { readonly value: string } | { readonly problem: string };

/** Validates `text` for `definition`; the value in Kafka's normal form, or what is wrong. */
export function checkSettingValue(definition: SettingDefinition, text: string): CheckedValue {
  const trimmed = text.trim();
  const bits = integerBits[definition.type];
  if (bits !== undefined) {
    if (!/^[+-]?\d+$/.test(trimmed)) return { problem: `not a number of type ${definition.type}` };
    const value = BigInt(trimmed);
    const limit = 2n ** (bits - 1n);
    if (value < -limit || value >= limit) {
      return { problem: `out of range for type ${definition.type}` };
    }
    if (definition.min !== undefined && value < definition.min) {
      return { problem: `value must be at least ${definition.min}` };
    }
    if (definition.max !== undefined && value > definition.max) {
      return { problem: `value must be no more than ${definition.max}` };
    }
    return { value: String(value) };
  }
  if (definition.type === 'boolean') {
    const lower = trimmed.toLowerCase();
    return lower === 'true' || lower === 'false' ? { value: lower } : { problem: 'not a boolean' };
  }
  const items =
    definition.type === 'list'
      ? trimmed
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== '')
      : [trimmed];
  const allowed = definition.validValues;
  const bad = allowed === undefined ? undefined : items.find((item) => !allowed.includes(item));
  if (bad !== undefined) return { problem: `'${bad}' is not allowed` };
  if (definition.type === 'list' && allowed !== undefined && items.length === 0) {
    return { problem: 'empty list' };
  }
  const problem = definition.check?.(trimmed);
  if (problem !== undefined) return { problem };
  return { value: definition.type === 'list' ? items.join(',') : trimmed };
}
