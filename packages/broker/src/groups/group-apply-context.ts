/**
 * What one `GroupCoordinator.apply` call accumulates (records to persist, answers to send) and the
 * small helpers both the membership code and the admin commands use to fill it.
 */
import {
  type ConsumerGroupDescribeResponseInit,
  type ConsumerGroupHeartbeatResponseInit,
  type DeleteGroupsResponseInit,
  type DescribeGroupsResponseInit,
  ErrorCode,
  type HeartbeatResponseInit,
  type JoinGroupResponseInit,
  type LeaveGroupResponseInit,
  type ListGroupsResponseInit,
  type OffsetCommitResponseInit,
  type OffsetDeleteResponseInit,
  type OffsetFetchResponseGroupInit,
  type SyncGroupResponseInit,
} from '@tributary/protocol';
import { consumerGroupTombstones } from './consumer-group-records.ts';
import type { GroupRecord, GroupValue } from './group-records.ts';
import { selectedMetadata, type Group, type Member } from './group-state.ts';

export interface OffsetFetchAnswer {
  readonly groups: OffsetFetchResponseGroupInit[];
}

export type AdminResponse =
  | HeartbeatResponseInit
  | LeaveGroupResponseInit
  | OffsetCommitResponseInit
  | OffsetFetchAnswer
  | DescribeGroupsResponseInit
  | ListGroupsResponseInit
  | DeleteGroupsResponseInit
  | OffsetDeleteResponseInit
  | TxnOffsetCheckAnswer
  | ConsumerGroupHeartbeatResponseInit
  | ConsumerGroupDescribeResponseInit;

/** The verdict on a transactional commit's consumer identity (KIP-447). */
export interface TxnOffsetCheckAnswer {
  readonly errorCode: number;
}

export type GroupResponse = JoinGroupResponseInit | SyncGroupResponseInit | AdminResponse;

export interface Completion {
  readonly requestId: number;
  readonly response: GroupResponse;
}

export interface GroupResult {
  readonly records: GroupRecord[];
  readonly completions: Completion[];
}

/** What the membership and admin code share while one command is applied. */
export interface ApplyContext {
  readonly now: number;
  readonly records: GroupRecord[];
  readonly completions: Completion[];
  readonly groups: Map<string, Group>;
  /** The coordinator's own membership step, which admin commands (LeaveGroup) reuse. */
  readonly coordinator: {
    removeMember(context: ApplyContext, group: Group, member: Member): void;
  };
}

export const emptyBytes = Buffer.alloc(0);

export function respond(context: ApplyContext, requestId: number, response: GroupResponse): void {
  context.completions.push({ requestId, response });
}

/** Deletes the group and all its offsets, with the tombstones that make it durable. */
export function forgetGroup(context: ApplyContext, group: Group): void {
  const { groupId } = group;
  for (const { topic, partition } of group.offsets.values()) {
    context.records.push({ type: 'offset', groupId, topic, partition, value: null });
  }
  if (group.consumer !== undefined) context.records.push(...consumerGroupTombstones(groupId));
  context.records.push({ type: 'group', groupId, value: null });
  context.groups.delete(groupId);
}

/** NONE, or the error for a request naming this member (and maybe a static instance id). */
export function memberError(group: Group, memberId: string, instanceId: string | null): number {
  if (instanceId !== null) {
    const current = group.staticMembers.get(instanceId);
    if (current !== undefined && current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
  }
  return group.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
}

export function groupRecord(group: Group): GroupRecord {
  const value: GroupValue = {
    protocolType: group.protocolType ?? '',
    generationId: group.generationId,
    protocolName: group.protocolName,
    leaderId: group.leaderId ?? null,
    members: [...group.members.values()].map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      clientId: member.clientId,
      clientHost: member.clientHost,
      sessionTimeoutMs: member.sessionTimeoutMs,
      rebalanceTimeoutMs: member.rebalanceTimeoutMs,
      subscription: selectedMetadata(group, member),
      assignment: member.assignment,
    })),
  };
  return { type: 'group', groupId: group.groupId, value };
}

export function syncError(errorCode: number): SyncGroupResponseInit {
  return { errorCode, protocolType: null, protocolName: null, assignment: emptyBytes };
}
