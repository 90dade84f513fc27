/**
 * OffsetFetch (key 9), v0-9: one group (v0-7) or a batch of groups (v8+). Null topics (v2+)
 * means every committed partition of the group. A partition without a commit answers offset -1.
 * require_stable (v7+) needs no waiting here: no transactional offset commits exist yet.
 */
import { ErrorCode, offsetFetchApi } from '@tributary/protocol';
import type { OffsetFetchAnswer } from '../groups/group-admin-commands.ts';
import { submitGroupCommand } from '../groups/group-request.ts';
import { defineHandler } from '../handler.ts';

export const offsetFetchHandler = defineHandler(offsetFetchApi, async (context, request) => {
  const batched = context.apiVersion >= 8;
  const groups = batched
    ? request.groups.map(({ groupId, memberId, memberEpoch, topics }) => ({
        groupId,
        memberId,
        memberEpoch,
        topics,
      }))
    : [{ groupId: request.groupId, topics: request.topics }];
  const answer = await submitGroupCommand(context, (caller) => ({
    kind: 'offsetFetch',
    caller,
    groups,
  }));
  if (typeof answer === 'number') {
    if (batched) {
      return { groups: groups.map(({ groupId }) => ({ groupId, topics: [], errorCode: answer })) };
    }
    // v0-1 carry no top-level error: put it on every partition asked for.
    const topics = (request.topics ?? []).map((topic) => ({
      name: topic.name,
      partitions: topic.partitionIndexes.map((partitionIndex) => ({
        partitionIndex,
        committedOffset: -1n,
        errorCode: answer,
      })),
    }));
    return { topics, errorCode: answer };
  }
  const result = (answer as OffsetFetchAnswer).groups;
  if (batched) return { groups: result };
  return { topics: result[0]?.topics ?? [], errorCode: ErrorCode.NONE };
});
