/**
 * What every request handler may reach: the storage, the settings and this broker's identity.
 * Handlers get it through their RequestContext; nothing in the broker holds global state.
 */
import type { LogStorage } from '@tributary/storage';
import type { BrokerConfig } from './broker-config.ts';
import type { GroupRuntime } from './groups/group-runtime.ts';
import type { Logger } from './logger.ts';
import type { TransactionRuntime } from './transactions/transaction-runtime.ts';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface BrokerRuntime {
  readonly storage: LogStorage;
  readonly config: BrokerConfig;
  readonly nodeId: number;
  readonly clusterId: string;
  /** The address clients are told to connect to (Metadata, DescribeCluster). */
  readonly advertised: Endpoint;
  readonly log: Logger;
  /** The classic consumer-group coordinator (FindCoordinator, JoinGroup, offsets ...). */
  readonly groups: GroupRuntime;
  /** The transaction coordinator (InitProducerId with a transactional id, EndTxn ...). */
  readonly transactions: TransactionRuntime;
  now(): number;
}
