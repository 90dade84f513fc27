/**
 * Rebuilds KIP-848 consumer groups from their persisted records, in log order. Each record
 * carries one piece (group epoch, a member's metadata, a target, a current assignment), and
 * after compaction the pieces of one member may come in any order, so any member-keyed record
 * creates the member it names; the member's metadata tombstone removes it. Session deadlines
 * start again at the first tick after the load, as for classic groups.
 */
import type { ConsumerGroupRecord } from './consumer-group-records.ts';
import {
  assignmentFromWire,
  deleteConsumerMember,
  newConsumerGroupData,
  newConsumerMember,
  type ConsumerGroupData,
  type ConsumerMember,
} from './consumer-group-state.ts';
import { newGroup, type Group } from './group-state.ts';

export function replayConsumerRecord(
  groups: Map<string, Group>,
  record: ConsumerGroupRecord,
): void {
  let group = groups.get(record.groupId);
  if (record.value === null && group?.consumer === undefined) return;
  if (group === undefined) {
    group = newGroup(record.groupId);
    groups.set(record.groupId, group);
  }
  if (record.type === 'consumerGroup' && record.value === null) {
    group.consumer = undefined;
    return;
  }
  const data = group.consumer ?? newConsumerGroupData();
  group.consumer = data;
  switch (record.type) {
    case 'consumerGroup':
      if (record.value === null) return;
      data.groupEpoch = record.value.groupEpoch;
      data.subscribedTopics = new Map(record.value.subscribedTopics.map((t) => [t.name, t]));
      return;
    case 'consumerTargetEpoch':
      data.assignmentEpoch = record.value?.assignmentEpoch ?? 0;
      return;
    case 'consumerTarget':
      if (record.value === null) data.targetAssignment.delete(record.memberId);
      else data.targetAssignment.set(record.memberId, assignmentFromWire(record.value.partitions));
      return;
    case 'consumerMember':
      replayMember(data, record);
      return;
    case 'consumerAssignment': {
      if (record.value === null) return;
      const member = memberOf(data, record.memberId);
      member.memberEpoch = record.value.memberEpoch;
      member.previousMemberEpoch = record.value.previousMemberEpoch;
      member.state = record.value.state;
      member.assigned = assignmentFromWire(record.value.assigned);
      member.pendingRevocation = assignmentFromWire(record.value.pendingRevocation);
      return;
    }
  }
}

function replayMember(
  data: ConsumerGroupData,
  record: Extract<ConsumerGroupRecord, { type: 'consumerMember' }>,
): void {
  const { memberId, value } = record;
  if (value === null) {
    const gone = data.members.get(memberId);
    if (gone !== undefined) deleteConsumerMember(data, gone);
    return;
  }
  const member = memberOf(data, memberId);
  member.instanceId = value.instanceId;
  member.rackId = value.rackId;
  member.clientId = value.clientId;
  member.clientHost = value.clientHost;
  member.rebalanceTimeoutMs = value.rebalanceTimeoutMs;
  member.subscribedTopicNames = [...value.subscribedTopicNames];
  member.subscribedTopicRegex = value.subscribedTopicRegex;
  member.serverAssignor = value.serverAssignor;
  if (value.instanceId !== null) data.staticMembers.set(value.instanceId, memberId);
}

function memberOf(data: ConsumerGroupData, memberId: string): ConsumerMember {
  const existing = data.members.get(memberId);
  if (existing !== undefined) return existing;
  const member = newConsumerMember(memberId);
  data.members.set(memberId, member);
  return member;
}
