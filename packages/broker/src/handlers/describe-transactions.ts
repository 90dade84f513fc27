/**
 * DescribeTransactions (key 65), v0: the coordinator's view of each transactional id, as
 * Kafka's TransactionCoordinator.handleDescribeTransactions answers it. An unknown id is
 * TRANSACTIONAL_ID_NOT_FOUND; while the coordinator loads, every id gets
 * COORDINATOR_LOAD_IN_PROGRESS. The topics list the partitions of the open (or completing)
 * transaction, grouped by topic in the order they were added.
 */
import { ErrorCode, describeTransactionsApi } from '@tributary/protocol';
import type { TopicPartition } from '../transactions/transaction-records.ts';
import { AclOperation } from '../security/acl-codes.ts';
import {
  authorized,
  topicResource,
  transactionalIdResource,
} from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';

export const describeTransactionsHandler = defineHandler(
  describeTransactionsApi,
  (context, request) => {
    const { transactions } = context.runtime;
    const transactionStates = request.transactionalIds.map((transactionalId) => {
      const resource = transactionalIdResource(transactionalId);
      if (!authorized(context, AclOperation.DESCRIBE, resource)) {
        return { transactionalId, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
      }
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
        // Kafka lists only the partitions of topics the principal may DESCRIBE.
        topics: groupByTopic(
          txn.partitions.filter(({ topic }) =>
            authorized(context, AclOperation.DESCRIBE, topicResource(topic), quietly),
          ),
        ),
      };
    });
    return { throttleTimeMs: 0, transactionStates };
  },
);

const quietly = { logIfDenied: false };

function groupByTopic(partitions: readonly TopicPartition[]) {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = byTopic.get(topic);
    if (list === undefined) byTopic.set(topic, [partition]);
    else list.push(partition);
  }
  return [...byTopic].map(([topic, indexes]) => ({ topic, partitions: indexes }));
}
