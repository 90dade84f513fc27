/**
 * ListTransactions (key 66), v0-1, with the state, producer id and (v1) duration filters, as
 * Kafka's TransactionStateManager.listTransactionStates applies them. State names are Kafka's;
 * a filter naming no Kafka state is echoed in unknownStateFilters and, as in Kafka, does not
 * narrow the list by itself. One deliberate difference: the duration filter only matches
 * transactions that have a start time (Kafka measures from -1 for idle ids and so lists them
 * as long-running).
 */
import { ErrorCode, listTransactionsApi } from '@tributary/protocol';
import type { TransactionMetadata } from '../transactions/transaction-records.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, transactionalIdResource } from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';

/** Every state name Kafka's coordinator knows (Dead and PrepareEpochFence never occur here). */
export const kafkaTransactionStates: readonly string[] = [
  'Empty',
  'Ongoing',
  'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit',
  'CompleteAbort',
  'Dead',
  'PrepareEpochFence',
];

interface Filters {
  readonly states: ReadonlySet<string>;
  readonly producerIds: ReadonlySet<bigint>;
  /** Negative: no duration filter. */
  readonly durationMs: bigint;
  readonly nowMs: bigint;
}

export const listTransactionsHandler = defineHandler(listTransactionsApi, (context, request) => {
  const { transactions } = context.runtime;
  const unknownStateFilters = request.stateFilters.filter(
    (state) => !kafkaTransactionStates.includes(state),
  );
  // A broker that coordinates nothing lists nothing, as Kafka's does: admin clients ask every
  // broker and merge the answers.
  if (transactions.standby) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      unknownStateFilters,
      transactionStates: [],
    };
  }
  if (!transactions.loaded) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
      unknownStateFilters,
      transactionStates: [],
    };
  }
  const filters: Filters = {
    states: new Set(request.stateFilters.filter((s) => kafkaTransactionStates.includes(s))),
    producerIds: new Set(request.producerIdFilters),
    durationMs: context.apiVersion >= 1 ? request.durationFilter : -1n,
    nowMs: BigInt(context.runtime.now()),
  };
  const transactionStates = [...transactions.coordinator.transactions.values()]
    .filter((txn) => matches(txn, filters))
    // Kafka lists only the transactional ids the principal may DESCRIBE.
    .filter((txn) =>
      authorized(context, AclOperation.DESCRIBE, transactionalIdResource(txn.transactionalId), {
        logIfDenied: false,
      }),
    )
    .map((txn) => ({
      transactionalId: txn.transactionalId,
      producerId: txn.producerId,
      transactionState: txn.state,
    }));
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, unknownStateFilters, transactionStates };
});

function matches(txn: TransactionMetadata, filters: Filters): boolean {
  if (filters.producerIds.size > 0 && !filters.producerIds.has(txn.producerId)) return false;
  if (filters.states.size > 0 && !filters.states.has(txn.state)) return false;
  if (filters.durationMs >= 0n) {
    if (txn.txnStartTimestampMs < 0) return false;
    return filters.nowMs - BigInt(txn.txnStartTimestampMs) > filters.durationMs;
  }
  return true;
}
