/**
 * ConsumerGroupDescribe (KIP-848) on the coordinator's state: each consumer group with its
 * epochs, assignor and members (epochs, subscriptions, current and target assignments). A group
 * that does not exist or is a classic group answers GROUP_ID_NOT_FOUND, as Kafka does.
 */
import {
  ErrorCode,
  type ConsumerGroupDescribeResponseAssignmentInit,
  type ConsumerGroupDescribeResponseDescribedGroupInit,
  type ConsumerGroupDescribeResponseInit,
} from '@tributary/protocol';
import { assignmentToWire, consumerGroupState, type Assignment } from './consumer-group-state.ts';
import { preferredAssignor } from './consumer-group-heartbeat.ts';
import type { Group } from './group-state.ts';

function describedAssignment(
  assignment: Assignment,
  topicName: (topicId: string) => string | undefined,
): ConsumerGroupDescribeResponseAssignmentInit {
  return {
    topicPartitions: assignmentToWire(assignment).map(({ topicId, partitions }) => ({
      topicId,
      topicName: topicName(topicId) ?? '',
      partitions,
    })),
  };
}

/** MemberType in ConsumerGroupDescribe v1: every member here uses the consumer protocol. */
const consumerMemberType = 1;

export function describeConsumerGroups(
  groups: ReadonlyMap<string, Group>,
  groupIds: readonly string[],
  topicName: (topicId: string) => string | undefined,
): ConsumerGroupDescribeResponseInit {
  const described = groupIds.map((groupId): ConsumerGroupDescribeResponseDescribedGroupInit => {
    const group = groups.get(groupId);
    const data = group?.consumer;
    if (group === undefined || data === undefined) {
      const message =
        group === undefined
          ? `Group ${groupId} not found.`
          : `Group ${groupId} is not a consumer group.`;
      return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: message };
    }
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      groupId,
      groupState: consumerGroupState(data),
      groupEpoch: data.groupEpoch,
      assignmentEpoch: data.assignmentEpoch,
      assignorName: preferredAssignor(data),
      members: [...data.members.values()].map((member) => ({
        memberId: member.memberId,
        instanceId: member.instanceId,
        rackId: member.rackId,
        memberEpoch: member.memberEpoch,
        clientId: member.clientId,
        clientHost: member.clientHost,
        subscribedTopicNames: member.subscribedTopicNames,
        subscribedTopicRegex: member.subscribedTopicRegex,
        assignment: describedAssignment(member.assigned, topicName),
        targetAssignment: describedAssignment(
          data.targetAssignment.get(member.memberId) ?? new Map(),
          topicName,
        ),
        memberType: consumerMemberType,
      })),
    };
  });
  return { groups: described };
}
