/**
 * What every request handler may reach: the storage, the settings and this broker's identity.
 * Handlers get it through their RequestContext; nothing in the broker holds global state.
 */
import type { SchemaRegistry } from '@tributary/schema-registry';
import type { BrokerStorage } from '@tributary/storage';
import type { BrokerConfig } from './broker-config.ts';
import type { Endpoint } from './endpoint.ts';
import type { BrokerClients } from './cluster/broker-clients.ts';
import type { ZoneTraffic } from './cluster/zone-traffic.ts';
import type { BrokerSettings } from './config/broker-settings.ts';
import type { GroupRuntime } from './groups/group-runtime.ts';
import type { Logger } from './logger.ts';
import type { TransactionRuntime } from './transactions/transaction-runtime.ts';
import type { RecordValidationStats } from './record-validation.ts';
import type { RequestMetrics } from './metrics/request-metrics.ts';
import type { TopicTraffic } from './metrics/topic-traffic.ts';
import type { StorageMetrics } from './metrics/storage-metrics.ts';
import type { ClientQuotas } from './security/client-quotas.ts';
import type { TopicPolicy } from './security/topic-policy.ts';
import type { Authorizer } from './security/authorizer.ts';

export interface BrokerRuntime {
  readonly storage: BrokerStorage;
  /** The settings in force; `settings.config` (a new object after each dynamic change). */
  readonly config: BrokerConfig;
  /** Every setting by Kafka name with its source; dynamic broker configs change it. */
  readonly settings: BrokerSettings;
  readonly nodeId: number;
  readonly clusterId: string;
  /** The address clients are told to connect to (Metadata, DescribeCluster). */
  readonly advertised: Endpoint;
  readonly log: Logger;
  /** The classic consumer-group coordinator (FindCoordinator, JoinGroup, offsets ...). */
  readonly groups: GroupRuntime;
  /** The transaction coordinator (InitProducerId with a transactional id, EndTxn ...). */
  readonly transactions: TransactionRuntime;
  /** Cluster mode: connections to the other brokers; undefined when embedded. */
  readonly brokerClients: BrokerClients | undefined;
  /** Bytes that crossed zones (cluster mode; all 0 when embedded). */
  readonly zoneTraffic: ZoneTraffic;
  /**
   * The schema registry (schema.registry.listeners): look up a schema by id, decode a framed
   * record value against it. Undefined when the broker serves no registry.
   */
  readonly schemaRegistry?: SchemaRegistry | undefined;
  /** The topic creation policy (create.topic.policy.*); absent: no policy. */
  readonly topicPolicy?: TopicPolicy;
  /** Client quotas (AlterClientQuotas) and their rate meters; absent in some tests. */
  readonly clientQuotas?: ClientQuotas;
  /** WAL group commits and object uploads (/metrics); absent in some tests. */
  readonly storageMetrics?: StorageMetrics;
  /** Record bytes produced and fetched per topic (/metrics); absent in some tests. */
  readonly topicTraffic?: TopicTraffic;
  /** Per-API request counts, latencies and failures (/metrics); absent in some tests. */
  readonly requestMetrics?: RequestMetrics;
  /** Records found invalid at produce, per policy (record-validation.ts). */
  readonly recordValidation: RecordValidationStats;
  /** ACL decisions (authorizer.class.name); allows everything when no authorizer is set. */
  readonly authorizer: Authorizer;
  /** The node that coordinates groups or transactions now (this one when embedded). */
  coordinatorNode(keyType: 'group' | 'transaction'): number | undefined;
  now(): number;
}
