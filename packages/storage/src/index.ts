/**
 * @tributary/storage public API: LogStorage and PartitionLog for the broker; the three storage
 * interfaces (WriteAheadLog, ObjectStore, MetadataStore) with their file and memory
 * implementations; topic config definitions. Knows no Kafka wire types.
 */
export {
  LogStorage,
  type StorageLog,
  type StorageObserver,
  type StorageOptions,
  type StorageStats,
} from './log-storage.ts';
export {
  doctorDataDir,
  type DamagedRange,
  type DoctorOptions,
  type DoctorProgress,
  type DoctorReport,
} from './data-dir-doctor.ts';
export type { BrokerStorage } from './broker-storage.ts';
export {
  ClusterLogStorage,
  type ClusterStorageOptions,
  type ClusterView,
} from './cluster/cluster-log-storage.ts';
export type { BrokerRegistration } from './cluster/cluster-catalog.ts';
export type { StoredBatchLocation } from './types.ts';
export type { PartitionLog, BatchEntry } from './partition-log.ts';
// The batch index and its budget (ADR 0017), for the index-memory benchmark's own measure.
export { IndexedPartitionLog } from './partition-log.ts';
export { TailCache } from './tail-cache.ts';
export { IndexMemory, type IndexMemoryStats } from './index-memory.ts';
export { StorageError, type StorageErrorCode } from './storage-error.ts';
export { releaseReadBuffers } from './read-buffer-pool.ts';
export {
  type TopicId,
  type BatchMeta,
  type ProducerFields,
  type TxnFields,
  type TopicRecord,
  type RecordCompactor,
  newTopicId,
} from './types.ts';
export {
  topicConfigDefinitions,
  validateTopicConfig,
  effectiveTopicConfig,
  hasCleanupPolicy,
  type TopicConfigDefinition,
  type TopicConfigType,
} from './topic-config.ts';
export type { WriteAheadLog, WalAppend, WalSegmentInfo } from './write-ahead-log.ts';
export type { WalEntryInfo } from './segment-format.ts';
export { SegmentedWriteAheadLog, type WalOptions } from './segmented-write-ahead-log.ts';
export { FileWriteAheadLog } from './file-write-ahead-log.ts';
export { MemoryWriteAheadLog } from './memory-write-ahead-log.ts';
export type { SegmentFiles, SegmentWriter } from './segment-files.ts';
export { DirectorySegmentFiles, type OpenFile } from './directory-segment-files.ts';
export { delayedOpen, walWriteDelayVariable } from './write-latency.ts';
export { MemorySegmentFiles } from './memory-segment-files.ts';
export type { ObjectStore, ObjectInfo } from './object-store.ts';
export { DirectoryObjectStore } from './directory-object-store.ts';
export { MemoryObjectStore } from './memory-object-store.ts';
export {
  S3ObjectStore,
  s3ObjectStoreDefaults,
  type S3ObjectStoreOptions,
} from './s3-object-store.ts';
export { parseObjectStoreUrl, type S3Location } from './object-store-url.ts';
export type {
  MetadataStore,
  BrokerConfigScope,
  ClusterIdentity,
  ObjectRecord,
  ObjectRange,
  PartitionRangeChange,
  PartitionStart,
} from './metadata-store.ts';
export {
  aclBindingKey,
  scramCredentialKey,
  type AclBinding,
  type ScramCredential,
  type ScramCredentialChange,
  type ScramCredentialKey,
  type SecurityMetadata,
} from './security-metadata.ts';
export { SqliteMetadataStore, metadataSchemaVersion } from './sqlite-metadata-store.ts';
export { MemoryMetadataStore } from './memory-metadata-store.ts';
export {
  PostgresMetadataStore,
  type PostgresMetadataStoreOptions,
} from './postgres-metadata-store.ts';
export type {
  AppendNotice,
  CatalogListener,
  ClusterCatalog,
  CollectedObject,
  CommitOutcome,
  CommittedBatch,
  CompactionCommit,
  CompactionNotice,
  CompactionOutcome,
  EpochHistory,
  EpochStart,
  ListedObject,
  ListedObjectsOutcome,
  PartitionAppend,
  PartitionLease,
  WindowCommit,
} from './cluster/cluster-catalog.ts';
export { PostgresClusterCatalog } from './cluster/postgres-cluster-catalog.ts';
export {
  ClusterCompactor,
  clusterCompactorDefaults,
  type ClusterCompactorSettings,
  type CompactionStats,
} from './cluster/cluster-compactor.ts';
export {
  ObjectCollector,
  objectCollectorDefaults,
  type ObjectCollectionStats,
  type ObjectCollectorSettings,
} from './cluster/object-collector.ts';
