/**
 * OffsetFetch (key 9), v0-9: one group (v0-7) or a batch of groups (v8+). Null topics (v2+)
 * means every committed partition of the group. A partition without a commit answers offset -1.
 * require_stable (v7+) needs no waiting here: no transactional offset commits exist yet.
 */
import { ErrorCode, offsetFetchApi } from '@tributary/protocol';
import type { OffsetFetchAnswer } from '../groups/group-admin-commands.ts';
import { submitGroupCommand } from '../groups/group-request.ts';
import { defineHandler, type RequestContext } from '../handler.ts';
import { AclOperation, ResourceType } from '../security/acl-codes.ts';
import { authorizedNames, splitByTopicAuthorization } from '../security/request-authorization.ts';

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
  const allowedGroups = authorizedNames(
    context,
    AclOperation.DESCRIBE,
    ResourceType.GROUP,
    groups.map(({ groupId }) => groupId),
  );
  const asked = groups
    .filter(({ groupId }) => allowedGroups.has(groupId))
    .map((group) => ({ ...group, topics: allowedTopics(context, group.topics) }));
  const answer =
    asked.length === 0
      ? ErrorCode.GROUP_AUTHORIZATION_FAILED
      : await submitGroupCommand(context, (caller) => ({
          kind: 'offsetFetch',
          caller,
          groups: asked,
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
  const answered = new Map((answer as OffsetFetchAnswer).groups.map((g) => [g.groupId, g]));
  const result = groups.map((group) => {
    const found = answered.get(group.groupId);
    if (found === undefined) {
      return {
        groupId: group.groupId,
        topics: [],
        errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
      };
    }
    return { ...found, topics: withTopicDenials(context, group.topics, found.topics ?? []) };
  });
  if (batched) return { groups: result };
  return { topics: result[0]?.topics ?? [], errorCode: ErrorCode.NONE };
});

interface AskedTopic {
  readonly name: string;
  readonly partitionIndexes: readonly number[];
}

/** The requested topics the request may DESCRIBE (null: every topic, filtered afterwards). */
function allowedTopics<T extends AskedTopic>(
  context: RequestContext,
  topics: readonly T[] | null,
): T[] | null {
  if (topics === null) return null;
  return splitByTopicAuthorization(context, AclOperation.DESCRIBE, topics, (t) => t.name).allowed;
}

/**
 * The coordinator's topics, without those the request may not DESCRIBE (when it asked for
 * every topic), plus TOPIC_AUTHORIZATION_FAILED for each partition of a named topic it may not.
 */
function withTopicDenials<T extends { readonly name?: string | undefined }>(
  context: RequestContext,
  asked: readonly AskedTopic[] | null,
  answered: readonly T[],
) {
  if (asked === null) {
    const names = authorizedNames(
      context,
      AclOperation.DESCRIBE,
      ResourceType.TOPIC,
      answered.map((topic) => topic.name ?? ''),
    );
    return answered.filter((topic) => names.has(topic.name ?? ''));
  }
  const { denied } = splitByTopicAuthorization(
    context,
    AclOperation.DESCRIBE,
    asked,
    (topic) => topic.name,
  );
  const deniedTopics = denied.map((topic) => ({
    name: topic.name,
    partitions: topic.partitionIndexes.map((partitionIndex) => ({
      partitionIndex,
      committedOffset: -1n,
      committedLeaderEpoch: -1,
      metadata: '',
      errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    })),
  }));
  return [...answered, ...deniedTopics];
}
