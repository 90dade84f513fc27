/**
 * DeleteRecords (key 21), v0-2: moves a partition's log start offset forward. Offset -1 means the
 * high watermark; an offset past it is OFFSET_OUT_OF_RANGE. Answers with the new low watermark once
 * the move is durable. Internal topics are refused (INVALID_TOPIC_EXCEPTION).
 */
import { ErrorCode, deleteRecordsApi } from '@tributary/protocol';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, topicResource } from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';
import { isInternalTopic } from '../internal-topics.ts';
import { toKafkaError } from '../kafka-errors.ts';

export const deleteRecordsHandler = defineHandler(deleteRecordsApi, async (context, request) => {
  const { storage } = context.runtime;
  const topics = await Promise.all(
    request.topics.map(async (wanted) => {
      const topic = storage.getTopic(wanted.name);
      const deletable = authorized(context, AclOperation.DELETE, topicResource(wanted.name));
      const partitions = await Promise.all(
        wanted.partitions.map(async ({ partitionIndex, offset }) => {
          if (!deletable) {
            const errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
            return { partitionIndex, lowWatermark: -1n, errorCode };
          }
          const log =
            topic === undefined ? undefined : storage.partition(topic.topicId, partitionIndex);
          if (log === undefined) {
            return {
              partitionIndex,
              lowWatermark: -1n,
              errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            };
          }
          if (isInternalTopic(wanted.name)) {
            return {
              partitionIndex,
              lowWatermark: -1n,
              errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
            };
          }
          const target = offset === -1n ? log.highWatermark : offset;
          if (target < 0n || target > log.highWatermark) {
            return { partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
          }
          try {
            const lowWatermark = await log.deleteRecordsBefore(target);
            return { partitionIndex, lowWatermark, errorCode: ErrorCode.NONE };
          } catch (error: unknown) {
            return { partitionIndex, lowWatermark: -1n, errorCode: toKafkaError(error).errorCode };
          }
        }),
      );
      return { name: wanted.name, partitions };
    }),
  );
  return { throttleTimeMs: 0, topics };
});
