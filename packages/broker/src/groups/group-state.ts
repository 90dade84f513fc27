/**
 * In-memory state of classic consumer groups, as the coordinator keeps it. Plain data: the
 * coordinator mutates it, replay rebuilds it, nothing here does I/O.
 *
 * Invariants: a member with `pendingJoin` set is waiting for its JoinGroup answer (only in
 * PreparingRebalance); `pendingSync` only in CompletingRebalance; `staticMembers` maps each
 * group.instance.id to the one member id currently allowed to use it.
 */
import type { JoinGroupRequestProtocol } from '@tributary/protocol';
import type { ConsumerGroupData } from './consumer-group-state.ts';
import type { OffsetValue } from './group-records.ts';

export type GroupStateName =
  'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface Member {
  memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: JoinGroupRequestProtocol[];
  assignment: Buffer;
  /** Request id of the JoinGroup waiting for the rebalance to complete. */
  pendingJoin: number | undefined;
  /** Request id of the SyncGroup waiting for the leader's assignment. */
  pendingSync: number | undefined;
  /** Evicted when the clock passes this; -1 after replay until the first tick sets it. */
  sessionDeadlineMs: number;
}

export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly value: OffsetValue;
}

export interface Group {
  readonly groupId: string;
  state: GroupStateName;
  /** null for a group only used for offset storage (simple consumers). */
  protocolType: string | null;
  protocolName: string | null;
  generationId: number;
  leaderId: string | undefined;
  readonly members: Map<string, Member>;
  readonly staticMembers: Map<string, string>;
  /** KIP-394: member ids handed out with MEMBER_ID_REQUIRED, with their expiry time. */
  readonly pendingMembers: Map<string, number>;
  /** Keyed by offsetKey(topic, partition). */
  readonly offsets: Map<string, CommittedOffset>;
  rebalanceDeadlineMs: number;
  /** While the first rebalance of an empty group waits for more members to arrive. */
  initialDelayUntilMs: number | undefined;
  /**
   * When the coordinator first saw the group without members (not persisted: after a restart
   * the clock starts again, so offsets are never forgotten earlier than Kafka would).
   */
  emptySinceMs: number | undefined;
  /**
   * Set for a KIP-848 "consumer" group (ConsumerGroupHeartbeat); its classic fields then stay
   * empty. A group is one type or the other, never both (docs/adr/0007).
   */
  consumer: ConsumerGroupData | undefined;
}

export function newGroup(groupId: string): Group {
  return {
    groupId,
    state: 'Empty',
    protocolType: null,
    protocolName: null,
    generationId: 0,
    leaderId: undefined,
    members: new Map(),
    staticMembers: new Map(),
    pendingMembers: new Map(),
    offsets: new Map(),
    rebalanceDeadlineMs: 0,
    initialDelayUntilMs: undefined,
    emptySinceMs: undefined,
    consumer: undefined,
  };
}

export function offsetKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** The member's metadata for the group's selected protocol (empty if none). */
export function selectedMetadata(group: Group, member: Member): Buffer {
  const found = member.protocols.find((protocol) => protocol.name === group.protocolName);
  return found?.metadata ?? Buffer.alloc(0);
}

/**
 * Topics in a consumer-protocol subscription (ConsumerProtocolSubscription: int16 version,
 * then an array of int16-length strings). Unreadable metadata subscribes to nothing.
 */
export function subscribedTopics(metadata: Buffer): string[] {
  try {
    let at = 2;
    const count = metadata.readInt32BE(at);
    at += 4;
    const topics: string[] = [];
    for (let i = 0; i < count; i++) {
      const length = metadata.readInt16BE(at);
      topics.push(metadata.toString('utf8', at + 2, at + 2 + length));
      at += 2 + length;
    }
    return topics;
  } catch {
    return [];
  }
}

/** Who sent a group request: correlation within the runtime, version and client identity. */
export interface Caller {
  readonly requestId: number;
  readonly apiVersion: number;
  readonly clientId: string;
  readonly clientHost: string;
}

/** Has the group no members of either protocol? */
export function hasNoMembers(group: Group): boolean {
  return group.members.size === 0 && (group.consumer?.members.size ?? 0) === 0;
}

/** The group type ListGroups v5 and the CLI show. */
export function groupType(group: Group): 'classic' | 'consumer' {
  return group.consumer === undefined ? 'classic' : 'consumer';
}
