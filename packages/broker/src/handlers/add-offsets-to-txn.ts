/**
 * AddOffsetsToTxn (key 25), v0-4: adds a consumer group to the transaction, so that its
 * TxnOffsetCommit offsets are applied if the transaction commits. Kafka adds the group's
 * `__consumer_offsets` partition and writes a marker there; here the offsets are held in the
 * transaction's own state record and applied through the group runtime on commit.
 */
import { addOffsetsToTxnApi } from '@tributary/protocol';
import { defineHandler } from '../handler.ts';
import {
  submitTransactionCommand,
  versionedError,
} from '../transactions/submit-transaction-command.ts';

export const addOffsetsToTxnHandler = defineHandler(
  addOffsetsToTxnApi,
  async (context, request) => {
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
