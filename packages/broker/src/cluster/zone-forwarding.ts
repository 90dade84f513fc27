/**
 * Zone routing, the forwarding broker's side (CLUSTER.md, "the produce path"): a produce for a
 * partition led in another zone, taken here because the client is in this broker's zone, is
 * validated here as any produce, written into this broker's next WAL object (storeForeign), and
 * then handed to the leader as headers and locations only (ForwardAppend): the leader checks
 * sequences and transactions, assigns offsets and commits under its lease, and its answer goes
 * back to the client. What crosses zones is the 61-byte header of each batch, never its records.
 */
import { ErrorCode, type BatchHeader } from '@tributary/protocol';
import type { TopicRecord } from '@tributary/storage';
import type { RequestContext } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';
import { batchMetaOf, failure, type PartitionAnswer } from '../handlers/produce-answer.ts';
import {
  forwardAppendApi,
  forwardAppendVersion,
  type ForwardedBatch,
} from './forward-append-api.ts';

/** The record batch header: everything the leader needs to check and index a batch. */
const batchHeaderBytes = 61;

export interface ForwardInput {
  topic: TopicRecord;
  data: { index: number };
  batches: readonly Buffer[];
  headers: readonly BatchHeader[];
  transactionalId: string | null;
  appendTime: bigint | null;
  /** The partition's leader, in another zone. */
  leaderNode: number;
}

export async function forwardPartition(
  context: RequestContext,
  input: ForwardInput,
): Promise<PartitionAnswer> {
  const { runtime } = context;
  const cluster = runtime.storage.cluster;
  const clients = runtime.brokerClients;
  const { topic, data, batches, headers, appendTime } = input;
  if (cluster === undefined || clients === undefined) {
    return failure(data, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'not in cluster mode');
  }
  let stored: ForwardedBatch[];
  try {
    stored = await Promise.all(
      batches.map(async (batch, i) => {
        const header = batch.subarray(0, batchHeaderBytes).toString('base64');
        const meta = batchMetaOf(headers[i] as BatchHeader, appendTime);
        const location = await cluster.storeForeign(topic.topicId, data.index, batch, meta);
        return { header, ...location };
      }),
    );
  } catch (error: unknown) {
    const { errorCode, errorMessage } = toKafkaError(error);
    return failure(data, errorCode, errorMessage);
  }
  const request = {
    topicId: topic.topicId,
    partition: data.index,
    transactionalId: input.transactionalId,
    produceVersion: context.apiVersion,
    appendTimeMs: String(appendTime ?? -1n),
    batches: stored,
  };
  runtime.zoneTraffic.forwarded(stored.length, JSON.stringify(request).length);
  try {
    const answer = await clients.request(
      input.leaderNode,
      forwardAppendApi,
      forwardAppendVersion,
      request,
    );
    if (answer.errorCode !== ErrorCode.NONE) {
      return failure(data, answer.errorCode, answer.errorMessage ?? undefined);
    }
    return {
      index: data.index,
      errorCode: ErrorCode.NONE,
      baseOffset: BigInt(answer.baseOffset),
      logAppendTimeMs: appendTime ?? -1n,
      logStartOffset: BigInt(answer.logStartOffset),
    };
  } catch (error: unknown) {
    // The leader did not answer: retriable; a retry of an idempotent batch is deduplicated there.
    const reason = error instanceof Error ? error.message : String(error);
    return failure(data, ErrorCode.NOT_LEADER_OR_FOLLOWER, `leader unreachable: ${reason}`);
  }
}
