/**
 * How a transaction API handler reaches the coordinator: turns "cannot answer now" into the
 * Kafka error code the client should get (both retriable), and PRODUCER_FENCED into
 * INVALID_PRODUCER_EPOCH for request versions older than KIP-588's, as Kafka does.
 */
import { ErrorCode } from '@tributary/protocol';
import type { RequestContext } from '../handler.ts';
import type { TransactionCommand, TransactionResult } from './transaction-coordinator.ts';
import { TransactionUnavailableError } from './transaction-runtime.ts';

/** The coordinator's result, or the error code to answer with instead. */
export async function submitTransactionCommand(
  context: RequestContext,
  command: TransactionCommand,
): Promise<TransactionResult | number> {
  try {
    return await context.runtime.transactions.submit(command);
  } catch (error: unknown) {
    if (error instanceof TransactionUnavailableError) return error.errorCode;
    context.runtime.log.error('transaction request failed', { error: String(error) });
    return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }
}

/** PRODUCER_FENCED exists from `fencedFromVersion` on; older clients know INVALID_PRODUCER_EPOCH. */
export function versionedError(errorCode: number, version: number, fencedFromVersion: number) {
  if (errorCode === ErrorCode.PRODUCER_FENCED && version < fencedFromVersion) {
    return ErrorCode.INVALID_PRODUCER_EPOCH;
  }
  return errorCode;
}
