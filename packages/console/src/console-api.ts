/**
 * The JSON the console's HTTP API answers (the broker's console server writes it, the app reads
 * it). Offsets travel as numbers: a console shows them, and offsets beyond 2^53 do not occur in
 * practice; byte sizes likewise. Times are milliseconds since the epoch.
 */

export interface ConsoleOverview {
  readonly clusterId: string;
  readonly nodeId: number;
  readonly mode: 'embedded' | 'cluster';
  /** console.read.only: every action answers 403. */
  readonly readOnly: boolean;
  /** Whether the broker serves a schema registry (schema.registry.listeners). */
  readonly schemaRegistry: boolean;
  /** How often throughput and lag are sampled for the charts. */
  readonly sampleIntervalMs: number;
  /** console.login=scram: the API needs a session (POST /api/login). */
  readonly login: boolean;
  /** The logged-in user, null when none. */
  readonly user: string | null;
}

export interface LoginRequest {
  readonly user: string;
  readonly password: string;
}

export interface PartitionSummary {
  readonly partition: number;
  /** Undefined when this broker does not hold the partition (cluster mode: led elsewhere). */
  readonly logStartOffset?: number;
  readonly highWatermark?: number;
  readonly sizeBytes?: number;
  readonly leader?: number;
}

export interface TopicSummary {
  readonly name: string;
  readonly internal: boolean;
  readonly partitions: readonly PartitionSummary[];
  readonly records: number;
  readonly sizeBytes: number;
  readonly retentionMs: string;
  readonly retentionBytes: string;
  readonly cleanupPolicy: string;
  /** Explicit per-topic overrides. */
  readonly configs: Readonly<Record<string, string>>;
  /** `<topic>-value` when the registry has that subject. */
  readonly schemaSubject?: string;
  /** Records per second over the last samples, oldest first. */
  readonly throughput: readonly number[];
}

export interface RenderedBytes {
  /** UTF-8 text when the bytes are valid UTF-8, else base64; null for a null key/value. */
  readonly text: string | null;
  readonly encoding: 'utf8' | 'base64' | 'schema';
}

export interface BrowsedMessage {
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: RenderedBytes;
  readonly value: RenderedBytes;
  readonly headers: readonly { readonly key: string; readonly value: string | null }[];
  /** The registry schema id the value was decoded with. */
  readonly schemaId?: number;
  /** Why a framed value did not decode. */
  readonly decodeError?: string;
}

export interface BrowseResult {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly messages: readonly BrowsedMessage[];
}

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  readonly committedOffset: number;
  readonly endOffset: number;
  readonly lag: number;
  /** Age of the oldest unconsumed record in seconds; 0 when nothing is unconsumed. */
  readonly lagSeconds: number;
}

export interface GroupMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly assignment: readonly {
    readonly topic: string;
    readonly partitions: readonly number[];
  }[];
}

export interface LagSample {
  readonly atMs: number;
  readonly lag: number;
  readonly lagSeconds: number;
}

export interface GroupSummary {
  readonly groupId: string;
  readonly state: string;
  readonly protocolType: string;
  readonly protocol: string;
  readonly members: readonly GroupMember[];
  readonly offsets: readonly PartitionLag[];
  readonly totalLag: number;
  readonly maxLagSeconds: number;
  readonly lagHistory: readonly LagSample[];
}

export type ResetTarget = 'earliest' | 'latest' | 'offset' | 'timestamp';

export interface ResetOffsetsRequest {
  readonly topic: string;
  readonly to: ResetTarget;
  /** The offset (to: offset) or milliseconds since the epoch (to: timestamp). */
  readonly value?: number;
  readonly dryRun: boolean;
}

export interface ResetOffsetsResult {
  readonly groupId: string;
  readonly applied: boolean;
  readonly plan: readonly {
    readonly topic: string;
    readonly partition: number;
    readonly current: number | null;
    readonly target: number;
  }[];
}

export interface TransactionSummary {
  readonly transactionalId: string;
  readonly state: string;
  readonly producerId: string;
  readonly producerEpoch: number;
  readonly timeoutMs: number;
  readonly startTimeMs: number;
  readonly partitions: readonly {
    readonly topic: string;
    readonly partitions: readonly number[];
  }[];
}

export interface BrokerSummary {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
  /** Partitions this broker leads (cluster mode); all of them when embedded. */
  readonly leaderOf: number;
}

export interface BrokersView {
  readonly controllerId: number;
  readonly brokers: readonly BrokerSummary[];
  /** Cluster mode: the lease length brokers renew their partitions with. */
  readonly leaseMs?: number;
}

export interface AclEntry {
  readonly resourceType: string;
  readonly resourceName: string;
  readonly patternType: string;
  readonly principal: string;
  readonly host: string;
  readonly operation: string;
  readonly permission: string;
}

export interface SchemaVersionView {
  readonly version: number;
  readonly id: number;
  readonly schemaType: string;
  readonly schema: string;
}

export interface SubjectView {
  readonly subject: string;
  readonly versions: readonly SchemaVersionView[];
}

export interface CreateTopicRequest {
  readonly name: string;
  readonly partitions: number;
  readonly configs: Readonly<Record<string, string>>;
}

export interface DeleteRecordsRequest {
  readonly partition: number;
  /** Records below this offset are deleted (the new log start offset). */
  readonly beforeOffset: number;
}

export interface ActionResult {
  readonly ok: boolean;
  readonly message: string;
}

export interface ApiError {
  readonly error: string;
}
