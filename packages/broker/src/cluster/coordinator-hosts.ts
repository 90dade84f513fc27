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
import {
  GroupRuntime,
  consumerOffsetsTopic,
  type GroupRuntimeOptions,
} from '../groups/group-runtime.ts';
import type { Logger } from '../logger.ts';
import {
  TransactionRuntime,
  transactionStateTopic,
  type TransactionRuntimeOptions,
} from '../transactions/transaction-runtime.ts';

export interface CoordinatorHosts {
  readonly groups: GroupRuntime;
  readonly transactions: TransactionRuntime;
  /** The node leading the coordinator's partition, or undefined while none does. */
  coordinatorNode(keyType: 'group' | 'transaction'): number | undefined;
  close(): Promise<void>;
}

type GroupOptions = Omit<GroupRuntimeOptions, 'standby'>;
type TransactionOptions = Omit<TransactionRuntimeOptions, 'standby' | 'groups'>;

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
  options: { groups: GroupOptions; transactions: TransactionOptions; log: Logger },
): CoordinatorHosts {
  let groups = new GroupRuntime({ ...options.groups, standby: true });
  // The transaction coordinator reaches the group coordinator through this broker's current one.
  const groupsNow = {
    submit: (...args: Parameters<GroupRuntime['submit']>) => groups.submit(...args),
  } as unknown as GroupRuntime;
  const newTransactions = (standby: boolean): TransactionRuntime =>
    new TransactionRuntime({ ...options.transactions, groups: groupsNow, standby });
  let transactions = newTransactions(true);
  const topicIdOf = (name: string): TopicId | undefined => storage.getTopic(name)?.topicId;
  const unsubscribe = cluster.onLeadership((topicId, partition, leading) => {
    if (partition !== 0) return;
    if (topicId === topicIdOf(consumerOffsetsTopic)) {
      const previous = groups;
      groups = new GroupRuntime({ ...options.groups, standby: !leading });
      void previous.close();
      void groups.start();
      options.log.info(leading ? 'group coordinator: taking over' : 'group coordinator: moved');
    } else if (topicId === topicIdOf(transactionStateTopic)) {
      const previous = transactions;
      transactions = newTransactions(!leading);
      void previous.close();
      void transactions.start();
      options.log.info(
        leading ? 'transaction coordinator: taking over' : 'transaction coordinator: moved',
      );
    }
  });
  return {
    get groups() {
      return groups;
    },
    get transactions() {
      return transactions;
    },
    coordinatorNode(keyType) {
      const name = keyType === 'group' ? consumerOffsetsTopic : transactionStateTopic;
      const topicId = topicIdOf(name);
      return topicId === undefined ? undefined : cluster.leaderOf(topicId, 0)?.nodeId;
    },
    async close() {
      unsubscribe();
      await transactions.close();
      await groups.close();
    },
  };
}
