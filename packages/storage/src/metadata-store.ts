/**
 * MetadataStore: the source of truth for what exists — cluster identity, topics, partition log
 * start offsets and objects with the offset ranges they hold. Every method is atomic and durable
 * when its promise resolves. Objects not listed here are garbage, whatever the object store holds.
 */
import type { SecurityMetadata } from './security-metadata.ts';
import type { TopicId, TopicRecord } from './types.ts';

export interface ClusterIdentity {
  clusterId: string;
  nodeId: number;
}

/** One partition's data inside an object: offsets baseOffset..lastOffset in byte range. */
export interface ObjectRange {
  topicId: TopicId;
  partition: number;
  baseOffset: bigint;
  lastOffset: bigint;
  /** First byte of the first batch of the range, and bytes up to the end of the last one. */
  position: number;
  sizeBytes: number;
  maxTimestamp: bigint;
}

export interface ObjectRecord {
  name: string;
  /** The WAL segment the object was sealed from (orders objects: lower ids hold older data). */
  segmentId: number;
  sizeBytes: number;
  ranges: ObjectRange[];
}

export interface PartitionRangeChange {
  object: ObjectRecord;
  topicId: TopicId;
  partition: number;
  replacedObjects: readonly string[];
}

export interface PartitionStart {
  topicId: TopicId;
  partition: number;
  logStartOffset: bigint;
}

/**
 * Dynamic broker settings of one scope, by Kafka config name: scope '' is the cluster-wide
 * default, any other scope is one broker's node id. Values are Kafka's text forms, validated by
 * the broker before they get here.
 */
export interface BrokerConfigScope {
  scope: string;
  configs: Record<string, string>;
}

/** ACL bindings and SCRAM credentials: SecurityMetadata's methods (security-metadata.ts). */
export interface MetadataStore extends SecurityMetadata {
  /** Stores `proposed` unless an identity exists; returns the stored identity. */
  initCluster(proposed: ClusterIdentity): Promise<ClusterIdentity>;
  /**
   * Reserves `count` consecutive producer ids that were never returned before, durably (a
   * restart never hands them out again); returns the first. Ids start at 0.
   */
  allocateProducerIds(count: number): Promise<bigint>;
  listTopics(): Promise<TopicRecord[]>;
  /** Creates the topic and its partitions (log start 0). TOPIC_EXISTS if the name exists. */
  createTopic(topic: TopicRecord): Promise<void>;
  /** Replaces configs and partition count (adding partitions at log start 0). UNKNOWN_TOPIC. */
  updateTopic(topic: TopicRecord): Promise<void>;
  /** Removes the topic and its partitions. UNKNOWN_TOPIC if absent. */
  deleteTopic(name: string): Promise<void>;
  listLogStartOffsets(): Promise<PartitionStart[]>;
  /** Raises a partition's log start offset (never lowers it). */
  setLogStartOffset(topicId: TopicId, partition: number, offset: bigint): Promise<void>;
  /** Records an object and its ranges in one transaction. Fails if the name exists. */
  addObject(object: ObjectRecord): Promise<void>;
  /**
   * Compaction commit: records `change.object` and removes the ranges of one partition from
   * `change.replacedObjects`, in one transaction (their other partitions' ranges stay).
   */
  replacePartitionRanges(change: PartitionRangeChange): Promise<void>;
  /** All objects, by segment id ascending. */
  listObjects(): Promise<ObjectRecord[]>;
  deleteObject(name: string): Promise<void>;
  /** Every scope with at least one dynamic broker setting, by scope ascending. */
  listBrokerConfigs(): Promise<BrokerConfigScope[]>;
  /** Replaces the settings of one scope in one transaction; an empty map removes the scope. */
  setBrokerConfigs(scope: string, configs: Readonly<Record<string, string>>): Promise<void>;
  close(): Promise<void>;
}
