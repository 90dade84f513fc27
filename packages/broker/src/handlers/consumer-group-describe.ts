/**
 * ConsumerGroupDescribe (key 69), v0-1: KIP-848 consumer groups with their epochs, assignor and
 * members (current and target assignments by topic id and name; MemberType 1 in v1). Unknown
 * and classic groups answer GROUP_ID_NOT_FOUND. Authorized operations are not computed.
 */
import type { TopicId } from '@tributary/storage';
import {
  consumerGroupDescribeApi,
  type ConsumerGroupDescribeResponseInit,
} from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { defineHandler } from '../handler.ts';

const operationsNotRequested = -2147483648;

export const consumerGroupDescribeHandler = defineHandler(
  consumerGroupDescribeApi,
  async (context, request) => {
    const { storage } = context.runtime;
    const answer = await submitGroupCommand(context, (caller) => ({
      kind: 'consumerDescribe',
      caller,
      groupIds: request.groupIds,
      topicName: (topicId) => storage.getTopicById(topicId as TopicId)?.name,
    }));
    if (typeof answer === 'number') {
      return { groups: request.groupIds.map((groupId) => ({ groupId, errorCode: answer })) };
    }
    const groups = ((answer as ConsumerGroupDescribeResponseInit).groups ?? []).map((group) => ({
      ...group,
      authorizedOperations: operationsNotRequested,
    }));
    return { groups };
  },
);
