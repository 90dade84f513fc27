/**
 * ConsumerGroupDescribe (key 69), v0-1: KIP-848 consumer groups with their epochs, assignor and
 * members (current and target assignments by topic id and name; MemberType 1 in v1). Unknown
 * and classic groups answer GROUP_ID_NOT_FOUND. A group the request may not DESCRIBE answers
 * GROUP_AUTHORIZATION_FAILED, one whose members' topics it may not DESCRIBE
 * TOPIC_AUTHORIZATION_FAILED, as Kafka; authorized operations are computed when asked.
 */
import type { TopicId } from '@tributary/storage';
import {
  ErrorCode,
  consumerGroupDescribeApi,
  type ConsumerGroupDescribeResponseInit,
  type ConsumerGroupDescribeResponseMemberInit,
} from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { AclOperation, ResourceType } from '../security/acl-codes.ts';
import {
  authorizedNames,
  authorizedOperations,
  groupOperations,
  groupResource,
} from '../security/request-authorization.ts';
import { defineHandler, type RequestContext } from '../handler.ts';

const operationsNotRequested = -2147483648;

export const consumerGroupDescribeHandler = defineHandler(
  consumerGroupDescribeApi,
  async (context, request) => {
    const { storage } = context.runtime;
    const { groupIds } = request;
    const allowed = authorizedNames(context, AclOperation.DESCRIBE, ResourceType.GROUP, groupIds);
    const denied = groupIds
      .filter((groupId) => !allowed.has(groupId))
      .map((groupId) => ({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }));
    if (allowed.size === 0) return { groups: denied };
    const answer = await submitGroupCommand(context, (caller) => ({
      kind: 'consumerDescribe',
      caller,
      groupIds: groupIds.filter((groupId) => allowed.has(groupId)),
      topicName: (topicId) => storage.getTopicById(topicId as TopicId)?.name,
    }));
    if (typeof answer === 'number') {
      return {
        groups: [...[...allowed].map((groupId) => ({ groupId, errorCode: answer })), ...denied],
      };
    }
    const groups = ((answer as ConsumerGroupDescribeResponseInit).groups ?? []).map((group) => {
      if (!topicsDescribable(context, group.members ?? [])) {
        return {
          groupId: group.groupId ?? '',
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          errorMessage:
            'The group has described topic(s) that the client is not authorized to describe.',
        };
      }
      const operations = request.includeAuthorizedOperations
        ? authorizedOperations(context, groupResource(group.groupId ?? ''), groupOperations)
        : operationsNotRequested;
      return { ...group, authorizedOperations: operations };
    });
    return { groups: [...groups, ...denied] };
  },
);

/** Whether the request may DESCRIBE every topic the members subscribe to or are assigned. */
function topicsDescribable(
  context: RequestContext,
  members: readonly ConsumerGroupDescribeResponseMemberInit[],
): boolean {
  const topics = new Set<string>();
  for (const member of members) {
    for (const name of member.subscribedTopicNames ?? []) topics.add(name);
    for (const assignment of [member.assignment, member.targetAssignment]) {
      for (const { topicName } of assignment?.topicPartitions ?? []) topics.add(topicName ?? '');
    }
  }
  const allowed = authorizedNames(context, AclOperation.DESCRIBE, ResourceType.TOPIC, topics);
  return allowed.size === topics.size;
}
