/**
 * EndTxn (key 26), v0-5: commits or aborts the transaction. Answered once the COMMIT/ABORT
 * markers are durable in every partition of the transaction and its group offsets are applied
 * (Kafka answers after the Prepare record and completes in the background; answering later
 * spares clients the CONCURRENT_TRANSACTIONS retries of their next AddPartitionsToTxn). A retry
 * while the same outcome is completing waits for it.
 *
 * v5 (KIP-890 part 2, transaction version 2) bumps the producer epoch at every EndTxn and
 * answers with the producer id and epoch the client goes on with: the same id with the next
 * epoch, or a fresh id at epoch 0 once the epoch is exhausted (that id is allocated here, before
 * the coordinator needs it). Earlier versions answer -1/-1 as Kafka does.
 */
import { ErrorCode, endTxnApi } from '@tributary/protocol';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, transactionalIdResource } from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';
import {
  submitTransactionCommand,
  versionedError,
} from '../transactions/submit-transaction-command.ts';

const bumpingVersion = 5;

export const endTxnHandler = defineHandler(endTxnApi, async (context, request) => {
  const transactionVersion = context.apiVersion >= bumpingVersion ? 2 : 0;
  const { runtime } = context;
  const resource = transactionalIdResource(request.transactionalId);
  if (!authorized(context, AclOperation.WRITE, resource)) {
    return answer(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1n, -1);
  }
  let freshProducerId = -1n;
  if (
    transactionVersion === 2 &&
    runtime.transactions.coordinator.endNeedsFreshProducerId(request.transactionalId)
  ) {
    try {
      freshProducerId = await runtime.storage.allocateProducerId();
    } catch (error: unknown) {
      return answer(toKafkaError(error).errorCode, -1n, -1);
    }
  }
  const result = await submitTransactionCommand(context, {
    kind: 'endTxn',
    transactionalId: request.transactionalId,
    producerId: request.producerId,
    producerEpoch: request.producerEpoch,
    committed: request.committed,
    transactionVersion,
    freshProducerId,
  });
  if (typeof result === 'number') return answer(result, -1n, -1);
  const errorCode = versionedError(result.errorCode, context.apiVersion, 2);
  return transactionVersion === 2 && errorCode === ErrorCode.NONE
    ? answer(errorCode, result.producerId, result.producerEpoch)
    : answer(errorCode, -1n, -1);
});

function answer(errorCode: number, producerId: bigint, producerEpoch: number) {
  return { throttleTimeMs: 0, errorCode, producerId, producerEpoch };
}
