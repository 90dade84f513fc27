/**
 * OffsetDelete (key 47), v0: deletes committed offsets of a group. Partitions of a topic a live
 * consumer member subscribes to answer GROUP_SUBSCRIBED_TO_TOPIC; a non-empty group of another
 * protocol type answers NON_EMPTY_GROUP.
 */
import { ErrorCode, offsetDeleteApi, type OffsetDeleteResponseInit } from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { AclOperation } from '../security/acl-codes.ts';
import {
  authorized,
  groupResource,
  splitByTopicAuthorization,
} from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';

export const offsetDeleteHandler = defineHandler(offsetDeleteApi, async (context, request) => {
  if (!authorized(context, AclOperation.DELETE, groupResource(request.groupId))) {
    return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
  }
  const { allowed, denied } = splitByTopicAuthorization(
    context,
    AclOperation.READ,
    request.topics,
    (topic) => topic.name,
  );
  const deniedTopics = denied.map((topic) => ({
    name: topic.name,
    partitions: topic.partitions.map(({ partitionIndex }) => ({
      partitionIndex,
      errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    })),
  }));
  const answer = await submitGroupCommand(context, (caller) => ({
    kind: 'offsetDelete',
    caller,
    request: { ...request, topics: allowed },
  }));
  if (typeof answer === 'number') return { errorCode: answer, topics: deniedTopics };
  const response = answer as OffsetDeleteResponseInit;
  return { ...response, topics: [...(response.topics ?? []), ...deniedTopics] };
});
