/**
 * OffsetCommit (key 8), v0-9. The v2-4 retention time is accepted and ignored (offsets are kept
 * until the group or the offset is deleted, or the group expires: groups/group-coordinator.ts,
 * offsets.retention.minutes); commit metadata is stored and returned by
 * OffsetFetch. Commits for unknown topics or partitions get UNKNOWN_TOPIC_OR_PARTITION.
 */
import { ErrorCode, offsetCommitApi, type OffsetCommitResponseInit } from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { AclOperation } from '../security/acl-codes.ts';
import {
  authorized,
  groupResource,
  splitByTopicAuthorization,
} from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';

export const offsetCommitHandler = defineHandler(offsetCommitApi, async (context, request) => {
  const { storage } = context.runtime;
  const failed = (topics: typeof request.topics, errorCode: number) =>
    topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map(({ partitionIndex }) => ({ partitionIndex, errorCode })),
    }));
  if (!authorized(context, AclOperation.READ, groupResource(request.groupId))) {
    return { topics: failed(request.topics, ErrorCode.GROUP_AUTHORIZATION_FAILED) };
  }
  const { allowed, denied } = splitByTopicAuthorization(
    context,
    AclOperation.READ,
    request.topics,
    (topic) => topic.name,
  );
  const deniedTopics = failed(denied, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  // Kafka answers without the coordinator when no topic is left.
  if (allowed.length === 0) return { topics: deniedTopics };
  const answer = await submitGroupCommand(context, (caller) => ({
    kind: 'offsetCommit',
    caller,
    request: { ...request, topics: allowed },
    partitionCount: (topic) => storage.getTopic(topic)?.partitionCount,
  }));
  if (typeof answer === 'number') return { topics: [...failed(allowed, answer), ...deniedTopics] };
  const response = answer as OffsetCommitResponseInit;
  return { ...response, topics: [...(response.topics ?? []), ...deniedTopics] };
});
