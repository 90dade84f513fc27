/**
 * The classic consumer-group coordinator as a pure state machine (ARCHITECTURE.md §6):
 * `apply(command, now)` returns the records to persist and the answers to send, and
 * `replay(record)` rebuilds state from persisted records. It does no I/O, reads no clock and
 * draws no randomness: time comes with each command and member ids from `newMemberId`.
 *
 * JoinGroup and SyncGroup answers may be deferred: a command's answer (a `Completion` carrying
 * its request id) can come out of a later `apply`, e.g. when the last member joins or on the
 * `tick` that ends a rebalance. The runtime must persist `records` before sending the
 * completions of the same `apply`, and send completions in order.
 *
 * Semantics follow Kafka's classic GroupCoordinator: generations, KIP-394 member ids, static
 * membership (KIP-345), an initial rebalance delay for empty groups, session expiry. KIP-848
 * consumer groups (ConsumerGroupHeartbeat) share the groups map, the offsets and the tick; their
 * logic is in consumer-group-heartbeat.ts and a group is of one type only (docs/adr/0007).
 */
import {
  ErrorCode,
  type JoinGroupRequest,
  type JoinGroupResponseInit,
  type SyncGroupRequest,
  type SyncGroupResponseInit,
} from '@tributary/protocol';
import type { GroupRecord, GroupValue } from './group-records.ts';
import {
  forgetGroup,
  groupRecord,
  memberError,
  respond,
  syncError,
  emptyBytes,
  type ApplyContext,
  type GroupResult,
} from './group-apply-context.ts';
import {
  hasNoMembers,
  newGroup,
  offsetKey,
  selectedMetadata,
  type Caller,
  type Group,
  type Member,
} from './group-state.ts';
import { describeConsumerGroups } from './consumer-group-describe.ts';
import {
  consumerHeartbeat,
  expireConsumerMembers,
  type ConsumerGroupOptions,
  type ConsumerHeartbeatCommand,
} from './consumer-group-heartbeat.ts';
import { consumerGroupTombstones, isConsumerRecord } from './consumer-group-records.ts';
import { replayConsumerRecord } from './consumer-group-replay.ts';

export type { Caller } from './group-state.ts';
import { applyAdminCommand, type AdminCommand } from './group-admin-commands.ts';

export interface GroupCoordinatorOptions {
  /** group.initial.rebalance.delay.ms: an empty group's first rebalance waits this long. */
  readonly initialRebalanceDelayMs: number;
  /** group.min.session.timeout.ms / group.max.session.timeout.ms. */
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  /** A fresh, unique member id for a client (randomness is injected). */
  newMemberId(clientId: string): string;
  /**
   * offsets.retention.minutes (KIP-211): a group without members is forgotten, offsets and all,
   * once it has been empty and uncommitted-to for this long.
   */
  readonly offsetsRetentionMs: number;
  /** group.consumer.session.timeout.ms for KIP-848 members (Kafka's default 45 s). */
  readonly consumerSessionTimeoutMs?: number;
  /** group.consumer.heartbeat.interval.ms for KIP-848 members (Kafka's default 5 s). */
  readonly consumerHeartbeatIntervalMs?: number;
}

export const defaultConsumerSessionTimeoutMs = 45_000;
export const defaultConsumerHeartbeatIntervalMs = 5_000;

export type GroupCommand =
  | { readonly kind: 'join'; readonly caller: Caller; readonly request: JoinGroupRequest }
  | { readonly kind: 'sync'; readonly caller: Caller; readonly request: SyncGroupRequest }
  | { readonly kind: 'tick' }
  | ConsumerHeartbeatCommand
  | {
      readonly kind: 'consumerDescribe';
      readonly caller: Caller;
      readonly groupIds: readonly string[];
      /** Topic names for the ids in assignments (read by the handler). */
      topicName(topicId: string): string | undefined;
    }
  | AdminCommand;

export class GroupCoordinator {
  readonly #groups = new Map<string, Group>();
  readonly #options: GroupCoordinatorOptions;
  readonly #consumerOptions: ConsumerGroupOptions;

  constructor(options: GroupCoordinatorOptions) {
    this.#options = options;
    this.#consumerOptions = {
      sessionTimeoutMs: options.consumerSessionTimeoutMs ?? defaultConsumerSessionTimeoutMs,
      heartbeatIntervalMs:
        options.consumerHeartbeatIntervalMs ?? defaultConsumerHeartbeatIntervalMs,
      newMemberId: () => options.newMemberId(''),
    };
  }

  /** Read-only view for tests and the operator tools. */
  get groups(): ReadonlyMap<string, Group> {
    return this.#groups;
  }

  apply(command: GroupCommand, now: number): GroupResult {
    const context: ApplyContext = {
      now,
      records: [],
      completions: [],
      groups: this.#groups,
      coordinator: this,
    };
    if (command.kind === 'join') this.#join(context, command.caller, command.request);
    else if (command.kind === 'sync') this.#sync(context, command.caller, command.request);
    else if (command.kind === 'tick') this.#tick(context);
    else if (command.kind === 'consumerHeartbeat') {
      const answer = consumerHeartbeat(context, this.#consumerOptions, command);
      respond(context, command.caller.requestId, answer);
    } else if (command.kind === 'consumerDescribe') {
      const answer = describeConsumerGroups(context.groups, command.groupIds, command.topicName);
      respond(context, command.caller.requestId, answer);
    } else applyAdminCommand(context, command);
    return { records: context.records, completions: context.completions };
  }

  /** Rebuilds state from one persisted record, in log order. */
  replay(record: GroupRecord): void {
    if (isConsumerRecord(record)) {
      replayConsumerRecord(this.#groups, record);
      return;
    }
    if (record.type === 'offset') {
      const key = offsetKey(record.topic, record.partition);
      if (record.value === null) {
        this.#groups.get(record.groupId)?.offsets.delete(key);
        return;
      }
      const group = this.#groups.get(record.groupId) ?? newGroup(record.groupId);
      this.#groups.set(record.groupId, group);
      group.offsets.set(key, {
        topic: record.topic,
        partition: record.partition,
        value: record.value,
      });
      return;
    }
    if (record.value === null) {
      this.#groups.delete(record.groupId);
      return;
    }
    const group = this.#groups.get(record.groupId) ?? newGroup(record.groupId);
    this.#groups.set(record.groupId, group);
    group.consumer = undefined;
    restoreGroup(group, record.value);
  }

  // ---- JoinGroup -------------------------------------------------------------------------

  #join(context: ApplyContext, caller: Caller, request: JoinGroupRequest): void {
    const fail = (errorCode: number, memberId = request.memberId): void =>
      respond(context, caller.requestId, joinError(errorCode, memberId));
    if (request.groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    const { minSessionTimeoutMs, maxSessionTimeoutMs } = this.#options;
    if (
      request.sessionTimeoutMs < minSessionTimeoutMs ||
      request.sessionTimeoutMs > maxSessionTimeoutMs
    ) {
      return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    let group = context.groups.get(request.groupId);
    if (group === undefined) {
      if (request.memberId !== '') return fail(ErrorCode.UNKNOWN_MEMBER_ID);
      group = newGroup(request.groupId);
      context.groups.set(request.groupId, group);
    }
    if (group.consumer !== undefined) {
      // No classic members inside a consumer group (ADR 0007); an empty one turns classic.
      if (group.consumer.members.size > 0) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      context.records.push(...consumerGroupTombstones(group.groupId));
      group.consumer = undefined;
    }
    if (!supportsProtocols(group, request)) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    if (request.memberId === '') this.#joinUnknownMember(context, group, caller, request);
    else this.#joinKnownMember(context, group, caller, request);
  }

  #joinUnknownMember(
    context: ApplyContext,
    group: Group,
    caller: Caller,
    request: JoinGroupRequest,
  ): void {
    const instanceId = request.groupInstanceId;
    if (instanceId !== null && group.staticMembers.has(instanceId)) {
      this.#replaceStaticMember(context, group, caller, request);
      return;
    }
    const memberId = this.#options.newMemberId(caller.clientId);
    if (instanceId === null && caller.apiVersion >= 4) {
      // KIP-394: hand out the id first; the member counts once it rejoins with it.
      group.pendingMembers.set(memberId, context.now + request.sessionTimeoutMs);
      respond(context, caller.requestId, joinError(ErrorCode.MEMBER_ID_REQUIRED, memberId));
      return;
    }
    this.#addMember(context, group, caller, request, memberId);
  }

  #joinKnownMember(
    context: ApplyContext,
    group: Group,
    caller: Caller,
    request: JoinGroupRequest,
  ): void {
    const { memberId } = request;
    if (group.pendingMembers.has(memberId)) {
      group.pendingMembers.delete(memberId);
      this.#addMember(context, group, caller, request, memberId);
      return;
    }
    const error = memberError(group, memberId, request.groupInstanceId);
    if (error !== ErrorCode.NONE) {
      respond(context, caller.requestId, joinError(error, memberId));
      return;
    }
    const member = group.members.get(memberId);
    if (member === undefined) return;
    const unchanged = sameProtocols(member, request);
    updateMember(member, caller, request, context.now);
    if (group.state === 'PreparingRebalance') {
      this.#awaitJoin(context, group, member, caller);
    } else if (
      unchanged &&
      (group.state === 'CompletingRebalance' ||
        (group.state === 'Stable' && group.leaderId !== memberId))
    ) {
      // A rejoin with nothing new: answer with the current generation, as Kafka does.
      respond(context, caller.requestId, joinAnswer(group, member));
    } else {
      this.#awaitJoin(context, group, member, caller);
    }
  }

  #addMember(
    context: ApplyContext,
    group: Group,
    caller: Caller,
    request: JoinGroupRequest,
    memberId: string,
  ): void {
    const member: Member = {
      memberId,
      groupInstanceId: request.groupInstanceId,
      clientId: caller.clientId,
      clientHost: caller.clientHost,
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      protocols: request.protocols,
      assignment: emptyBytes,
      pendingJoin: undefined,
      pendingSync: undefined,
      sessionDeadlineMs: context.now + request.sessionTimeoutMs,
    };
    group.members.set(memberId, member);
    if (member.groupInstanceId !== null) group.staticMembers.set(member.groupInstanceId, memberId);
    group.protocolType ??= request.protocolType;
    if (group.initialDelayUntilMs !== undefined) {
      // Each new member during the initial delay extends it, within the rebalance timeout.
      group.initialDelayUntilMs = Math.min(
        context.now + this.#options.initialRebalanceDelayMs,
        group.rebalanceDeadlineMs,
      );
    }
    this.#awaitJoin(context, group, member, caller);
  }

  /** Parks the member's JoinGroup and (re)starts or completes the rebalance as needed. */
  #awaitJoin(context: ApplyContext, group: Group, member: Member, caller: Caller): void {
    if (member.pendingJoin !== undefined) {
      respond(context, member.pendingJoin, joinError(ErrorCode.REBALANCE_IN_PROGRESS, ''));
    }
    member.pendingJoin = caller.requestId;
    if (group.state !== 'PreparingRebalance') this.prepareRebalance(context, group);
    this.#maybeCompleteJoin(context, group);
  }

  /** KIP-345: a static member restarted with a new member id takes over the old one. */
  #replaceStaticMember(
    context: ApplyContext,
    group: Group,
    caller: Caller,
    request: JoinGroupRequest,
  ): void {
    const instanceId = request.groupInstanceId ?? '';
    const oldId = group.staticMembers.get(instanceId) ?? '';
    const old = group.members.get(oldId);
    const memberId = this.#options.newMemberId(caller.clientId);
    if (old === undefined) return this.#addMember(context, group, caller, request, memberId);
    const fenced = joinError(ErrorCode.FENCED_INSTANCE_ID, oldId);
    if (old.pendingJoin !== undefined) respond(context, old.pendingJoin, fenced);
    if (old.pendingSync !== undefined) respond(context, old.pendingSync, fenced);
    old.pendingJoin = undefined;
    old.pendingSync = undefined;
    const unchanged = sameProtocols(old, request);
    group.members.delete(oldId);
    old.memberId = memberId;
    group.members.set(memberId, old);
    group.staticMembers.set(instanceId, memberId);
    if (group.leaderId === oldId) group.leaderId = memberId;
    updateMember(old, caller, request, context.now);
    if (group.state === 'Stable' && unchanged) {
      // Same subscription: keep the assignment, no rebalance; record the new member id.
      context.records.push(groupRecord(group));
      respond(context, caller.requestId, joinAnswer(group, old));
      return;
    }
    this.#awaitJoin(context, group, old, caller);
  }

  /** Moves the group to PreparingRebalance; members must rejoin within the rebalance timeout. */
  prepareRebalance(context: ApplyContext, group: Group): void {
    if (group.state === 'CompletingRebalance') {
      for (const member of group.members.values()) {
        if (member.pendingSync !== undefined) {
          respond(context, member.pendingSync, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
          member.pendingSync = undefined;
        }
      }
    }
    let timeoutMs = 0;
    for (const member of group.members.values()) {
      timeoutMs = Math.max(timeoutMs, member.rebalanceTimeoutMs);
    }
    group.rebalanceDeadlineMs = context.now + timeoutMs;
    if (group.state === 'Empty') {
      const delayMs = this.#options.initialRebalanceDelayMs;
      group.initialDelayUntilMs = context.now + delayMs;
      group.rebalanceDeadlineMs = Math.max(group.rebalanceDeadlineMs, context.now + delayMs);
    }
    group.state = 'PreparingRebalance';
  }

  #maybeCompleteJoin(context: ApplyContext, group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    const delayed =
      group.initialDelayUntilMs !== undefined && context.now < group.initialDelayUntilMs;
    if (context.now >= group.rebalanceDeadlineMs) {
      this.#completeJoin(context, group);
      return;
    }
    if (delayed || group.pendingMembers.size > 0) return;
    for (const member of group.members.values()) if (member.pendingJoin === undefined) return;
    this.#completeJoin(context, group);
  }

  /** Ends the join phase: drops members that did not rejoin, opens the next generation. */
  #completeJoin(context: ApplyContext, group: Group): void {
    for (const member of group.members.values()) {
      if (member.pendingJoin === undefined) removeMemberState(group, member);
    }
    group.pendingMembers.clear();
    group.initialDelayUntilMs = undefined;
    group.generationId += 1;
    if (group.members.size === 0) {
      group.state = 'Empty';
      group.protocolName = null;
      group.leaderId = undefined;
      context.records.push(groupRecord(group));
      return;
    }
    group.protocolName = selectProtocol(group);
    if (group.leaderId === undefined || !group.members.has(group.leaderId)) {
      group.leaderId = group.members.keys().next().value;
    }
    group.state = 'CompletingRebalance';
    for (const member of group.members.values()) {
      member.assignment = emptyBytes;
      member.sessionDeadlineMs = context.now + member.sessionTimeoutMs;
      if (member.pendingJoin !== undefined) {
        respond(context, member.pendingJoin, joinAnswer(group, member));
        member.pendingJoin = undefined;
      }
    }
  }

  // ---- SyncGroup -------------------------------------------------------------------------

  #sync(context: ApplyContext, caller: Caller, request: SyncGroupRequest): void {
    const group = context.groups.get(request.groupId);
    const fail = (errorCode: number): void =>
      respond(context, caller.requestId, syncError(errorCode));
    if (group === undefined) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    const error = memberError(group, request.memberId, request.groupInstanceId);
    if (error !== ErrorCode.NONE) return fail(error);
    const member = group.members.get(request.memberId);
    if (member === undefined) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (request.generationId !== group.generationId) return fail(ErrorCode.ILLEGAL_GENERATION);
    if (
      (request.protocolType !== null && request.protocolType !== group.protocolType) ||
      (request.protocolName !== null && request.protocolName !== group.protocolName)
    ) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    member.sessionDeadlineMs = context.now + member.sessionTimeoutMs;
    if (group.state === 'PreparingRebalance') return fail(ErrorCode.REBALANCE_IN_PROGRESS);
    if (group.state === 'Stable') {
      respond(context, caller.requestId, syncAnswer(group, member.assignment));
      return;
    }
    if (group.state !== 'CompletingRebalance') return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    member.pendingSync = caller.requestId;
    if (group.leaderId !== member.memberId) return;
    const assignments = new Map(request.assignments.map((a) => [a.memberId, a.assignment]));
    for (const each of group.members.values()) {
      each.assignment = assignments.get(each.memberId) ?? emptyBytes;
    }
    group.state = 'Stable';
    context.records.push(groupRecord(group));
    for (const each of group.members.values()) {
      if (each.pendingSync !== undefined) {
        respond(context, each.pendingSync, syncAnswer(group, each.assignment));
        each.pendingSync = undefined;
      }
    }
  }

  // ---- Time ------------------------------------------------------------------------------

  #tick(context: ApplyContext): void {
    const { now } = context;
    for (const group of context.groups.values()) {
      for (const [memberId, deadline] of group.pendingMembers) {
        if (now >= deadline) group.pendingMembers.delete(memberId);
      }
      for (const member of group.members.values()) {
        if (member.sessionDeadlineMs < 0) member.sessionDeadlineMs = now + member.sessionTimeoutMs;
        const waiting = member.pendingJoin !== undefined && group.state === 'PreparingRebalance';
        if (!waiting && now >= member.sessionDeadlineMs) this.removeMember(context, group, member);
      }
      expireConsumerMembers(context, group, this.#consumerOptions.sessionTimeoutMs);
      this.#maybeCompleteJoin(context, group);
      this.#maybeExpire(context, group);
    }
  }

  /** Forgets a group that has had no members, and no commit, for offsets.retention.minutes. */
  #maybeExpire(context: ApplyContext, group: Group): void {
    if (group.state !== 'Empty' || !hasNoMembers(group)) {
      group.emptySinceMs = undefined;
      return;
    }
    group.emptySinceMs ??= context.now;
    let lastActivityMs = group.emptySinceMs;
    for (const { value } of group.offsets.values()) {
      if (value.commitTimestampMs > lastActivityMs) lastActivityMs = value.commitTimestampMs;
    }
    if (context.now >= lastActivityMs + this.#options.offsetsRetentionMs) {
      forgetGroup(context, group);
    }
  }

  /** Removes a member (left, expired) and rebalances the rest. */
  removeMember(context: ApplyContext, group: Group, member: Member): void {
    const fenced = ErrorCode.UNKNOWN_MEMBER_ID;
    if (member.pendingJoin !== undefined) {
      respond(context, member.pendingJoin, joinError(fenced, member.memberId));
    }
    if (member.pendingSync !== undefined) respond(context, member.pendingSync, syncError(fenced));
    removeMemberState(group, member);
    if (group.state === 'Stable' || group.state === 'CompletingRebalance') {
      this.prepareRebalance(context, group);
    }
    this.#maybeCompleteJoin(context, group);
  }
}

function restoreGroup(group: Group, value: GroupValue): void {
  group.protocolType = value.protocolType === '' ? null : value.protocolType;
  group.generationId = value.generationId;
  group.protocolName = value.protocolName;
  group.leaderId = value.leaderId ?? undefined;
  group.members.clear();
  group.staticMembers.clear();
  for (const saved of value.members) {
    group.members.set(saved.memberId, {
      ...saved,
      protocols: [{ name: value.protocolName ?? '', metadata: saved.subscription }],
      pendingJoin: undefined,
      pendingSync: undefined,
      sessionDeadlineMs: -1,
    });
    if (saved.groupInstanceId !== null) {
      group.staticMembers.set(saved.groupInstanceId, saved.memberId);
    }
  }
  group.state = group.members.size === 0 ? 'Empty' : 'Stable';
}

function removeMemberState(group: Group, member: Member): void {
  group.members.delete(member.memberId);
  if (member.groupInstanceId !== null) {
    if (group.staticMembers.get(member.groupInstanceId) === member.memberId) {
      group.staticMembers.delete(member.groupInstanceId);
    }
  }
  if (group.leaderId === member.memberId) group.leaderId = undefined;
}

function updateMember(
  member: Member,
  caller: Caller,
  request: JoinGroupRequest,
  now: number,
): void {
  member.clientId = caller.clientId;
  member.clientHost = caller.clientHost;
  member.sessionTimeoutMs = request.sessionTimeoutMs;
  member.rebalanceTimeoutMs = request.rebalanceTimeoutMs;
  member.protocols = request.protocols;
  member.sessionDeadlineMs = now + request.sessionTimeoutMs;
}

function sameProtocols(member: Member, request: JoinGroupRequest): boolean {
  if (member.protocols.length !== request.protocols.length) return false;
  return member.protocols.every((protocol, index) => {
    const other = request.protocols[index];
    return (
      other !== undefined &&
      other.name === protocol.name &&
      other.metadata.equals(protocol.metadata)
    );
  });
}

function supportsProtocols(group: Group, request: JoinGroupRequest): boolean {
  if (request.protocolType === '' || request.protocols.length === 0) return false;
  if (group.members.size === 0) return true;
  if (group.protocolType !== null && group.protocolType !== request.protocolType) return false;
  const names = new Set(request.protocols.map((protocol) => protocol.name));
  const candidates = candidateProtocols(group);
  return candidates.some((name) => names.has(name));
}

/** Protocols every member supports, in no particular order. */
function candidateProtocols(group: Group): string[] {
  let candidates: Set<string> | undefined;
  for (const member of group.members.values()) {
    const names = new Set(member.protocols.map((protocol) => protocol.name));
    const previous: Set<string> | undefined = candidates;
    candidates =
      previous === undefined ? names : new Set([...previous].filter((n) => names.has(n)));
  }
  return [...(candidates ?? [])];
}

/** Each member votes for its most preferred candidate; the most votes wins (Kafka's rule). */
function selectProtocol(group: Group): string | null {
  const candidates = new Set(candidateProtocols(group));
  const votes = new Map<string, number>();
  for (const member of group.members.values()) {
    const choice = member.protocols.find((protocol) => candidates.has(protocol.name));
    if (choice !== undefined) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
  }
  let best: string | null = null;
  let bestVotes = 0;
  for (const [name, count] of votes) {
    if (count > bestVotes) {
      best = name;
      bestVotes = count;
    }
  }
  return best;
}

function joinAnswer(group: Group, member: Member): JoinGroupResponseInit {
  const isLeader = group.leaderId === member.memberId;
  return {
    errorCode: ErrorCode.NONE,
    generationId: group.generationId,
    protocolType: group.protocolType,
    protocolName: group.protocolName,
    leader: group.leaderId ?? '',
    memberId: member.memberId,
    members: isLeader
      ? [...group.members.values()].map((each) => ({
          memberId: each.memberId,
          groupInstanceId: each.groupInstanceId,
          metadata: selectedMetadata(group, each),
        }))
      : [],
  };
}

function joinError(errorCode: number, memberId: string): JoinGroupResponseInit {
  return { errorCode, generationId: -1, protocolName: null, leader: '', memberId, members: [] };
}

function syncAnswer(group: Group, assignment: Buffer): SyncGroupResponseInit {
  return {
    errorCode: ErrorCode.NONE,
    protocolType: group.protocolType,
    protocolName: group.protocolName,
    assignment,
  };
}
