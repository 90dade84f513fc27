/**
 * KIP-890 part 2 (transaction version 2): a Produce v12 carrying transactional batches adds their
 * partition to the producer's transaction itself (starting the transaction if needed), where a
 * classic client sends AddPartitionsToTxn first. Kafka's partition leader asks the coordinator
 * the same way (AddPartitionsToTxn v5 without verify_only) before it appends.
 *
 * The add is persisted in `__transaction_state` before the batch is appended, so the partition is
 * in the transaction before any of its data can be. Order per partition is kept: while an add is
 * in flight for a partition, later produce requests to it wait behind it (`gateOf`), since the
 * handler's append order is the log order.
 *
 * Cluster mode, coordinator on another broker: the add goes there as AddPartitionsToTxn v5 (the
 * broker form, not verify-only), and this leader remembers which (producer id, epoch) it added
 * per partition; under transaction version 2 every transaction has its own epoch, so that pair
 * names one transaction.
 */
import { ErrorCode, addPartitionsToTxnApi, type BatchHeader } from '@tributary/protocol';
import type { PartitionLog } from '@tributary/storage';
import type { RequestContext } from '../handler.ts';
import { txnIndexOf } from './partition-txn-index.ts';
import { submitTransactionCommand } from './submit-transaction-command.ts';
import type { TopicPartition } from './transaction-records.ts';

/** The first Produce version whose transactional batches add their partition implicitly. */
export const implicitAddProduceVersion = 12;

const gates = new WeakMap<PartitionLog, Promise<unknown>>();
/** Cluster mode: `producerId:epoch` pairs added to a remote coordinator's transaction, per log. */
const addedRemotely = new WeakMap<PartitionLog, Set<string>>();
/** Bound on the pairs remembered per partition; past it the set starts over (an add repeats). */
const addedRemotelyMaxEntries = 10_000;

/** Where the transaction coordinator is: here, on another broker, or nowhere yet. */
export function coordinatorPlace(
  context: RequestContext,
): { kind: 'local' } | { kind: 'remote'; nodeId: number } | { kind: 'none' } {
  const { runtime } = context;
  const nodeId = runtime.coordinatorNode('transaction');
  if (nodeId === undefined) return { kind: 'none' };
  return nodeId === runtime.nodeId ? { kind: 'local' } : { kind: 'remote', nodeId };
}

/** Settles when the implicit adds in flight for this partition have; undefined if none are. */
export function gateOf(log: PartitionLog): Promise<unknown> | undefined {
  return gates.get(log);
}

/** The add a Produce v12 needs before its batches, if a transactional one is not covered yet. */
export function needingImplicitAdd(
  context: RequestContext,
  transactionalId: string,
  headers: readonly BatchHeader[],
  target: TopicPartition,
): ImplicitAdd | undefined {
  const { coordinator } = context.runtime.transactions;
  const remote = coordinatorPlace(context).kind !== 'local';
  const log = logOf(context, target);
  const added = log === undefined ? undefined : addedRemotely.get(log);
  const covered = (h: BatchHeader): boolean =>
    remote
      ? (added?.has(`${h.producerId}:${h.producerEpoch}`) ?? false)
      : coordinator.isInTransaction(h.producerId, h.producerEpoch, target);
  const header = headers.find((h) => h.isTransactional && !covered(h));
  return header === undefined ? undefined : { transactionalId, header, target };
}

function logOf(context: RequestContext, target: TopicPartition): PartitionLog | undefined {
  const { storage } = context.runtime;
  const topic = storage.getTopic(target.topic);
  return topic === undefined ? undefined : storage.partition(topic.topicId, target.partition);
}

/** One implicit add: the produce's transactional id, its first batch needing it, the partition. */
export interface ImplicitAdd {
  readonly transactionalId: string;
  readonly header: BatchHeader;
  readonly target: TopicPartition;
}

/**
 * Adds the partition to the transaction of the batch's producer, after every add already in
 * flight on the partition. Resolves to NONE or the error the produce answers with.
 */
export function addImplicitly(
  context: RequestContext,
  log: PartitionLog,
  wanted: ImplicitAdd,
): Promise<number> {
  const before = gates.get(log) ?? Promise.resolve();
  const added = before.then(() => add(context, log, wanted));
  const gate = added.catch(() => undefined);
  gates.set(log, gate);
  void gate.then(() => {
    if (gates.get(log) === gate) gates.delete(log);
  });
  return added;
}

async function add(context: RequestContext, log: PartitionLog, wanted: ImplicitAdd) {
  try {
    await txnIndexOf(log);
  } catch {
    return ErrorCode.NOT_ENOUGH_REPLICAS;
  }
  const place = coordinatorPlace(context);
  if (place.kind === 'none') return ErrorCode.NOT_ENOUGH_REPLICAS;
  if (place.kind === 'remote') return addRemotely(context, log, wanted, place.nodeId);
  const result = await submitTransactionCommand(context, {
    kind: 'addPartitions',
    transactionalId: wanted.transactionalId,
    producerId: wanted.header.producerId,
    producerEpoch: wanted.header.producerEpoch,
    partitions: [wanted.target],
    transactionVersion: 2,
  });
  return produceError(typeof result === 'number' ? result : result.errorCode);
}

/** AddPartitionsToTxn v5 to the coordinator's broker; remembers the pair once added. */
async function addRemotely(
  context: RequestContext,
  log: PartitionLog,
  wanted: ImplicitAdd,
  nodeId: number,
): Promise<number> {
  const clients = context.runtime.brokerClients;
  if (clients === undefined) return ErrorCode.NOT_ENOUGH_REPLICAS;
  const { header, target } = wanted;
  let errorCode: number;
  try {
    const response = await clients.request(nodeId, addPartitionsToTxnApi, 5, {
      transactions: [
        {
          transactionalId: wanted.transactionalId,
          producerId: header.producerId,
          producerEpoch: header.producerEpoch,
          verifyOnly: false,
          topics: [{ name: target.topic, partitions: [target.partition] }],
        },
      ],
    });
    errorCode =
      response.errorCode !== ErrorCode.NONE
        ? response.errorCode
        : (response.resultsByTransaction[0]?.topicResults[0]?.resultsByPartition[0]
            ?.partitionErrorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR);
  } catch {
    return ErrorCode.NOT_ENOUGH_REPLICAS;
  }
  if (errorCode === ErrorCode.NONE) {
    let added = addedRemotely.get(log);
    if (added === undefined || added.size >= addedRemotelyMaxEntries) {
      addedRemotely.set(log, (added = new Set()));
    }
    added.add(`${header.producerId}:${header.producerEpoch}`);
  }
  return produceError(errorCode);
}

/**
 * The coordinator's answer as a Produce error, as Kafka maps it: a fenced producer is
 * INVALID_PRODUCER_EPOCH, and the retriable coordinator errors become NOT_ENOUGH_REPLICAS, which
 * every client retries without refreshing metadata.
 */
function produceError(errorCode: number): number {
  switch (errorCode) {
    case ErrorCode.PRODUCER_FENCED:
      return ErrorCode.INVALID_PRODUCER_EPOCH;
    case ErrorCode.CONCURRENT_TRANSACTIONS:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.NOT_COORDINATOR:
      return ErrorCode.NOT_ENOUGH_REPLICAS;
    default:
      return errorCode;
  }
}
