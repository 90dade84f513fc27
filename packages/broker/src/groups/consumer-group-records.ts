/**
 * The records a KIP-848 consumer group persists in `__consumer_offsets`, beside the classic
 * group and offset records (group-records.ts owns the key framing; docs/FORMATS.md lists
 * every field). As in Kafka, the state is split so each change rewrites only what changed and
 * compaction keeps the latest of each: the group (epoch and the subscribed topics it last saw),
 * each member's metadata, the target assignment epoch, each member's target assignment and each
 * member's current assignment (epochs, reconciliation state, assigned and revoking partitions).
 * A null value is a tombstone. Values are JSON (the framing's int16 version 0 in front).
 */
import assert from 'node:assert/strict';
import {
  assignmentToWire,
  type Assignment,
  type ConsumerGroupData,
  type ConsumerMember,
  type ConsumerMemberState,
  type SubscribedTopic,
  type WireTopicPartitions,
} from './consumer-group-state.ts';

export interface ConsumerGroupValue {
  readonly groupEpoch: number;
  readonly subscribedTopics: readonly SubscribedTopic[];
}

export interface ConsumerMemberValue {
  readonly instanceId: string | null;
  readonly rackId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly subscribedTopicNames: readonly string[];
  readonly subscribedTopicRegex: string | null;
  readonly serverAssignor: string | null;
}

export interface ConsumerTargetEpochValue {
  readonly assignmentEpoch: number;
}

export interface ConsumerTargetValue {
  readonly partitions: readonly WireTopicPartitions[];
}

export interface ConsumerAssignmentValue {
  readonly memberEpoch: number;
  readonly previousMemberEpoch: number;
  readonly state: ConsumerMemberState;
  readonly assigned: readonly WireTopicPartitions[];
  readonly pendingRevocation: readonly WireTopicPartitions[];
}

interface GroupKeyed<T extends string, V> {
  readonly type: T;
  readonly groupId: string;
  readonly value: V | null;
}

interface MemberKeyed<T extends string, V> extends GroupKeyed<T, V> {
  readonly memberId: string;
}

export type ConsumerGroupRecord =
  | GroupKeyed<'consumerGroup', ConsumerGroupValue>
  | MemberKeyed<'consumerMember', ConsumerMemberValue>
  | GroupKeyed<'consumerTargetEpoch', ConsumerTargetEpochValue>
  | MemberKeyed<'consumerTarget', ConsumerTargetValue>
  | MemberKeyed<'consumerAssignment', ConsumerAssignmentValue>;

/** Kafka's key type of each record (group-records.ts frames the keys). */
export const consumerKeyTypes: Readonly<Record<ConsumerGroupRecord['type'], number>> = {
  consumerGroup: 3,
  consumerMember: 5,
  consumerTargetEpoch: 6,
  consumerTarget: 7,
  consumerAssignment: 8,
};

/** The types whose key carries a member id after the group id. */
const memberKeyed: ReadonlySet<string> = new Set([
  'consumerMember',
  'consumerTarget',
  'consumerAssignment',
]);

const typeOfKey = new Map(
  Object.entries(consumerKeyTypes).map(([type, key]) => [key, type as ConsumerGroupRecord['type']]),
);

export function isConsumerRecord(record: { readonly type: string }): record is ConsumerGroupRecord {
  return Object.hasOwn(consumerKeyTypes, record.type);
}

export interface ConsumerRecordParts {
  readonly keyType: number;
  readonly groupId: string;
  /** Reads the member id from the key (only member-keyed types have one). */
  memberId(): string;
  readonly body: Record<string, unknown> | null;
}

/**
 * Decodes a consumer group record. The JSON is trusted as far as its shape (it was written by
 * this coordinator, under the batch CRC), so the body is the value of its key's type; an unknown
 * key type throws, never skips.
 */
export function decodeConsumerRecord(parts: ConsumerRecordParts): ConsumerGroupRecord {
  const type = typeOfKey.get(parts.keyType);
  if (type === undefined) assert.fail(`unknown group record key type ${parts.keyType}`);
  const { groupId, body: value } = parts;
  const record = memberKeyed.has(type)
    ? { type, groupId, memberId: parts.memberId(), value }
    : { type, groupId, value };
  return record as ConsumerGroupRecord;
}

// ---- Records from state --------------------------------------------------------------------

export function groupEpochRecord(groupId: string, data: ConsumerGroupData): ConsumerGroupRecord {
  const subscribedTopics = [...data.subscribedTopics.values()].toSorted((a, b) =>
    a.name.localeCompare(b.name),
  );
  return {
    type: 'consumerGroup',
    groupId,
    value: { groupEpoch: data.groupEpoch, subscribedTopics },
  };
}

export function targetEpochRecord(groupId: string, data: ConsumerGroupData): ConsumerGroupRecord {
  return { type: 'consumerTargetEpoch', groupId, value: { assignmentEpoch: data.assignmentEpoch } };
}

export function memberRecord(groupId: string, member: ConsumerMember): ConsumerGroupRecord {
  return {
    type: 'consumerMember',
    groupId,
    memberId: member.memberId,
    value: {
      instanceId: member.instanceId,
      rackId: member.rackId,
      clientId: member.clientId,
      clientHost: member.clientHost,
      rebalanceTimeoutMs: member.rebalanceTimeoutMs,
      subscribedTopicNames: member.subscribedTopicNames,
      subscribedTopicRegex: member.subscribedTopicRegex,
      serverAssignor: member.serverAssignor,
    },
  };
}

export function targetRecord(
  groupId: string,
  memberId: string,
  assignment: Assignment,
): ConsumerGroupRecord {
  const value = { partitions: assignmentToWire(assignment) };
  return { type: 'consumerTarget', groupId, memberId, value };
}

export function assignmentRecord(groupId: string, member: ConsumerMember): ConsumerGroupRecord {
  return {
    type: 'consumerAssignment',
    groupId,
    memberId: member.memberId,
    value: {
      memberEpoch: member.memberEpoch,
      previousMemberEpoch: member.previousMemberEpoch,
      state: member.state,
      assigned: assignmentToWire(member.assigned),
      pendingRevocation: assignmentToWire(member.pendingRevocation),
    },
  };
}

/** Tombstones of a consumer group with no members left (deleted, expired, or turned classic). */
export function consumerGroupTombstones(groupId: string): ConsumerGroupRecord[] {
  return [
    { type: 'consumerTargetEpoch', groupId, value: null },
    { type: 'consumerGroup', groupId, value: null },
  ];
}
