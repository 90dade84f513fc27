/**
 * TxnOffsetCommit (key 28), v0-5: offsets a transactional producer commits for a consumer group
 * (sendOffsetsToTransaction). They are held in the transaction's state and applied to the group
 * only if the transaction commits.
 *
 * v3+ carry the consumer's generation, member id and instance id (KIP-447): when present they
 * must name a current member at the group's generation, else ILLEGAL_GENERATION,
 * UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID, so a consumer that lost its partitions in a
 * rebalance cannot commit offsets for them. v5 (KIP-890 part 2) also adds the group to the
 * transaction, starting it if needed, in place of AddOffsetsToTxn. Unknown topics or partitions
 * get UNKNOWN_TOPIC_OR_PARTITION and are not held.
 */
import { ErrorCode, txnOffsetCommitApi, type TxnOffsetCommitRequest } from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { AclOperation, ResourceType } from '../security/acl-codes.ts';
import {
  authorized,
  authorizedNames,
  groupResource,
  transactionalIdResource,
} from '../security/request-authorization.ts';
import { defineHandler, type RequestContext } from '../handler.ts';
import {
  submitTransactionCommand,
  versionedError,
} from '../transactions/submit-transaction-command.ts';

const implicitAddVersion = 5;

export const txnOffsetCommitHandler = defineHandler(
  txnOffsetCommitApi,
  async (context, request) => {
    const { storage } = context.runtime;
    const known = (name: string, partition: number): boolean => {
      const count = storage.getTopic(name)?.partitionCount;
      return count !== undefined && partition >= 0 && partition < count;
    };
    // Kafka: READ on each topic (TOPIC_AUTHORIZATION_FAILED), checked before it is looked up.
    const readable = authorizedNames(
      context,
      AclOperation.READ,
      ResourceType.TOPIC,
      request.topics.map((topic) => topic.name),
    );
    const answer = (errorCode: number) => ({
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map(({ partitionIndex }) => ({
          partitionIndex,
          errorCode:
            errorCode === ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED ||
            errorCode === ErrorCode.GROUP_AUTHORIZATION_FAILED
              ? errorCode
              : !readable.has(topic.name)
                ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
                : known(topic.name, partitionIndex)
                  ? errorCode
                  : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        })),
      })),
    });
    const refusal = txnOffsetCommitRefusal(context, request);
    if (refusal !== undefined) return answer(refusal);
    const memberError = await consumerIdentityError(context, request);
    if (memberError !== ErrorCode.NONE) return answer(memberError);
    const offsets = request.topics.flatMap((topic) =>
      topic.partitions
        .filter((p) => known(topic.name, p.partitionIndex) && readable.has(topic.name))
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
      implicitAdd: context.apiVersion >= implicitAddVersion,
    });
    const errorCode = typeof result === 'number' ? result : result.errorCode;
    return answer(versionedError(errorCode, context.apiVersion, 2));
  },
);

/** Kafka: WRITE on the transactional id, then READ on the group, else the whole request fails. */
function txnOffsetCommitRefusal(
  context: RequestContext,
  request: TxnOffsetCommitRequest,
): number | undefined {
  const txnId = transactionalIdResource(request.transactionalId);
  if (!authorized(context, AclOperation.WRITE, txnId)) {
    return ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  }
  const group = groupResource(request.groupId);
  return authorized(context, AclOperation.READ, group)
    ? undefined
    : ErrorCode.GROUP_AUTHORIZATION_FAILED;
}

/** KIP-447: the group's verdict on the consumer identity the request carries. */
async function consumerIdentityError(
  context: RequestContext,
  request: TxnOffsetCommitRequest,
): Promise<number> {
  const { generationId, memberId, groupInstanceId } = request;
  const verdict = await submitGroupCommand(context, (caller) => ({
    kind: 'txnOffsetCheck',
    caller,
    groupId: request.groupId,
    generationId,
    memberId,
    groupInstanceId,
  }));
  if (typeof verdict === 'number') return verdict;
  return 'errorCode' in verdict && typeof verdict.errorCode === 'number'
    ? verdict.errorCode
    : ErrorCode.UNKNOWN_SERVER_ERROR;
}
