/**
 * TxnOffsetCommit (key 28), v0-4: offsets a transactional producer commits for a consumer group
 * (sendOffsetsToTransaction). They are held in the transaction's state and applied to the group
 * only if the transaction commits. Not checked (yet): the v3+ group generation and member id
 * (KIP-447 zombie fencing through the group); the transaction's producer epoch fences instead.
 * Unknown topics or partitions get UNKNOWN_TOPIC_OR_PARTITION and are not held.
 */
import { ErrorCode, txnOffsetCommitApi } from '@tributary/protocol';
import { defineHandler } from '../handler.ts';
import {
  submitTransactionCommand,
  versionedError,
} from '../transactions/submit-transaction-command.ts';

export const txnOffsetCommitHandler = defineHandler(
  txnOffsetCommitApi,
  async (context, request) => {
    const { storage } = context.runtime;
    const known = (name: string, partition: number): boolean => {
      const count = storage.getTopic(name)?.partitionCount;
      return count !== undefined && partition >= 0 && partition < count;
    };
    const offsets = request.topics.flatMap((topic) =>
      topic.partitions
        .filter((p) => known(topic.name, p.partitionIndex))
        .map((p) => ({
          topic: topic.name,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch,
          metadata: p.committedMetadata,
        })),
    );
    const result = await submitTransactionCommand(context, {
      kind: 'txnOffsetCommit',
      transactionalId: request.transactionalId,
      producerId: request.producerId,
      producerEpoch: request.producerEpoch,
      groupId: request.groupId,
      offsets,
    });
    const errorCode = versionedError(
      typeof result === 'number' ? result : result.errorCode,
      context.apiVersion,
      2,
    );
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map(({ partitionIndex }) => ({
          partitionIndex,
          errorCode: known(topic.name, partitionIndex)
            ? errorCode
            : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        })),
      })),
    };
  },
);
