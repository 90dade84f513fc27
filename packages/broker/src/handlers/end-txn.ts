/**
 * EndTxn (key 26), v0-4: commits or aborts the transaction. Answered once the COMMIT/ABORT
 * markers are durable in every partition of the transaction and its group offsets are applied
 * (Kafka answers after the Prepare record and completes in the background; answering later
 * spares clients the CONCURRENT_TRANSACTIONS retries of their next AddPartitionsToTxn). A retry
 * while the same outcome is completing waits for it. v5 (KIP-890 part 2, an epoch bump per
 * transaction) is not served.
 */
import { endTxnApi } from '@tributary/protocol';
import { defineHandler } from '../handler.ts';
import {
  submitTransactionCommand,
  versionedError,
} from '../transactions/submit-transaction-command.ts';

export const endTxnHandler = defineHandler(endTxnApi, async (context, request) => {
  const result = await submitTransactionCommand(context, {
    kind: 'endTxn',
    transactionalId: request.transactionalId,
    producerId: request.producerId,
    producerEpoch: request.producerEpoch,
    committed: request.committed,
  });
  const errorCode = typeof result === 'number' ? result : result.errorCode;
  return {
    throttleTimeMs: 0,
    errorCode: versionedError(errorCode, context.apiVersion, 2),
    producerId: -1n,
    producerEpoch: -1,
  };
});
