/**
 * ConsumerGroupHeartbeat (KIP-848) on the group coordinator's state: one heartbeat joins, keeps
 * alive, reconciles or leaves a member of a "consumer" group. Same contract as the classic
 * coordinator: a pure function of the state, the command and the time, filling the
 * ApplyContext with the records to persist; nothing is mutated before the request is known to
 * be acceptable (every error is decided first).
 *
 * Order of a heartbeat, as in Kafka's GroupMetadataManager: validate; find or create the group
 * and the member (epoch fencing, static instance ids); update the member's metadata; bump the
 * group epoch if a subscription, the assignor or the subscribed topics changed; compute a new
 * target assignment if the group epoch passed the assignment epoch; reconcile this member
 * towards its target; answer with its epoch and, when it changed or the request was full, its
 * assignment. Removals (leave, session expiry) only bump the group epoch: the next heartbeat of
 * any member computes the new target.
 */
import { RE2JS } from 're2js';
import {
  ErrorCode,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponseInit,
} from '@tributary/protocol';
import type { ApplyContext } from './group-apply-context.ts';
import { consumerAssignors, defaultAssignorName } from './consumer-assignors.ts';
import {
  assignmentFromWire,
  assignmentToWire,
  assignmentsEqual,
  deleteConsumerMember,
  isSubset,
  leaveGroupMemberEpoch,
  leaveGroupStaticMemberEpoch,
  newConsumerGroupData,
  newConsumerMember,
  type Assignment,
  type ConsumerGroupData,
  type ConsumerMember,
  type SubscribedTopic,
  type TopicCatalog,
} from './consumer-group-state.ts';
import {
  assignmentRecord,
  groupEpochRecord,
  memberRecord,
  targetEpochRecord,
  targetRecord,
} from './consumer-group-records.ts';
import { reconcile } from './consumer-reconciliation.ts';
import { newGroup, type Caller, type Group } from './group-state.ts';

export interface ConsumerGroupOptions {
  /** group.consumer.session.timeout.ms (Kafka's default 45 s). */
  readonly sessionTimeoutMs: number;
  /** group.consumer.heartbeat.interval.ms (Kafka's default 5 s). */
  readonly heartbeatIntervalMs: number;
  /** A member id for a v0 member that sent none (randomness is injected). */
  newMemberId(): string;
}

export interface ConsumerHeartbeatCommand {
  readonly kind: 'consumerHeartbeat';
  readonly caller: Caller;
  readonly request: ConsumerGroupHeartbeatRequest;
  readonly topics: TopicCatalog;
}

interface Failure {
  readonly errorCode: number;
  readonly message: string;
}

const internalTopics = new Set(['__consumer_offsets', '__transaction_state']);

export function consumerHeartbeat(
  context: ApplyContext,
  options: ConsumerGroupOptions,
  command: ConsumerHeartbeatCommand,
): ConsumerGroupHeartbeatResponseInit {
  const { request } = command;
  const refused = validate(request, command.caller.apiVersion);
  if (refused !== undefined) return failure(refused);
  if (request.memberEpoch < 0) return leave(context, request);
  const group = consumerGroupFor(context, request.groupId, request.memberEpoch === 0);
  if ('errorCode' in group) return failure(group);
  const data = group.consumer ?? newConsumerGroupData();
  group.consumer = data;
  const memberId = request.memberId === '' ? options.newMemberId() : request.memberId;
  const found = findMember(context, group, data, { ...request, memberId });
  if ('errorCode' in found) return failure(found);
  const { member, isNew, replaced } = found;
  const before = { ...member, assigned: member.assigned };
  const subscriptionChanged = updateMember(member, command, isNew);
  if (subscriptionChanged || replaced || memberMetadataChanged(before, member)) {
    context.records.push(memberRecord(group.groupId, member));
  }
  data.members.set(member.memberId, member);
  if (member.instanceId !== null) data.staticMembers.set(member.instanceId, member.memberId);
  const topics = subscribedTopics(data, command.topics);
  const topicsChanged = !sameTopics(topics, data.subscribedTopics);
  if (subscriptionChanged || isNew || topicsChanged) {
    data.groupEpoch += 1;
    data.subscribedTopics = topics;
    context.records.push(groupEpochRecord(group.groupId, data));
  }
  if (data.groupEpoch > data.assignmentEpoch) computeTargetAssignment(context, group, data);
  const owned =
    request.topicPartitions === null ? null : assignmentFromWire(request.topicPartitions);
  reconcileMember(context, group.groupId, data, member, owned);
  member.sessionDeadlineMs = context.now + options.sessionTimeoutMs;
  const full =
    request.memberEpoch === 0 ||
    (request.rebalanceTimeoutMs !== -1 &&
      (request.subscribedTopicNames !== null || request.subscribedTopicRegex !== null) &&
      request.topicPartitions !== null);
  const changed = !assignmentsEqual(before.assigned, member.assigned);
  return {
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    memberId: member.memberId,
    memberEpoch: member.memberEpoch,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    assignment:
      full || changed || isNew ? { topicPartitions: assignmentToWire(member.assigned) } : null,
  };
}

function invalid(message: string): Failure {
  return { errorCode: ErrorCode.INVALID_REQUEST, message };
}

function unknown(message: string): Failure {
  return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, message };
}

function failure({ errorCode, message }: Failure): ConsumerGroupHeartbeatResponseInit {
  return {
    errorCode,
    errorMessage: message,
    memberId: null,
    memberEpoch: 0, // the defaults Kafka leaves in an error answer
    heartbeatIntervalMs: 0,
    assignment: null,
  };
}

/** Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid, with v1's client-chosen member ids. */
function validate(request: ConsumerGroupHeartbeatRequest, apiVersion: number): Failure | undefined {
  if (request.groupId === '') return invalid("GroupId can't be empty.");
  if (request.instanceId === '') return invalid("InstanceId can't be empty.");
  if (request.rackId === '') return invalid("RackId can't be empty.");
  const epoch = request.memberEpoch;
  const needsMemberId = epoch !== 0 || apiVersion >= 1;
  if (needsMemberId && request.memberId === '') return invalid("MemberId can't be empty.");
  if (epoch === 0) {
    if (request.rebalanceTimeoutMs === -1) {
      return invalid('RebalanceTimeoutMs must be provided in first request.');
    }
    if (request.topicPartitions === null || request.topicPartitions.length > 0) {
      return invalid('TopicPartitions must be empty when (re-)joining.');
    }
    const names = request.subscribedTopicNames;
    const hasNames = names !== null && names.length > 0;
    if (!hasNames && (request.subscribedTopicRegex ?? '') === '') {
      return invalid('SubscribedTopicNames or SubscribedTopicRegex must be set in first request.');
    }
  } else if (epoch === leaveGroupStaticMemberEpoch && request.instanceId === null) {
    return invalid("InstanceId can't be null.");
  } else if (
    epoch < 0 &&
    epoch !== leaveGroupMemberEpoch &&
    epoch !== leaveGroupStaticMemberEpoch
  ) {
    return invalid('MemberEpoch is invalid.');
  }
  const assignor = request.serverAssignor;
  if (assignor !== null && !consumerAssignors.has(assignor)) {
    return {
      errorCode: ErrorCode.UNSUPPORTED_ASSIGNOR,
      message: `ServerAssignor ${assignor} is not supported. Supported assignors: ${[
        ...consumerAssignors.keys(),
      ].join(', ')}.`,
    };
  }
  if (request.subscribedTopicRegex !== null && request.subscribedTopicRegex !== '') {
    if (compileRegex(request.subscribedTopicRegex) === undefined) {
      return {
        errorCode: ErrorCode.INVALID_REGULAR_EXPRESSION,
        message:
          `SubscribedTopicRegex ${request.subscribedTopicRegex} ` +
          'is not a valid regular expression.',
      };
    }
  }
  return undefined;
}

/** A compiled subscription regex: `matches` is true when it matches the whole topic name. */
export interface TopicRegex {
  matches(topicName: string): boolean;
}

/**
 * The subscription regex compiled with re2js, a port of RE2/J (the engine Kafka uses), matching
 * whole topic names as RE2/J's `matches()` does; undefined when it does not compile. RE2 runs
 * in time linear in the name, so no client regex can stall the event loop (a backtracking
 * engine takes exponential time on patterns like `(a|a)+b`). ADR 0007.
 */
export function compileRegex(source: string): TopicRegex | undefined {
  try {
    return RE2JS.compile(source);
  } catch {
    return undefined;
  }
}

/** The group to heartbeat in: created on a join; an empty classic group becomes a consumer one. */
function consumerGroupFor(context: ApplyContext, groupId: string, join: boolean): Group | Failure {
  const group = context.groups.get(groupId);
  if (group === undefined) {
    if (!join) {
      return {
        errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
        message: `Consumer group ${groupId} not found.`,
      };
    }
    const created = newGroup(groupId);
    context.groups.set(groupId, created);
    return created;
  }
  if (group.consumer !== undefined) return group;
  if (join && group.members.size === 0 && group.state === 'Empty') {
    // Kafka deletes an empty classic group to make room; its offsets stay with the group id.
    group.protocolType = null;
    group.protocolName = null;
    return group;
  }
  return {
    errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
    message: `Group ${groupId} is not a consumer group.`,
  };
}

interface FoundMember {
  readonly member: ConsumerMember;
  readonly isNew: boolean;
  /** A static instance took over its previous member's place (new member id). */
  readonly replaced?: boolean;
}

function findMember(
  context: ApplyContext,
  group: Group,
  data: ConsumerGroupData,
  request: ConsumerGroupHeartbeatRequest,
): FoundMember | Failure {
  const { memberId, memberEpoch, instanceId } = request;
  const owned =
    request.topicPartitions === null ? null : assignmentFromWire(request.topicPartitions);
  if (instanceId === null || memberEpoch > 0) {
    const existing =
      instanceId === null ? data.members.get(memberId) : staticMember(data, instanceId);
    if (existing === undefined) {
      if (memberEpoch > 0) return unknown(`Member ${memberId} is not a member of the group.`);
      return { member: newConsumerMember(memberId), isNew: true };
    }
    if (existing.memberId !== memberId) {
      return {
        errorCode: ErrorCode.FENCED_INSTANCE_ID,
        message:
          `Static member ${memberId} with instance id ${instanceId} ` +
          `was fenced by member ${existing.memberId}.`,
      };
    }
    if (memberEpoch === 0) return { member: rejoined(existing), isNew: false };
    const fenced = epochError(existing, memberEpoch, owned);
    return fenced ?? { member: existing, isNew: false };
  }
  // A static member (re)joins with epoch 0.
  const existing = staticMember(data, instanceId);
  if (existing === undefined) {
    const member = data.members.get(memberId) ?? newConsumerMember(memberId);
    return { member, isNew: !data.members.has(memberId) };
  }
  if (existing.memberEpoch !== leaveGroupStaticMemberEpoch) {
    return {
      errorCode: ErrorCode.UNRELEASED_INSTANCE_ID,
      message:
        `Static member ${memberId} with instance id ${instanceId} cannot join the group ` +
        `because the instance id is owned by ${existing.memberId} member.`,
    };
  }
  // The instance came back (possibly with a new member id): it takes over the old member's
  // assignment without a rebalance.
  const replacement: ConsumerMember = {
    ...existing,
    memberId,
    memberEpoch: 0,
    previousMemberEpoch: 0,
    state: 'STABLE',
    pendingRevocation: new Map(),
  };
  const target = data.targetAssignment.get(existing.memberId);
  removeConsumerMember(context, group, existing, { bumpEpoch: false });
  if (target !== undefined) {
    data.targetAssignment.set(memberId, target);
    context.records.push(targetRecord(group.groupId, memberId, target));
  }
  return { member: replacement, isNew: false, replaced: true };
}

function staticMember(data: ConsumerGroupData, instanceId: string): ConsumerMember | undefined {
  const memberId = data.staticMembers.get(instanceId);
  return memberId === undefined ? undefined : data.members.get(memberId);
}

/** A known member sent epoch 0: it dropped its partitions and starts reconciling afresh. */
function rejoined(member: ConsumerMember): ConsumerMember {
  member.memberEpoch = 0;
  member.previousMemberEpoch = 0;
  member.state = 'STABLE';
  member.assigned = new Map();
  member.pendingRevocation = new Map();
  return member;
}

/** Kafka's throwIfConsumerGroupMemberEpochIsInvalid. */
function epochError(
  member: ConsumerMember,
  received: number,
  owned: Assignment | null,
): Failure | undefined {
  const fenced = (relation: string): Failure => ({
    errorCode: ErrorCode.FENCED_MEMBER_EPOCH,
    message:
      `The consumer group member has a ${relation} member epoch (${received}) than the one ` +
      `known by the group coordinator (${member.memberEpoch}). ` +
      'The member must abandon all its partitions and rejoin.',
  });
  if (received > member.memberEpoch) return fenced('greater');
  if (received < member.memberEpoch) {
    // The answer carrying the bumped epoch may have been lost: accept the previous epoch if
    // the member owns no more than it is assigned.
    const lostAnswer =
      received === member.previousMemberEpoch && owned !== null && isSubset(owned, member.assigned);
    if (!lostAnswer) return fenced('smaller');
  }
  return undefined;
}

/** Applies the request's non-null fields; true when what the member subscribes to changed. */
function updateMember(member: ConsumerMember, command: ConsumerHeartbeatCommand, isNew: boolean) {
  const { request, caller } = command;
  const names = member.subscribedTopicNames.join('\u0000');
  const regex = member.subscribedTopicRegex;
  const assignor = member.serverAssignor;
  if (request.instanceId !== null) member.instanceId = request.instanceId;
  if (request.rackId !== null) member.rackId = request.rackId;
  if (request.rebalanceTimeoutMs !== -1) member.rebalanceTimeoutMs = request.rebalanceTimeoutMs;
  if (request.serverAssignor !== null) member.serverAssignor = request.serverAssignor;
  if (request.subscribedTopicNames !== null) {
    member.subscribedTopicNames = [...new Set(request.subscribedTopicNames)].toSorted();
  }
  if (request.subscribedTopicRegex !== null) {
    member.subscribedTopicRegex =
      request.subscribedTopicRegex === '' ? null : request.subscribedTopicRegex;
  }
  member.clientId = caller.clientId;
  member.clientHost = caller.clientHost;
  return (
    isNew ||
    names !== member.subscribedTopicNames.join('\u0000') ||
    regex !== member.subscribedTopicRegex ||
    assignor !== member.serverAssignor
  );
}

function memberMetadataChanged(before: ConsumerMember, after: ConsumerMember): boolean {
  return (
    before.instanceId !== after.instanceId ||
    before.rackId !== after.rackId ||
    before.rebalanceTimeoutMs !== after.rebalanceTimeoutMs ||
    before.clientId !== after.clientId ||
    before.clientHost !== after.clientHost
  );
}

/** Topic names a member subscribes to that exist now (names and regex resolved). */
export function memberTopics(member: ConsumerMember, catalog: TopicCatalog): string[] {
  const names = new Set(member.subscribedTopicNames.filter((name) => catalog.topic(name)));
  const regex =
    member.subscribedTopicRegex === null ? undefined : compileRegex(member.subscribedTopicRegex);
  if (regex !== undefined) {
    for (const name of catalog.topicNames()) {
      if (!internalTopics.has(name) && regex.matches(name)) names.add(name);
    }
  }
  return [...names].toSorted();
}

function subscribedTopics(
  data: ConsumerGroupData,
  catalog: TopicCatalog,
): Map<string, SubscribedTopic> {
  const result = new Map<string, SubscribedTopic>();
  for (const member of data.members.values()) {
    for (const name of memberTopics(member, catalog)) {
      const topic = catalog.topic(name);
      if (topic !== undefined && !result.has(name)) {
        result.set(name, { name, topicId: topic.topicId, partitionCount: topic.partitionCount });
      }
    }
  }
  return result;
}

function sameTopics(
  a: ReadonlyMap<string, SubscribedTopic>,
  b: ReadonlyMap<string, SubscribedTopic>,
) {
  if (a.size !== b.size) return false;
  for (const [name, topic] of a) {
    const other = b.get(name);
    if (other?.topicId !== topic.topicId || other.partitionCount !== topic.partitionCount) {
      return false;
    }
  }
  return true;
}

/** The assignor most members ask for (ties by name), else the default. */
export function preferredAssignor(data: ConsumerGroupData): string {
  const votes = new Map<string, number>();
  for (const member of data.members.values()) {
    if (member.serverAssignor !== null) {
      votes.set(member.serverAssignor, (votes.get(member.serverAssignor) ?? 0) + 1);
    }
  }
  let best = defaultAssignorName;
  let bestVotes = 0;
  for (const [name, count] of [...votes].toSorted(([a], [b]) => a.localeCompare(b))) {
    if (count > bestVotes) {
      best = name;
      bestVotes = count;
    }
  }
  return best;
}

function computeTargetAssignment(context: ApplyContext, group: Group, data: ConsumerGroupData) {
  const assignor = consumerAssignors.get(preferredAssignor(data));
  if (assignor === undefined) return;
  const catalog: TopicCatalog = {
    topic: (name) => data.subscribedTopics.get(name),
    topicNames: () => data.subscribedTopics.keys(),
  };
  const members = [...data.members.values()].map((member) => ({
    memberId: member.memberId,
    topics: memberTopics(member, catalog),
  }));
  const target = assignor({
    members,
    topics: data.subscribedTopics,
    previous: data.targetAssignment,
  });
  for (const [memberId, assignment] of target) {
    const previous = data.targetAssignment.get(memberId);
    if (previous === undefined || !assignmentsEqual(previous, assignment)) {
      data.targetAssignment.set(memberId, assignment);
      context.records.push(targetRecord(group.groupId, memberId, assignment));
    }
  }
  data.assignmentEpoch = data.groupEpoch;
  context.records.push(targetEpochRecord(group.groupId, data));
}

function reconcileMember(
  context: ApplyContext,
  groupId: string,
  data: ConsumerGroupData,
  member: ConsumerMember,
  owned: Assignment | null,
): void {
  const holders = new Map<string, string>();
  for (const other of data.members.values()) {
    if (other.memberId === member.memberId) continue;
    for (const held of [other.assigned, other.pendingRevocation]) {
      for (const [topicId, partitions] of held) {
        for (const partition of partitions) holders.set(`${topicId}:${partition}`, other.memberId);
      }
    }
  }
  const next = reconcile({
    member,
    targetEpoch: data.assignmentEpoch,
    target: data.targetAssignment.get(member.memberId) ?? new Map(),
    owned,
    heldByOther: (topicId, partition) => holders.has(`${topicId}:${partition}`),
  });
  const changed =
    next.state !== member.state ||
    next.memberEpoch !== member.memberEpoch ||
    !assignmentsEqual(next.assigned, member.assigned) ||
    !assignmentsEqual(next.pendingRevocation, member.pendingRevocation);
  if (!changed && member.memberEpoch !== 0) return;
  if (next.memberEpoch !== member.memberEpoch) member.previousMemberEpoch = member.memberEpoch;
  if (next.state === 'UNREVOKED_PARTITIONS' && member.state !== 'UNREVOKED_PARTITIONS') {
    member.revocationDeadlineMs = context.now + member.rebalanceTimeoutMs;
  } else if (next.state !== 'UNREVOKED_PARTITIONS') {
    member.revocationDeadlineMs = undefined;
  }
  member.state = next.state;
  member.memberEpoch = next.memberEpoch;
  member.assigned = next.assigned;
  member.pendingRevocation = next.pendingRevocation;
  context.records.push(assignmentRecord(groupId, member));
}

/** A consumer-group member leaves: -1 removes it, -2 keeps a static member's place. */
function leave(
  context: ApplyContext,
  request: ConsumerGroupHeartbeatRequest,
): ConsumerGroupHeartbeatResponseInit {
  const { groupId, memberId, instanceId } = request;
  const group = context.groups.get(groupId);
  const data = group?.consumer;
  if (group === undefined || data === undefined) {
    return failure({
      errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
      message: `Consumer group ${groupId} not found.`,
    });
  }
  const member = instanceId === null ? data.members.get(memberId) : staticMember(data, instanceId);
  if (member === undefined) {
    return failure({
      errorCode: ErrorCode.UNKNOWN_MEMBER_ID,
      message: `Member ${memberId} is unknown.`,
    });
  }
  if (member.memberId !== memberId) {
    return failure({
      errorCode: ErrorCode.FENCED_INSTANCE_ID,
      message:
        `Static member ${memberId} with instance id ${instanceId} ` +
        `was fenced by member ${member.memberId}.`,
    });
  }
  const answer = (memberEpoch: number): ConsumerGroupHeartbeatResponseInit => ({
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    memberId,
    memberEpoch,
    heartbeatIntervalMs: 0,
    assignment: null,
  });
  if (request.memberEpoch === leaveGroupStaticMemberEpoch) {
    // The instance keeps its partitions (nobody else gets them) until it returns or its
    // session expires.
    member.memberEpoch = leaveGroupStaticMemberEpoch;
    member.pendingRevocation = new Map();
    member.revocationDeadlineMs = undefined;
    context.records.push(assignmentRecord(groupId, member));
    return answer(leaveGroupStaticMemberEpoch);
  }
  removeConsumerMember(context, group, member, { bumpEpoch: true });
  return answer(leaveGroupMemberEpoch);
}

/** Session and revocation timeouts of consumer-group members; called on every tick. */
export function expireConsumerMembers(
  context: ApplyContext,
  group: Group,
  sessionTimeoutMs: number,
): void {
  const data = group.consumer;
  if (data === undefined) return;
  for (const member of data.members.values()) {
    // Deadlines are not persisted: after a restart they start again from the first tick.
    if (member.sessionDeadlineMs < 0) member.sessionDeadlineMs = context.now + sessionTimeoutMs;
    if (member.state === 'UNREVOKED_PARTITIONS' && member.revocationDeadlineMs === undefined) {
      member.revocationDeadlineMs = context.now + member.rebalanceTimeoutMs;
    }
    const sessionOver = context.now >= member.sessionDeadlineMs;
    const revocationOver =
      member.revocationDeadlineMs !== undefined && context.now >= member.revocationDeadlineMs;
    if (sessionOver || revocationOver)
      removeConsumerMember(context, group, member, { bumpEpoch: true });
  }
}

/**
 * Removes a member with the tombstones of its records. `bumpEpoch` (leave, expiry) starts a new
 * target assignment; a static member replaced by its own instance keeps the epoch.
 */
export function removeConsumerMember(
  context: ApplyContext,
  group: Group,
  member: ConsumerMember,
  { bumpEpoch }: { readonly bumpEpoch: boolean },
): void {
  const data = group.consumer;
  if (data === undefined) return;
  const { groupId } = group;
  const { memberId } = member;
  deleteConsumerMember(data, member);
  data.targetAssignment.delete(memberId);
  context.records.push(
    { type: 'consumerAssignment', groupId, memberId, value: null },
    { type: 'consumerTarget', groupId, memberId, value: null },
    { type: 'consumerMember', groupId, memberId, value: null },
  );
  if (bumpEpoch) {
    data.groupEpoch += 1;
    context.records.push(groupEpochRecord(groupId, data));
  }
}
