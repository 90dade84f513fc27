/**
 * The group commands that answer at once: Heartbeat, LeaveGroup, the offset APIs and the group
 * admin APIs. Same contract as the coordinator: pure functions of the state, the command and
 * the time, filling the ApplyContext with records and answers.
 *
 * Offsets: a commit from a group member must carry its generation; a "simple" commit
 * (generation -1, empty member id) is accepted while the group has no members, as Kafka does.
 * In a KIP-848 consumer group the generation field carries the member epoch instead, checked
 * exactly (STALE_MEMBER_EPOCH), as are OffsetFetch v9's member id and epoch.
 */
import {
  ErrorCode,
  type DeleteGroupsResponseInit,
  type DescribeGroupsResponseInit,
  type HeartbeatRequest,
  type HeartbeatResponseInit,
  type LeaveGroupResponseInit,
  type ListGroupsResponseInit,
  type OffsetCommitRequest,
  type OffsetCommitResponseInit,
  type OffsetDeleteRequest,
  type OffsetDeleteResponseInit,
  type OffsetFetchResponseGroupInit,
} from '@tributary/protocol';
import {
  emptyBytes,
  forgetGroup,
  memberError,
  respond,
  type ApplyContext,
} from './group-apply-context.ts';

export type { AdminResponse, OffsetFetchAnswer } from './group-apply-context.ts';
import type { Caller } from './group-state.ts';
import {
  groupType,
  hasNoMembers,
  newGroup,
  offsetKey,
  selectedMetadata,
  subscribedTopics,
  type Group,
} from './group-state.ts';
import { consumerGroupState, type ConsumerGroupData } from './consumer-group-state.ts';

/** Kafka's offset.metadata.max.bytes default. */
const offsetMetadataMaxBytes = 4096;

export interface LeavingMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface FetchGroup {
  readonly groupId: string;
  /** v9 (KIP-848): the fetching member and its epoch; null and -1 from admin tools. */
  readonly memberId?: string | null;
  readonly memberEpoch?: number;
  readonly topics: readonly { name: string; partitionIndexes: readonly number[] }[] | null;
}

export type AdminCommand =
  | { readonly kind: 'heartbeat'; readonly caller: Caller; readonly request: HeartbeatRequest }
  | {
      readonly kind: 'leave';
      readonly caller: Caller;
      readonly groupId: string;
      readonly members: readonly LeavingMember[];
    }
  | {
      readonly kind: 'offsetCommit';
      readonly caller: Caller;
      readonly request: OffsetCommitRequest;
      /** Partition count of an existing topic, else undefined (read by the handler). */
      readonly partitionCount: (topic: string) => number | undefined;
    }
  | {
      readonly kind: 'offsetFetch';
      readonly caller: Caller;
      readonly groups: readonly FetchGroup[];
    }
  | { readonly kind: 'describe'; readonly caller: Caller; readonly groupIds: readonly string[] }
  | {
      readonly kind: 'list';
      readonly caller: Caller;
      readonly statesFilter: readonly string[];
      readonly typesFilter: readonly string[];
    }
  | { readonly kind: 'deleteGroups'; readonly caller: Caller; readonly groupIds: readonly string[] }
  | {
      readonly kind: 'offsetDelete';
      readonly caller: Caller;
      readonly request: OffsetDeleteRequest;
    }
  | {
      /** KIP-447: may this consumer's identity commit offsets inside a transaction? */
      readonly kind: 'txnOffsetCheck';
      readonly caller: Caller;
      readonly groupId: string;
      readonly generationId: number;
      readonly memberId: string;
      readonly groupInstanceId: string | null;
    }
  | {
      /** A committed transaction's offsets (TxnOffsetCommit), checked when they were sent. */
      readonly kind: 'txnOffsetApply';
      readonly caller: Caller;
      readonly offsets: readonly TransactionOffset[];
    };

export interface TransactionOffset {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
}

export function applyAdminCommand(context: ApplyContext, command: AdminCommand): void {
  const id = command.caller.requestId;
  switch (command.kind) {
    case 'heartbeat':
      return respond(context, id, heartbeat(context, command.request));
    case 'leave':
      return respond(context, id, leave(context, command.groupId, command.members));
    case 'offsetCommit':
      return respond(
        context,
        id,
        offsetCommit(context, command.request, command.partitionCount, command.caller.apiVersion),
      );
    case 'offsetFetch':
      return respond(context, id, { groups: command.groups.map((g) => fetchOffsets(context, g)) });
    case 'describe':
      return respond(context, id, describe(context, command.groupIds));
    case 'list':
      return respond(context, id, list(context, command.statesFilter, command.typesFilter));
    case 'deleteGroups':
      return respond(context, id, deleteGroups(context, command.groupIds));
    case 'offsetDelete':
      return respond(context, id, offsetDelete(context, command.request));
    case 'txnOffsetCheck':
      return respond(context, id, { errorCode: txnOffsetCheck(context, command) });
    case 'txnOffsetApply':
      return respond(context, id, txnOffsetApply(context, command.offsets));
  }
}

function heartbeat(context: ApplyContext, request: HeartbeatRequest): HeartbeatResponseInit {
  const group = context.groups.get(request.groupId);
  if (group === undefined) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
  const error = memberError(group, request.memberId, request.groupInstanceId);
  if (error !== ErrorCode.NONE) return { errorCode: error };
  const member = group.members.get(request.memberId);
  if (member === undefined) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
  if (request.generationId !== group.generationId) {
    return { errorCode: ErrorCode.ILLEGAL_GENERATION };
  }
  member.sessionDeadlineMs = context.now + member.sessionTimeoutMs;
  if (group.state === 'PreparingRebalance') return { errorCode: ErrorCode.REBALANCE_IN_PROGRESS };
  return { errorCode: ErrorCode.NONE };
}

function leave(
  context: ApplyContext,
  groupId: string,
  leaving: readonly LeavingMember[],
): LeaveGroupResponseInit {
  const group = context.groups.get(groupId);
  if (group === undefined) {
    return {
      errorCode: ErrorCode.UNKNOWN_MEMBER_ID,
      members: leaving.map(answer(ErrorCode.UNKNOWN_MEMBER_ID)),
    };
  }
  const members = leaving.map((identity) => {
    let memberId = identity.memberId;
    // v3+: a static member may leave by instance id alone.
    if (memberId === '' && identity.groupInstanceId !== null) {
      memberId = group.staticMembers.get(identity.groupInstanceId) ?? '';
    }
    const error = memberError(group, memberId, identity.groupInstanceId);
    const member = group.members.get(memberId);
    if (error === ErrorCode.NONE && member !== undefined) {
      context.coordinator.removeMember(context, group, member);
    }
    return answer(error)(identity);
  });
  return { errorCode: ErrorCode.NONE, members };
}

function answer(errorCode: number) {
  return (identity: LeavingMember) => ({ ...identity, errorCode });
}

/**
 * KIP-447 zombie fencing through the group, as Kafka's validateOffsetCommit for a transactional
 * commit: a consumer identity (a generation, member id or instance id; TxnOffsetCommit v3+) must
 * be a current member of the group at its generation. Without one (older clients) the producer
 * epoch is the only fence, and the check passes.
 */
function txnOffsetCheck(
  context: ApplyContext,
  identity: Extract<AdminCommand, { kind: 'txnOffsetCheck' }>,
): number {
  const { generationId, memberId, groupInstanceId } = identity;
  if (generationId < 0 && memberId === '' && groupInstanceId === null) return ErrorCode.NONE;
  const group = context.groups.get(identity.groupId);
  if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
  if (group.consumer !== undefined) {
    return consumerMemberError(group.consumer, memberId, generationId);
  }
  const error = memberError(group, memberId, groupInstanceId);
  if (error !== ErrorCode.NONE) return error;
  return generationId === group.generationId ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
}

/** Stores a committed transaction's offsets, creating the group if it is gone (as Kafka). */
function txnOffsetApply(
  context: ApplyContext,
  offsets: readonly TransactionOffset[],
): OffsetCommitResponseInit {
  for (const held of offsets) {
    let group = context.groups.get(held.groupId);
    if (group === undefined) {
      group = newGroup(held.groupId);
      context.groups.set(held.groupId, group);
    }
    const value = {
      offset: held.offset,
      leaderEpoch: held.leaderEpoch,
      metadata: held.metadata,
      commitTimestampMs: context.now,
    };
    const { topic, partition } = held;
    group.offsets.set(offsetKey(topic, partition), { topic, partition, value });
    context.records.push({ type: 'offset', groupId: held.groupId, topic, partition, value });
  }
  return { topics: [] };
}

/**
 * A commit or fetch naming a KIP-848 member, as Kafka's ConsumerGroup.validateOffsetCommit: a
 * negative epoch without members passes (admin tools, simple consumers); else the member must
 * exist at exactly this epoch (STALE_MEMBER_EPOCH), and a non-transactional commit must use
 * OffsetCommit v9+ (which carries the member epoch).
 */
function consumerMemberError(
  data: ConsumerGroupData,
  memberId: string | null,
  memberEpoch: number,
  commitVersion?: number,
): number {
  if (memberEpoch < 0 && (data.members.size === 0 || memberId === null)) return ErrorCode.NONE;
  const member = memberId === null ? undefined : data.members.get(memberId);
  if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
  if (commitVersion !== undefined && commitVersion < 9) return ErrorCode.UNSUPPORTED_VERSION;
  return memberEpoch === member.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH;
}

/** The error for every partition of a commit, or NONE when the commit may proceed. */
function commitError(
  context: ApplyContext,
  request: OffsetCommitRequest,
  apiVersion: number,
): number {
  const group = context.groups.get(request.groupId);
  const simple = request.generationIdOrMemberEpoch < 0 && request.memberId === '';
  if (request.groupId === '') return ErrorCode.INVALID_GROUP_ID;
  if (group?.consumer !== undefined) {
    const { memberId, generationIdOrMemberEpoch } = request;
    return consumerMemberError(group.consumer, memberId, generationIdOrMemberEpoch, apiVersion);
  }
  // As Kafka: a simple commit needs a group without members; a member commit to a group the
  // coordinator does not know names a generation that does not exist.
  if (simple && (group === undefined || group.members.size === 0)) return ErrorCode.NONE;
  if (group === undefined) return ErrorCode.ILLEGAL_GENERATION;
  const error = memberError(group, request.memberId, request.groupInstanceId);
  if (error !== ErrorCode.NONE) return error;
  if (request.generationIdOrMemberEpoch !== group.generationId) {
    return ErrorCode.ILLEGAL_GENERATION;
  }
  if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
  return ErrorCode.NONE;
}

function offsetCommit(
  context: ApplyContext,
  request: OffsetCommitRequest,
  partitionCount: (topic: string) => number | undefined,
  apiVersion: number,
): OffsetCommitResponseInit {
  const groupError = commitError(context, request, apiVersion);
  let group = context.groups.get(request.groupId);
  if (groupError === ErrorCode.NONE && group === undefined) {
    group = newGroup(request.groupId);
    context.groups.set(request.groupId, group);
  }
  const member = group?.members.get(request.memberId);
  if (member !== undefined && groupError === ErrorCode.NONE) {
    member.sessionDeadlineMs = context.now + member.sessionTimeoutMs;
  }
  const topics = request.topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitions.map((partition) => {
      const count = partitionCount(topic.name);
      let errorCode = groupError;
      if (errorCode !== ErrorCode.NONE || group === undefined) {
        // the group-level error stands
      } else if (count === undefined || partition.partitionIndex >= count) {
        errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      } else if (Buffer.byteLength(partition.committedMetadata ?? '') > offsetMetadataMaxBytes) {
        errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
      } else {
        const value = {
          offset: partition.committedOffset,
          leaderEpoch: partition.committedLeaderEpoch,
          metadata: partition.committedMetadata,
          commitTimestampMs: context.now,
        };
        const { partitionIndex } = partition;
        group.offsets.set(offsetKey(topic.name, partitionIndex), {
          topic: topic.name,
          partition: partitionIndex,
          value,
        });
        context.records.push({
          type: 'offset',
          groupId: group.groupId,
          topic: topic.name,
          partition: partitionIndex,
          value,
        });
      }
      return { partitionIndex: partition.partitionIndex, errorCode };
    }),
  }));
  return { topics };
}

function fetchOffsets(context: ApplyContext, wanted: FetchGroup): OffsetFetchResponseGroupInit {
  const group = context.groups.get(wanted.groupId);
  if (group?.consumer !== undefined) {
    const memberId = wanted.memberId ?? null;
    const error = consumerMemberError(group.consumer, memberId, wanted.memberEpoch ?? -1);
    if (error !== ErrorCode.NONE) return { groupId: wanted.groupId, topics: [], errorCode: error };
  }
  const stored = [...(group?.offsets.values() ?? [])];
  const requested =
    wanted.topics ??
    [...new Set(stored.map((entry) => entry.topic))].map((name) => ({
      name,
      partitionIndexes: stored.filter((e) => e.topic === name).map((e) => e.partition),
    }));
  const topics = requested.map((topic) => ({
    name: topic.name,
    partitions: topic.partitionIndexes.map((partitionIndex) => {
      const entry = group?.offsets.get(offsetKey(topic.name, partitionIndex));
      return {
        partitionIndex,
        committedOffset: entry?.value.offset ?? -1n,
        committedLeaderEpoch: entry?.value.leaderEpoch ?? -1,
        metadata: entry?.value.metadata ?? '',
        errorCode: ErrorCode.NONE,
      };
    }),
  }));
  return { groupId: wanted.groupId, topics, errorCode: ErrorCode.NONE };
}

function describe(context: ApplyContext, groupIds: readonly string[]): DescribeGroupsResponseInit {
  const groups = groupIds.map((groupId) => {
    const group = context.groups.get(groupId);
    // A consumer group is no classic group: Kafka describes it as Dead here.
    if (group === undefined || group.consumer !== undefined) {
      return {
        errorCode: ErrorCode.NONE,
        groupId,
        groupState: 'Dead',
        protocolType: '',
        protocolData: '',
        members: [],
      };
    }
    const stable = group.state === 'Stable';
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      groupState: group.state,
      protocolType: group.protocolType ?? '',
      protocolData: stable ? (group.protocolName ?? '') : '',
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        memberMetadata: stable ? selectedMetadata(group, member) : emptyBytes,
        memberAssignment: stable ? member.assignment : emptyBytes,
      })),
    };
  });
  return { groups };
}

function list(
  context: ApplyContext,
  statesFilter: readonly string[],
  typesFilter: readonly string[],
): ListGroupsResponseInit {
  const states = new Set(statesFilter.map((state) => state.toLowerCase()));
  const types = new Set(typesFilter.map((type) => type.toLowerCase()));
  const groups = [...context.groups.values()]
    .map((group) => ({
      groupId: group.groupId,
      protocolType: group.consumer === undefined ? (group.protocolType ?? '') : 'consumer',
      groupState: group.consumer === undefined ? group.state : consumerGroupState(group.consumer),
      groupType: groupType(group),
    }))
    .filter((group) => states.size === 0 || states.has(group.groupState.toLowerCase()))
    .filter((group) => types.size === 0 || types.has(group.groupType));
  return { errorCode: ErrorCode.NONE, groups };
}

function deleteGroups(
  context: ApplyContext,
  groupIds: readonly string[],
): DeleteGroupsResponseInit {
  const results = groupIds.map((groupId) => {
    const group = context.groups.get(groupId);
    if (group === undefined) return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
    if (!hasNoMembers(group)) return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
    forgetGroup(context, group);
    return { groupId, errorCode: ErrorCode.NONE };
  });
  return { results };
}

function offsetDelete(
  context: ApplyContext,
  request: OffsetDeleteRequest,
): OffsetDeleteResponseInit {
  const group = context.groups.get(request.groupId);
  if (group === undefined) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
  const subscribed = subscriptions(group);
  if (subscribed === undefined) return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
  const topics = request.topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitions.map(({ partitionIndex }) => {
      if (subscribed.has(topic.name)) {
        return { partitionIndex, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
      }
      if (group.offsets.delete(offsetKey(topic.name, partitionIndex))) {
        context.records.push({
          type: 'offset',
          groupId: group.groupId,
          topic: topic.name,
          partition: partitionIndex,
          value: null,
        });
      }
      return { partitionIndex, errorCode: ErrorCode.NONE };
    }),
  }));
  return { errorCode: ErrorCode.NONE, topics };
}

/** Topics the live members subscribe to; undefined for a non-empty non-consumer group. */
function subscriptions(group: Group): Set<string> | undefined {
  if (group.consumer !== undefined) return new Set(group.consumer.subscribedTopics.keys());
  if (group.members.size === 0) return new Set();
  if (group.protocolType !== 'consumer') return undefined;
  const topics = new Set<string>();
  for (const member of group.members.values()) {
    for (const topic of subscribedTopics(selectedMetadata(group, member))) topics.add(topic);
  }
  return topics;
}
