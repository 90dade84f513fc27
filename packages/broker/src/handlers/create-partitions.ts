/**
 * CreatePartitions (key 37), v0-3. Raises a topic's partition count; a count that is not larger
 * is INVALID_PARTITIONS, as in Kafka; so is one past max.partitions.per.topic, and one that
 * takes the cluster past max.partitions is POLICY_VIOLATION (partition-limits.ts). Manual
 * assignments are accepted and ignored: every partition is served by this broker.
 */
import { ErrorCode, createPartitionsApi } from '@tributary/protocol';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, topicResource } from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';
import { partitionLimitRefusal } from '../partition-limits.ts';

export const createPartitionsHandler = defineHandler(
  createPartitionsApi,
  async (context, request) => {
    const { storage, log } = context.runtime;
    const results = [];
    for (const wanted of request.topics) {
      const topic = storage.getTopic(wanted.name);
      if (!authorized(context, AclOperation.ALTER, topicResource(wanted.name))) {
        const errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        results.push({ name: wanted.name, errorCode, errorMessage: null });
        continue;
      }
      if (topic === undefined) {
        results.push({
          name: wanted.name,
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: `topic '${wanted.name}' does not exist`,
        });
        continue;
      }
      if (wanted.count <= topic.partitionCount) {
        results.push({
          name: wanted.name,
          errorCode: ErrorCode.INVALID_PARTITIONS,
          errorMessage: `topic has ${topic.partitionCount} partitions; the new count must be larger`,
        });
        continue;
      }
      const overLimit =
        partitionLimitRefusal(context.runtime, wanted.count, topic.partitionCount) ??
        context.runtime.topicPolicy?.checkPartitions(wanted.name, wanted.count);
      if (overLimit !== undefined) {
        results.push({ name: wanted.name, ...overLimit });
        continue;
      }
      try {
        if (!request.validateOnly) {
          await storage.createPartitions(wanted.name, wanted.count);
          log.info('added partitions', { topic: wanted.name, partitions: wanted.count });
        }
        results.push({ name: wanted.name, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (error: unknown) {
        results.push({ name: wanted.name, ...toKafkaError(error) });
      }
    }
    return { throttleTimeMs: 0, results };
  },
);
