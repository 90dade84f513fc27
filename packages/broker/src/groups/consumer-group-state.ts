/**
 * In-memory state of KIP-848 consumer groups (the "consumer" group type, driven by
 * ConsumerGroupHeartbeat), kept beside the classic state of the same `Group` so both protocols
 * share one offsets map. Plain data and small pure helpers; the logic is in
 * consumer-group-heartbeat.ts.
 *
 * Invariants: the group epoch only grows; the assignment epoch is at most the group epoch; a
 * member's epoch is at most the assignment epoch; a partition is in at most one member's
 * `assigned` or `pendingRevocation` (incremental reconciliation hands a partition to its new
 * owner only once the old owner has acknowledged the revocation). Assignments are keyed by topic
 * id, as on the wire, so a topic deleted and created again is a different topic.
 */

/** topic id -> partition indexes. */
export type Assignment = Map<string, Set<number>>;

/** Kafka's member states (MemberState), in Kafka's spelling. */
export type ConsumerMemberState = 'STABLE' | 'UNREVOKED_PARTITIONS' | 'UNRELEASED_PARTITIONS';

/** Member epoch a member sends to leave; -2 for a static member that will come back. */
export const leaveGroupMemberEpoch = -1;
export const leaveGroupStaticMemberEpoch = -2;

export interface ConsumerMember {
  readonly memberId: string;
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  memberEpoch: number;
  previousMemberEpoch: number;
  state: ConsumerMemberState;
  /** Partitions the member may use now. */
  assigned: Assignment;
  /** Partitions the member must give up before it moves to the next epoch. */
  pendingRevocation: Assignment;
  /** Fenced when the clock passes this; -1 after replay until the first tick sets it. */
  sessionDeadlineMs: number;
  /** While revoking: fenced if the revocation is not acknowledged by then. */
  revocationDeadlineMs: number | undefined;
}

/** What the group saw of a subscribed topic when it last computed an assignment. */
export interface SubscribedTopic {
  readonly name: string;
  readonly topicId: string;
  readonly partitionCount: number;
}

export interface ConsumerGroupData {
  groupEpoch: number;
  assignmentEpoch: number;
  readonly members: Map<string, ConsumerMember>;
  /** instance id -> member id. */
  readonly staticMembers: Map<string, string>;
  /** member id -> target assignment at `assignmentEpoch`. */
  readonly targetAssignment: Map<string, Assignment>;
  /** Subscribed topics that exist, by name: a change bumps the group epoch. */
  subscribedTopics: Map<string, SubscribedTopic>;
}

export type ConsumerGroupStateName = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable';

/** What a consumer heartbeat and the assignors may know about topics (read-only view). */
export interface TopicCatalog {
  topic(name: string): { readonly topicId: string; readonly partitionCount: number } | undefined;
  topicNames(): Iterable<string>;
}

export function newConsumerGroupData(): ConsumerGroupData {
  return {
    groupEpoch: 0,
    assignmentEpoch: 0,
    members: new Map(),
    staticMembers: new Map(),
    targetAssignment: new Map(),
    subscribedTopics: new Map(),
  };
}

export function newConsumerMember(memberId: string): ConsumerMember {
  return {
    memberId,
    instanceId: null,
    rackId: null,
    clientId: '',
    clientHost: '',
    rebalanceTimeoutMs: 0,
    subscribedTopicNames: [],
    subscribedTopicRegex: null,
    serverAssignor: null,
    memberEpoch: 0,
    previousMemberEpoch: 0,
    state: 'STABLE',
    assigned: new Map(),
    pendingRevocation: new Map(),
    sessionDeadlineMs: -1,
    revocationDeadlineMs: undefined,
  };
}

/** Drops a member and, if its instance id still points at it, that static mapping. */
export function deleteConsumerMember(data: ConsumerGroupData, member: ConsumerMember): void {
  data.members.delete(member.memberId);
  if (member.instanceId !== null && data.staticMembers.get(member.instanceId) === member.memberId) {
    data.staticMembers.delete(member.instanceId);
  }
}

/** Kafka's ConsumerGroup.maybeUpdateGroupState, derived rather than stored. */
export function consumerGroupState(data: ConsumerGroupData): ConsumerGroupStateName {
  if (data.members.size === 0) return 'Empty';
  if (data.groupEpoch > data.assignmentEpoch) return 'Assigning';
  for (const member of data.members.values()) {
    if (member.state !== 'STABLE' || member.memberEpoch !== data.assignmentEpoch) {
      return 'Reconciling';
    }
  }
  return 'Stable';
}

// ---- Assignment helpers -------------------------------------------------------------------

export interface WireTopicPartitions {
  readonly topicId: string;
  readonly partitions: readonly number[];
}

export function assignmentFromWire(list: readonly WireTopicPartitions[]): Assignment {
  const result: Assignment = new Map();
  for (const { topicId, partitions } of list) {
    const set = result.get(topicId) ?? new Set<number>();
    for (const partition of partitions) set.add(partition);
    if (set.size > 0) result.set(topicId, set);
  }
  return result;
}

/** Sorted by topic id and partition, so answers and records are deterministic. */
export function assignmentToWire(assignment: Assignment): WireTopicPartitions[] {
  return [...assignment.keys()]
    .toSorted()
    .map((topicId) => ({
      topicId,
      partitions: [...(assignment.get(topicId) ?? [])].toSorted((a, b) => a - b),
    }))
    .filter((entry) => entry.partitions.length > 0);
}

export function assignmentsEqual(a: Assignment, b: Assignment): boolean {
  if (countPartitions(a) !== countPartitions(b)) return false;
  for (const [topicId, partitions] of a) {
    const other = b.get(topicId);
    for (const partition of partitions) if (other?.has(partition) !== true) return false;
  }
  return true;
}

export function countPartitions(assignment: Assignment): number {
  let count = 0;
  for (const partitions of assignment.values()) count += partitions.size;
  return count;
}

export function addPartition(assignment: Assignment, topicId: string, partition: number): void {
  const set = assignment.get(topicId);
  if (set === undefined) assignment.set(topicId, new Set([partition]));
  else set.add(partition);
}

export function hasPartition(assignment: Assignment, topicId: string, partition: number): boolean {
  return assignment.get(topicId)?.has(partition) === true;
}

/** Does `owned` (as a client reports it) hold any partition of `assignment`? */
export function ownsAnyOf(owned: Assignment, assignment: Assignment): boolean {
  for (const [topicId, partitions] of owned) {
    for (const partition of partitions)
      if (hasPartition(assignment, topicId, partition)) return true;
  }
  return false;
}

/** Is every partition of `owned` in `assignment`? */
export function isSubset(owned: Assignment, assignment: Assignment): boolean {
  for (const [topicId, partitions] of owned) {
    for (const partition of partitions) {
      if (!hasPartition(assignment, topicId, partition)) return false;
    }
  }
  return true;
}
