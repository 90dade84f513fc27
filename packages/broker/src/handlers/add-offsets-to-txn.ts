/**
 * AddOffsetsToTxn (key 25), v0-4: adds a consumer group to the transaction, so that its
 * TxnOffsetCommit offsets are applied if the transaction commits. Kafka adds the group's
 * `__consumer_offsets` partition and writes a marker there; here the offsets are held in the
 * transaction's own state record and applied through the group runtime on commit.
 */
import { ErrorCode, addOffsetsToTxnApi } from '@tributary/protocol';
import { AclOperation } from '../security/acl-codes.ts';
import {
  authorized,
  groupResource,
  transactionalIdResource,
} from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';
import {
  submitTransactionCommand,
  versionedError,
} from '../transactions/submit-transaction-command.ts';

export const addOffsetsToTxnHandler = defineHandler(
  addOffsetsToTxnApi,
  async (context, request) => {
    const refusal = !authorized(
      context,
      AclOperation.WRITE,
      transactionalIdResource(request.transactionalId),
    )
      ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
      : !authorized(context, AclOperation.READ, groupResource(request.groupId))
        ? ErrorCode.GROUP_AUTHORIZATION_FAILED
        : undefined;
    if (refusal !== undefined) return { throttleTimeMs: 0, errorCode: refusal };
    const result = await submitTransactionCommand(context, {
      kind: 'addOffsets',
      transactionalId: request.transactionalId,
      producerId: request.producerId,
      producerEpoch: request.producerEpoch,
      groupId: request.groupId,
    });
    const errorCode = typeof result === 'number' ? result : result.errorCode;
    return { throttleTimeMs: 0, errorCode: versionedError(errorCode, context.apiVersion, 2) };
  },
);
