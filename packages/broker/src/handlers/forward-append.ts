/**
 * ForwardAppend (Tributary-only, broker to broker; cluster/forward-append-api.ts): the leader's
 * side of zone routing. Another broker stored these batches in its WAL object for a produce it
 * took in its zone; this leader checks them exactly as a produce of its own (epoch, producer
 * sequences, transactions, implicit add for v12+ producers) and commits each at its stored
 * location under its lease, assigning the offsets. Bad input from a broker is answered with
 * CORRUPT_MESSAGE or INVALID_REQUEST, never trusted.
 */
import { ErrorCode, readBatchHeader, type BatchHeader } from '@tributary/protocol';
import type { TopicId } from '@tributary/storage';
import { forwardAppendApi, type ForwardAppendResponse } from '../cluster/forward-append-api.ts';
import { leaderCheck, leadershipOf } from '../cluster/partition-routing.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, clusterResource } from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';
import { isInternalTopic } from '../internal-topics.ts';
import { appendChecked } from './produce.ts';
import { batchMetaOf, type PartitionAnswer } from './produce-answer.ts';

function answerOf(answer: PartitionAnswer): ForwardAppendResponse {
  return {
    errorCode: answer.errorCode,
    errorMessage: answer.errorMessage ?? null,
    baseOffset: String(answer.baseOffset ?? -1n),
    logStartOffset: String(answer.logStartOffset ?? -1n),
  };
}

function refusal(errorCode: number, errorMessage: string): ForwardAppendResponse {
  return { errorCode, errorMessage, baseOffset: '-1', logStartOffset: '-1' };
}

/** The request's batches as headers, or undefined when one is malformed. */
function headersOf(batches: readonly { header?: unknown }[]): BatchHeader[] | undefined {
  try {
    return batches.map((batch) => {
      if (typeof batch.header !== 'string') throw new Error('no header');
      return readBatchHeader(Buffer.from(batch.header, 'base64'));
    });
  } catch {
    return undefined;
  }
}

function isLocation(value: unknown): boolean {
  const candidate = value as Record<string, unknown>;
  return ['objectId', 'position', 'sizeBytes', 'entryVersion'].every((field) =>
    Number.isSafeInteger(candidate[field]),
  );
}

export const forwardAppendHandler = defineHandler(forwardAppendApi, (context, request) => {
  const { runtime } = context;
  const { storage } = runtime;
  const batches = Array.isArray(request.batches) ? request.batches : [];
  const topic = storage.getTopicById(request.topicId as TopicId);
  const partition = Number(request.partition);
  const log = topic === undefined ? undefined : storage.partition(topic.topicId, partition);
  // Sent by brokers only (zone forwarding): CLUSTER_ACTION, as Kafka asks of inter-broker APIs.
  if (!authorized(context, AclOperation.CLUSTER_ACTION, clusterResource)) {
    return refusal(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.');
  }
  if (topic === undefined || log === undefined) {
    return refusal(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'unknown topic or partition');
  }
  if (isInternalTopic(topic.name)) {
    return refusal(ErrorCode.INVALID_TOPIC_EXCEPTION, 'cannot append to an internal topic');
  }
  const notLeader = leaderCheck(runtime, topic.topicId, partition);
  if (notLeader !== undefined) return refusal(notLeader.errorCode, notLeader.message);
  const headers = headersOf(batches);
  if (
    headers === undefined ||
    headers.length === 0 ||
    !batches.every((batch) => isLocation(batch))
  ) {
    return refusal(ErrorCode.CORRUPT_MESSAGE, 'malformed forwarded batches');
  }
  // The stored bytes carry the epoch the forwarding broker saw; they cannot be restamped here,
  // so a batch stamped under another epoch is refused (the client retries with fresh metadata)
  // and every batch of the log agrees with the epoch history (OffsetForLeaderEpoch).
  const { leaderEpoch } = leadershipOf(runtime, topic.topicId, partition);
  const stale = headers.find((header) => header.partitionLeaderEpoch !== leaderEpoch);
  if (stale !== undefined) {
    return refusal(
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
      `forwarded under leader epoch ${stale.partitionLeaderEpoch}, the lease is at ${leaderEpoch}`,
    );
  }
  const appendTimeMs = BigInt(/^-?\d+$/.test(request.appendTimeMs) ? request.appendTimeMs : '-1');
  const appendTime = appendTimeMs >= 0n ? appendTimeMs : null;
  const answer = appendChecked(context, {
    log,
    target: { topic: topic.name, partition },
    data: { index: partition },
    headers,
    transactionalId: typeof request.transactionalId === 'string' ? request.transactionalId : null,
    produceVersion: Number(request.produceVersion),
    appendTime,
    appendOne: (i) => {
      const batch = batches[i];
      const header = headers[i] as BatchHeader;
      const headerBytes = Buffer.from(batch?.header ?? '', 'base64');
      return log.appendStored(headerBytes, batchMetaOf(header, appendTime), {
        objectId: batch?.objectId ?? -1,
        position: batch?.position ?? -1,
        sizeBytes: batch?.sizeBytes ?? -1,
        entryVersion: batch?.entryVersion ?? -1,
      });
    },
  });
  return answer.then(answerOf);
});
