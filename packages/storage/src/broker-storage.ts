/**
 * BrokerStorage: what the broker asks of storage, met by both modes — LogStorage (embedded: one
 * process, WAL and objects in the data directory, SQLite) and ClusterLogStorage (N brokers over
 * PostgreSQL and an S3-compatible bucket). `cluster` tells them apart: undefined when embedded,
 * else the leases, live brokers and racks the broker routes by.
 */
import type { ClusterView } from './cluster/cluster-log-storage.ts';
import type { LogStorage } from './log-storage.ts';

export type BrokerStorage = Pick<
  LogStorage,
  | 'clusterId'
  | 'nodeId'
  | 'allocateProducerId'
  | 'listAcls'
  | 'createAcls'
  | 'deleteAcls'
  | 'listScramCredentials'
  | 'alterScramCredentials'
  | 'listTopics'
  | 'getTopic'
  | 'getTopicById'
  | 'partition'
  | 'createTopic'
  | 'deleteTopic'
  | 'createPartitions'
  | 'alterTopicConfigs'
  | 'topicConfigDefaults'
  | 'setTopicConfigDefaults'
  | 'listBrokerConfigs'
  | 'setBrokerConfigs'
  | 'sealActiveSegment'
  | 'runRetention'
  | 'stats'
  | 'close'
> & {
  /** Cluster mode's view; undefined for the embedded storage. */
  readonly cluster: ClusterView | undefined;
};
