/**
 * The admin requests behind `tributary transactions`, each one Kafka API at a fixed version over
 * a KafkaConnection: ListTransactions v1, DescribeTransactions v0 and DescribeProducers v0. Any
 * Kafka error code in a response becomes a KafkaAdminError carrying the error's name. With
 * a single broker, the one connected to is the coordinator and every partition's leader.
 */
import {
  describeProducersApi,
  describeTransactionsApi,
  listTransactionsApi,
  type DescribeProducersResponseProducerState,
  type DescribeTransactionsResponseTransactionState,
  type ListTransactionsResponseTransactionState,
} from '@tributary/protocol';
import { checkErrorCode } from './kafka-admin-error.ts';
import type { KafkaConnection } from './kafka-connection.ts';

export interface TransactionListFilters {
  readonly states: readonly string[];
  readonly producerIds: readonly bigint[];
  /** Only transactions running longer than this; negative for no filter. */
  readonly durationMs: bigint;
}

export type ListedTransaction = ListTransactionsResponseTransactionState;
export type DescribedTransaction = DescribeTransactionsResponseTransactionState;

export interface PartitionProducer extends DescribeProducersResponseProducerState {
  readonly topic: string;
  readonly partition: number;
}

export async function listTransactions(
  connection: KafkaConnection,
  filters: TransactionListFilters,
): Promise<ListedTransaction[]> {
  const response = await connection.request(listTransactionsApi, 1, {
    stateFilters: filters.states,
    producerIdFilters: filters.producerIds,
    durationFilter: filters.durationMs,
  });
  if (response.unknownStateFilters.length > 0) {
    throw new Error(`unknown transaction state ${response.unknownStateFilters.join(', ')}`);
  }
  checkErrorCode('ListTransactions', response.errorCode);
  return response.transactionStates.toSorted((a, b) =>
    a.transactionalId.localeCompare(b.transactionalId),
  );
}

export async function describeTransaction(
  connection: KafkaConnection,
  transactionalId: string,
): Promise<DescribedTransaction> {
  const response = await connection.request(describeTransactionsApi, 0, {
    transactionalIds: [transactionalId],
  });
  const described = response.transactionStates.find((t) => t.transactionalId === transactionalId);
  if (described === undefined) {
    throw new Error(`DescribeTransactions answered nothing for '${transactionalId}'`);
  }
  checkErrorCode(`DescribeTransactions '${transactionalId}'`, described.errorCode);
  return described;
}

/** The producers of the given partitions, in request order, whose id is `producerId`. */
export async function describeProducersOf(
  connection: KafkaConnection,
  topics: readonly { readonly topic: string; readonly partitions: readonly number[] }[],
  producerId: bigint,
): Promise<PartitionProducer[]> {
  if (topics.length === 0) return [];
  const response = await connection.request(describeProducersApi, 0, {
    topics: topics.map(({ topic, partitions }) => ({ name: topic, partitionIndexes: partitions })),
  });
  const found: PartitionProducer[] = [];
  for (const topic of response.topics) {
    for (const partition of topic.partitions) {
      checkErrorCode(
        `DescribeProducers ${topic.name}-${partition.partitionIndex}`,
        partition.errorCode,
      );
      for (const producer of partition.activeProducers) {
        if (producer.producerId !== producerId) continue;
        found.push({ ...producer, topic: topic.name, partition: partition.partitionIndex });
      }
    }
  }
  return found;
}
