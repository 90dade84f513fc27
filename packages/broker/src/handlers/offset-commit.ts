/**
 * OffsetCommit (key 8), v0-9. The v2-4 retention time is accepted and ignored (offsets are kept
 * until the group or the offset is deleted, or the group expires: groups/group-coordinator.ts,
 * offsets.retention.minutes); commit metadata is stored and returned by
 * OffsetFetch. Commits for unknown topics or partitions get UNKNOWN_TOPIC_OR_PARTITION.
 */
import { offsetCommitApi, type OffsetCommitResponseInit } from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { defineHandler } from '../handler.ts';

export const offsetCommitHandler = defineHandler(offsetCommitApi, async (context, request) => {
  const { storage } = context.runtime;
  const answer = await submitGroupCommand(context, (caller) => ({
    kind: 'offsetCommit',
    caller,
    request,
    partitionCount: (topic) => storage.getTopic(topic)?.partitionCount,
  }));
  if (typeof answer !== 'number') return answer as OffsetCommitResponseInit;
  return {
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map(({ partitionIndex }) => ({
        partitionIndex,
        errorCode: answer,
      })),
    })),
  };
});
