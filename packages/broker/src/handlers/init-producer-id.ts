/**
 * InitProducerId (key 22), v0-5 (v6, KIP-939 two-phase commit, is unstable and not advertised).
 *
 * Idempotent producers (transactional id null) get a new producer id with epoch 0, as Kafka's
 * TransactionCoordinator does: ids come from a durable counter in the metadata store, so none is
 * handed out twice, also across restarts. A v3+ request naming its current id and epoch (KIP-360,
 * after an error) also gets a new id: for non-transactional producers Kafka does not bump the
 * epoch of the old id, it hands out a fresh one, and the client restarts its sequences at 0.
 *
 * Transactional ids go to the transaction coordinator (transactions/): a new id gets a fresh
 * producer id with epoch 0, a known one the next epoch, which fences the previous session; a
 * transaction the previous session left open is aborted first and this request answered
 * CONCURRENT_TRANSACTIONS, so the client retries once the abort is complete. PRODUCER_FENCED is
 * INVALID_PRODUCER_EPOCH before v4 (KIP-588). An empty transactional id is INVALID_REQUEST, as in
 * Kafka.
 */
import { ErrorCode, initProducerIdApi } from '@tributary/protocol';
import { AclOperation, ResourceType } from '../security/acl-codes.ts';
import {
  authorized,
  authorizedForSomeResource,
  clusterResource,
  transactionalIdResource,
} from '../security/request-authorization.ts';
import { defineHandler, type RequestContext } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';
import {
  submitTransactionCommand,
  versionedError,
} from '../transactions/submit-transaction-command.ts';

const noTransaction = { ongoingTxnProducerId: -1n, ongoingTxnProducerEpoch: -1 };

function refused(errorCode: number) {
  return { throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1, ...noTransaction };
}

export const initProducerIdHandler = defineHandler(initProducerIdApi, async (context, request) => {
  if (request.transactionalId === '') return refused(ErrorCode.INVALID_REQUEST);
  const refusal = initProducerIdRefusal(context, request.transactionalId);
  if (refusal !== undefined) return refused(refusal);
  try {
    const producerId = await context.runtime.storage.allocateProducerId();
    if (request.transactionalId !== null) {
      const answer = await submitTransactionCommand(context, {
        kind: 'initProducerId',
        transactionalId: request.transactionalId,
        timeoutMs: request.transactionTimeoutMs,
        freshProducerId: producerId,
        producerId: request.producerId,
        producerEpoch: request.producerEpoch,
      });
      if (typeof answer === 'number') return refused(answer);
      if (answer.errorCode !== ErrorCode.NONE) {
        return refused(versionedError(answer.errorCode, context.apiVersion, 4));
      }
      const { producerId: id, producerEpoch } = answer;
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        producerId: id,
        producerEpoch,
        ...noTransaction,
      };
    }
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

/**
 * Kafka: WRITE on the transactional id; without one (idempotence), IDEMPOTENT_WRITE on the
 * cluster or WRITE on at least one topic (Kafka 3.0+).
 */
function initProducerIdRefusal(
  context: RequestContext,
  transactionalId: string | null,
): number | undefined {
  if (transactionalId !== null) {
    const allowed = authorized(
      context,
      AclOperation.WRITE,
      transactionalIdResource(transactionalId),
    );
    return allowed ? undefined : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  }
  const options = { logIfDenied: false };
  if (authorized(context, AclOperation.IDEMPOTENT_WRITE, clusterResource, options)) {
    return undefined;
  }
  const anyTopic = authorizedForSomeResource(context, AclOperation.WRITE, ResourceType.TOPIC);
  return anyTopic ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
}
