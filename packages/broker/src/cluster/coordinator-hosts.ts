/**
 * Coordinators in cluster mode (CLUSTER.md, invariant 6): the group coordinator runs on the
 * broker that leads `__consumer_offsets` partition 0, the transaction coordinator on the one that
 * leads `__transaction_state` partition 0. Gaining that lease starts a fresh runtime that
 * rebuilds its state by replaying the partition (the records the previous holder made durable);
 * losing it closes the runtime and puts a standby in its place, which answers NOT_COORDINATOR so
 * clients ask FindCoordinator again. Both internal topics are created at start (by whichever
 * broker gets there first), so their leases exist from the beginning.
 */
import type { BrokerStorage, ClusterView, TopicId } from '@tributary/storage';
import { StorageError } from '@tributary/storage';
import { ErrorCode, writeTxnMarkersApi } from '@tributary/protocol';
import {
  GroupRuntime,
  consumerOffsetsTopic,
  type GroupRuntimeOptions,
} from '../groups/group-runtime.ts';
import type { Logger } from '../logger.ts';
import {
  TransactionRuntime,
  transactionStateTopic,
  type RemoteMarkers,
  type TransactionRuntimeOptions,
} from '../transactions/transaction-runtime.ts';
import type { BrokerClients } from './broker-clients.ts';

export interface CoordinatorHosts {
  readonly groups: GroupRuntime;
  readonly transactions: TransactionRuntime;
  /** The node leading the coordinator's partition, or undefined while none does. */
  coordinatorNode(keyType: 'group' | 'transaction'): number | undefined;
  close(): Promise<void>;
}

type GroupOptions = Omit<GroupRuntimeOptions, 'standby'>;
type TransactionOptions = Omit<TransactionRuntimeOptions, 'standby' | 'groups' | 'remoteMarkers'>;

/** Creates the internal topics if no broker has yet (one partition each, compacted). */
export async function ensureInternalTopics(storage: BrokerStorage): Promise<void> {
  for (const name of [consumerOffsetsTopic, transactionStateTopic]) {
    if (storage.getTopic(name) !== undefined) continue;
    try {
      await storage.createTopic({
        name,
        partitionCount: 1,
        configs: { 'cleanup.policy': 'compact' },
      });
    } catch (error: unknown) {
      if (!(error instanceof StorageError) || error.code !== 'TOPIC_EXISTS') throw error;
    }
  }
}

export function hostCoordinators(
  storage: BrokerStorage,
  cluster: ClusterView,
  options: {
    groups: GroupOptions;
    transactions: TransactionOptions;
    log: Logger;
    clients: BrokerClients;
  },
): CoordinatorHosts {
  const remoteMarkers = markersThrough(storage, cluster, options.clients);
  let groups = new GroupRuntime({ ...options.groups, standby: true });
  // The transaction coordinator reaches the group coordinator through this broker's current one.
  const groupsNow = {
    submit: (...args: Parameters<GroupRuntime['submit']>) => groups.submit(...args),
  } as unknown as GroupRuntime;
  const newTransactions = (standby: boolean): TransactionRuntime =>
    new TransactionRuntime({ ...options.transactions, groups: groupsNow, standby, remoteMarkers });
  let transactions = newTransactions(true);
  const topicIdOf = (name: string): TopicId | undefined => storage.getTopic(name)?.topicId;
  const leadsInternal = (name: string): boolean => {
    const topicId = topicIdOf(name);
    return topicId !== undefined && cluster.leads(topicId, 0);
  };
  // The transaction coordinator needs the group coordinator beside it (TxnOffsetCommit), so it
  // runs only where both internal partitions are led.
  let transactionsActive = false;
  const unsubscribe = cluster.onLeadership((topicId, partition) => {
    if (partition !== 0) return;
    if (topicId === topicIdOf(consumerOffsetsTopic)) {
      const leading = leadsInternal(consumerOffsetsTopic);
      const previous = groups;
      groups = new GroupRuntime({ ...options.groups, standby: !leading });
      void previous.close();
      void groups.start();
      options.log.info(leading ? 'group coordinator: taking over' : 'group coordinator: moved');
    }
    const active = leadsInternal(consumerOffsetsTopic) && leadsInternal(transactionStateTopic);
    if (active === transactionsActive) return;
    transactionsActive = active;
    const previous = transactions;
    transactions = newTransactions(!active);
    void previous.close();
    void transactions.start();
    options.log.info(
      active ? 'transaction coordinator: taking over' : 'transaction coordinator: moved',
    );
  });
  return {
    get groups() {
      return groups;
    },
    get transactions() {
      return transactions;
    },
    coordinatorNode(keyType) {
      const leaderOf = (name: string): number | undefined => {
        const topicId = topicIdOf(name);
        return topicId === undefined ? undefined : cluster.leaderOf(topicId, 0)?.nodeId;
      };
      const groupNode = leaderOf(consumerOffsetsTopic);
      if (keyType === 'group') return groupNode;
      return leaderOf(transactionStateTopic) === groupNode ? groupNode : undefined;
    },
    async close() {
      unsubscribe();
      await transactions.close();
      await groups.close();
    },
  };
}

/** Markers for partitions led elsewhere go to their leader as WriteTxnMarkers v1. */
function markersThrough(
  storage: BrokerStorage,
  cluster: ClusterView,
  clients: BrokerClients,
): RemoteMarkers {
  return {
    remoteLeaderOf(topic, partition) {
      const record = storage.getTopic(topic);
      if (record === undefined) return undefined;
      const leader = cluster.leaderOf(record.topicId, partition);
      if (leader === undefined) throw new Error(`${topic}-${partition} has no leader yet`);
      return leader.nodeId === cluster.nodeId ? undefined : leader.nodeId;
    },
    async send(nodeId, marker, partitions) {
      const byTopic = new Map<string, number[]>();
      for (const { topic, partition } of partitions) {
        byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
      }
      const response = await clients.request(nodeId, writeTxnMarkersApi, 1, {
        markers: [
          {
            producerId: marker.producerId,
            producerEpoch: marker.producerEpoch,
            transactionResult: marker.result === 'commit',
            coordinatorEpoch: 0,
            topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
          },
        ],
      });
      const failed = response.markers.flatMap((result) =>
        result.topics.flatMap((topic) =>
          topic.partitions
            .filter((partition) => partition.errorCode !== ErrorCode.NONE)
            .map(
              (partition) => `${topic.name}-${partition.partitionIndex}: ${partition.errorCode}`,
            ),
        ),
      );
      if (failed.length > 0) {
        throw new Error(`broker ${nodeId} did not write markers: ${failed.join(', ')}`);
      }
    },
  };
}
