/**
 * DescribeTransactions (key 65), v0: the coordinator's view of each transactional id, as
 * Kafka's TransactionCoordinator.handleDescribeTransactions answers it. An unknown id is
 * TRANSACTIONAL_ID_NOT_FOUND; while the coordinator loads, every id gets
 * COORDINATOR_LOAD_IN_PROGRESS. The topics list the partitions of the open (or completing)
 * transaction, grouped by topic in the order they were added.
 */
import { ErrorCode, describeTransactionsApi } from '@tributary/protocol';
import type { TopicPartition } from '../transactions/transaction-records.ts';
import { defineHandler } from '../handler.ts';

export const describeTransactionsHandler = defineHandler(
  describeTransactionsApi,
  (context, request) => {
    const { transactions } = context.runtime;
    const transactionStates = request.transactionalIds.map((transactionalId) => {
      if (!transactions.loaded) {
        return { transactionalId, errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
      }
      const txn = transactions.coordinator.transactions.get(transactionalId);
      if (txn === undefined) {
        return { transactionalId, errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND };
      }
      return {
        transactionalId,
        errorCode: ErrorCode.NONE,
        transactionState: txn.state,
        transactionTimeoutMs: txn.timeoutMs,
        transactionStartTimeMs: BigInt(txn.txnStartTimestampMs),
        producerId: txn.producerId,
        producerEpoch: txn.producerEpoch,
        topics: groupByTopic(txn.partitions),
      };
    });
    return { throttleTimeMs: 0, transactionStates };
  },
);

function groupByTopic(partitions: readonly TopicPartition[]) {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = byTopic.get(topic);
    if (list === undefined) byTopic.set(topic, [partition]);
    else list.push(partition);
  }
  return [...byTopic].map(([topic, indexes]) => ({ topic, partitions: indexes }));
}
