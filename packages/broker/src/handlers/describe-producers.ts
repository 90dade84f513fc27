/**
 * DescribeProducers (key 61), v0: per partition, the producers with idempotent or transactional
 * state, as Kafka's ReplicaManager.activeProducerState lists them. Built from the producer
 * numbers storage keeps with every durable batch (PartitionLog.entries), so it shows what a
 * restart would rebuild: batches still being appended are not in it yet. A marker batch (base
 * sequence -1) updates the epoch, last timestamp and coordinator epoch but not the sequence;
 * a new epoch resets the last sequence to -1. The open transaction's first offset comes from
 * the partition's transaction index. Producers are listed while their batches are retained:
 * unlike Kafka, this view does not drop those idle past producer.id.expiration.ms (the
 * produce path's sequence state does).
 */
import { ErrorCode, describeProducersApi } from '@tributary/protocol';
import type { PartitionLog } from '@tributary/storage';
import { lastSequenceOf } from '../producers/partition-producer-state.ts';
import { txnIndexOf } from '../transactions/partition-txn-index.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, topicResource } from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';

/** The coordinator epoch markers carry: this single broker's coordinator is always epoch 0. */
const markerCoordinatorEpoch = 0;

interface ActiveProducer {
  producerId: bigint;
  producerEpoch: number;
  lastSequence: number;
  lastTimestamp: bigint;
  coordinatorEpoch: number;
  currentTxnStartOffset: bigint;
}

export const describeProducersHandler = defineHandler(
  describeProducersApi,
  async (context, request) => {
    const { storage } = context.runtime;
    const topics = await Promise.all(
      request.topics.map(async (wanted) => {
        const topic = storage.getTopic(wanted.name);
        const readable = authorized(context, AclOperation.READ, topicResource(wanted.name));
        const partitions = await Promise.all(
          wanted.partitionIndexes.map(async (partitionIndex) => {
            if (!readable) {
              return { partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
            }
            const log =
              topic === undefined ? undefined : storage.partition(topic.topicId, partitionIndex);
            if (log === undefined) {
              return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
            }
            return {
              partitionIndex,
              errorCode: ErrorCode.NONE,
              activeProducers: await activeProducers(log),
            };
          }),
        );
        return { name: wanted.name, partitions };
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
);

async function activeProducers(log: PartitionLog): Promise<ActiveProducer[]> {
  const producers = new Map<bigint, ActiveProducer>();
  for (const entry of log.entries()) {
    if (entry.producerId < 0n) continue;
    let producer = producers.get(entry.producerId);
    if (producer === undefined || entry.producerEpoch !== producer.producerEpoch) {
      producer = {
        producerId: entry.producerId,
        producerEpoch: entry.producerEpoch,
        lastSequence: -1,
        lastTimestamp: -1n,
        coordinatorEpoch: producer?.coordinatorEpoch ?? -1,
        currentTxnStartOffset: -1n,
      };
      producers.set(entry.producerId, producer);
    }
    producer.lastTimestamp = entry.maxTimestamp;
    if (entry.baseSequence < 0) {
      producer.coordinatorEpoch = markerCoordinatorEpoch;
    } else {
      const lastOffsetDelta = Number(entry.lastOffset - entry.baseOffset);
      producer.lastSequence = lastSequenceOf(entry.baseSequence, lastOffsetDelta);
    }
  }
  if (producers.size === 0) return [];
  const open = (await txnIndexOf(log)).openTransactions;
  for (const producer of producers.values()) {
    producer.currentTxnStartOffset = open.get(producer.producerId) ?? -1n;
  }
  return [...producers.values()];
}
