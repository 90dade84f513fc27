/**
 * The operations every real-client driver offers, so one scenario runs unchanged against kcat,
 * confluent-kafka, kafka-python, kafkajs and @platformatic/kafka. Records carry raw bytes
 * (Buffer, or null for a null key/value) so tests can compare byte-exact.
 *
 * A driver whose client lacks an operation (kcat has no admin API) performs it with another
 * client and lists it in `delegated`, so a test can say which client really did the step.
 */
import type { CompressionType } from '@tributary/protocol';

export interface ClientHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

export interface ProduceRecord {
  readonly partition: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly ClientHeader[];
  /** CreateTime in ms since the epoch; the client picks "now" when absent. */
  readonly timestamp?: bigint;
}

export interface ConsumedRecord {
  readonly partition: number;
  readonly offset: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly ClientHeader[];
  readonly timestamp: bigint;
}

/** What a client can express; the scenario only generates records the client can send. */
export interface ClientCapabilities {
  /** Per-record timestamps on produce. */
  readonly timestamps: boolean;
  /** Headers may differ record by record (kcat sets them once per invocation). */
  readonly headersPerRecord: boolean;
  /** An empty key/value is sent as empty, not as null (kcat's -Z turns empty into null). */
  readonly emptyDistinctFromNull: boolean;
  /** Any byte may appear in keys and values (kcat's text I/O needs printable ASCII). */
  readonly binarySafe: boolean;
  /** Header values may be null. */
  readonly nullHeaderValues: boolean;
  /** A record may have both a null key and a null value (kafka-python refuses that). */
  readonly nullKeyWithNullValue: boolean;
}

/** A client that can express every record the scenario generates. */
export const fullCapabilities: ClientCapabilities = {
  timestamps: true,
  headersPerRecord: true,
  emptyDistinctFromNull: true,
  binarySafe: true,
  nullHeaderValues: true,
  nullKeyWithNullValue: true,
};

export interface ClientDriverOptions {
  readonly bootstrap: string;
  /** Bound for each operation. Default `defaultOperationTimeoutMs`. */
  readonly operationTimeoutMs?: number;
}

export const defaultOperationTimeoutMs = 60_000;

export type DriverOperation =
  | 'createTopic'
  | 'produce'
  | 'consumeAll'
  | 'listOffsetsByTimestamp'
  | 'describeConfigs'
  | 'alterConfigs'
  | 'deleteTopic'
  | 'listTopics';

export interface ProduceOptions {
  readonly compression: CompressionType;
}

export interface ClientDriver {
  /** Client name and version, for test titles and diagnostics. */
  readonly name: string;
  /** Codecs this client can produce with in this environment, 'none' included. */
  readonly compressions: readonly CompressionType[];
  readonly capabilities: ClientCapabilities;
  /** Operations done by another client, each with the reason. */
  readonly delegated: ReadonlyMap<DriverOperation, string>;
  createTopic(name: string, partitions: number): Promise<void>;
  /** Resolves once every record is acknowledged with acks=all. */
  produce(topic: string, records: readonly ProduceRecord[], options: ProduceOptions): Promise<void>;
  /**
   * Reads partitions 0..partitions-1 from the earliest offset in assign mode (no consumer
   * group) until `expectedCount` records arrived or the driver's timeout passed; it never
   * fails for too few records, so the caller can report what is missing.
   */
  consumeAll(topic: string, partitions: number, expectedCount: number): Promise<ConsumedRecord[]>;
  /** ListOffsets by timestamp: the first offset whose timestamp is >= `timestamp`, or null. */
  listOffsetsByTimestamp(
    topic: string,
    partition: number,
    timestamp: bigint,
  ): Promise<bigint | null>;
  describeConfigs(topic: string): Promise<Map<string, string | null>>;
  alterConfigs(topic: string, configs: ReadonlyMap<string, string>): Promise<void>;
  deleteTopic(name: string): Promise<void>;
  listTopics(): Promise<string[]>;
  close(): Promise<void>;
}

/** Every codec a Kafka client may use, in the order scenarios try them. */
export const allCompressions: readonly CompressionType[] = [
  'none',
  'gzip',
  'snappy',
  'lz4',
  'zstd',
];
