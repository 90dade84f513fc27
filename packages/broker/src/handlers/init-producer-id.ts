/**
 * InitProducerId (key 22), v0-5 (v6, KIP-939 two-phase commit, is unstable and not advertised).
 *
 * Idempotent producers (transactional id null) get a new producer id with epoch 0, as Kafka's
 * TransactionCoordinator does: ids come from a durable counter in the metadata store, so none is
 * handed out twice, also across restarts. A v3+ request naming its current id and epoch (KIP-360,
 * after an error) also gets a new id: for non-transactional producers Kafka does not bump the
 * epoch of the old id, it hands out a fresh one, and the client restarts its sequences at 0.
 *
 * Not yet: transactional ids (issue 4). They are answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
 * which every client treats as fatal at once (init_transactions fails with a clear error),
 * whereas COORDINATOR_NOT_AVAILABLE would be retried until the client's timeout. An empty
 * transactional id is INVALID_REQUEST, as in Kafka.
 */
import { ErrorCode, initProducerIdApi } from '@tributary/protocol';
import { defineHandler } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';

const noTransaction = { ongoingTxnProducerId: -1n, ongoingTxnProducerEpoch: -1 };

function refused(errorCode: number) {
  return { throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1, ...noTransaction };
}

export const initProducerIdHandler = defineHandler(initProducerIdApi, async (context, request) => {
  if (request.transactionalId === '') return refused(ErrorCode.INVALID_REQUEST);
  if (request.transactionalId !== null) {
    return refused(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  }
  try {
    const producerId = await context.runtime.storage.allocateProducerId();
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      producerId,
      producerEpoch: 0,
      ...noTransaction,
    };
  } catch (error: unknown) {
    return refused(toKafkaError(error).errorCode);
  }
});
