/**
 * AddPartitionsToTxn (key 24), v0-3: the client form (one transactional id per request). v4-5
 * (KIP-890's batched broker form with verify_only) are not advertised: advertising them would
 * make @platformatic/kafka send the broker form (docs/CLIENTS.md §3.3). They are served for
 * brokers (api-version-ranges.ts, interBrokerApiVersions): a partition leader in cluster mode
 * adds a partition of a transaction version 2 producer this way (transactions/implicit-add.ts),
 * or asks whether it is in the transaction (verify_only).
 *
 * Before answering, each partition's LSO index is built (transactions/partition-txn-index.ts),
 * so the produce that follows can record its transaction synchronously. Unknown topics or
 * partitions fail the whole request as Kafka does: those get UNKNOWN_TOPIC_OR_PARTITION and
 * the others OPERATION_NOT_ATTEMPTED.
 */
import {
  ErrorCode,
  addPartitionsToTxnApi,
  type AddPartitionsToTxnRequest,
} from '@tributary/protocol';
import { AclOperation, ResourceType } from '../security/acl-codes.ts';
import {
  authorized,
  authorizedNames,
  clusterResource,
  transactionalIdResource,
} from '../security/request-authorization.ts';
import { defineHandler, type RequestContext } from '../handler.ts';
import { txnIndexOf } from '../transactions/partition-txn-index.ts';
import {
  submitTransactionCommand,
  versionedError,
} from '../transactions/submit-transaction-command.ts';

export const addPartitionsToTxnHandler = defineHandler(
  addPartitionsToTxnApi,
  async (context, request) => {
    if (context.apiVersion >= 4) {
      // Kafka: v4+ is sent by brokers only, and needs CLUSTER_ACTION.
      if (!authorized(context, AclOperation.CLUSTER_ACTION, clusterResource)) {
        const errorCode = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
        return { throttleTimeMs: 0, errorCode, resultsByTransaction: [] };
      }
      return brokerForm(context, request);
    }
    const { storage } = context.runtime;
    const topics = request.v3AndBelowTopics;
    const logOf = (name: string, partition: number) => {
      const topic = storage.getTopic(name);
      return topic === undefined ? undefined : storage.partition(topic.topicId, partition);
    };
    const unknown = (name: string, partition: number): boolean =>
      logOf(name, partition) === undefined;
    const answer = (code: (name: string, partition: number) => number) => ({
      throttleTimeMs: 0,
      resultsByTopicV3AndBelow: topics.map((topic) => ({
        name: topic.name,
        resultsByPartition: topic.partitions.map((partitionIndex) => ({
          partitionIndex,
          partitionErrorCode: code(topic.name, partitionIndex),
        })),
      })),
    });
    const txnId = transactionalIdResource(request.v3AndBelowTransactionalId);
    if (!authorized(context, AclOperation.WRITE, txnId)) {
      return answer(() => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    }
    const names = topics.map((topic) => topic.name);
    const writable = authorizedNames(context, AclOperation.WRITE, ResourceType.TOPIC, names);
    const refusal = (name: string, p: number): number | undefined =>
      !writable.has(name)
        ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
        : unknown(name, p)
          ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          : undefined;
    if (topics.some((topic) => topic.partitions.some((p) => refusal(topic.name, p)))) {
      return answer((name, p) => refusal(name, p) ?? ErrorCode.OPERATION_NOT_ATTEMPTED);
    }
    const partitions = topics.flatMap((topic) =>
      topic.partitions.map((partition) => ({ topic: topic.name, partition })),
    );
    try {
      await Promise.all(
        partitions.map(({ topic, partition }) => {
          const log = logOf(topic, partition);
          return log === undefined ? undefined : txnIndexOf(log);
        }),
      );
    } catch {
      return answer(() => ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
    const result = await submitTransactionCommand(context, {
      kind: 'addPartitions',
      transactionalId: request.v3AndBelowTransactionalId,
      producerId: request.v3AndBelowProducerId,
      producerEpoch: request.v3AndBelowProducerEpoch,
      partitions,
    });
    const errorCode = typeof result === 'number' ? result : result.errorCode;
    return answer(() => versionedError(errorCode, context.apiVersion, 2));
  },
);

/** v4-5: each transaction added (transaction version 2) or verified, answered on its own. */
async function brokerForm(context: RequestContext, request: AddPartitionsToTxnRequest) {
  const resultsByTransaction = await Promise.all(
    request.transactions.map(async (txn) => {
      const partitions = txn.topics.flatMap((topic) =>
        topic.partitions.map((partition) => ({ topic: topic.name, partition })),
      );
      let codeOf: (topic: string, partition: number) => number;
      if (txn.verifyOnly) {
        const { coordinator } = context.runtime.transactions;
        codeOf = (topic, partition) =>
          coordinator.verifyPartition(txn.producerId, txn.producerEpoch, { topic, partition });
      } else {
        const result = await submitTransactionCommand(context, {
          kind: 'addPartitions',
          transactionalId: txn.transactionalId,
          producerId: txn.producerId,
          producerEpoch: txn.producerEpoch,
          partitions,
          transactionVersion: 2,
        });
        const errorCode = typeof result === 'number' ? result : result.errorCode;
        codeOf = () => errorCode;
      }
      return {
        transactionalId: txn.transactionalId,
        topicResults: txn.topics.map((topic) => ({
          name: topic.name,
          resultsByPartition: topic.partitions.map((partitionIndex) => ({
            partitionIndex,
            partitionErrorCode: codeOf(topic.name, partitionIndex),
          })),
        })),
      };
    }),
  );
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction };
}
