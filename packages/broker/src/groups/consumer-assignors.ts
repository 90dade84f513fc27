/**
 * The server-side assignors of KIP-848 consumer groups (`group.remote.assignor`, the
 * ServerAssignor field): `uniform` (the default) and `range`, as Kafka names them. Pure
 * functions: members with the topics they subscribe to, the topics that exist, the previous
 * target assignment; out comes the new target assignment of every member.
 *
 * `uniform` balances the partition count across members (no two members differ by more than one
 * among those that could take a partition) and is sticky: a partition stays with its previous
 * owner unless balance needs it elsewhere, so a rebalance moves as few partitions as it can.
 * `range` co-partitions: for each topic, the members subscribed to it (sorted by member id) each
 * take a contiguous range, the first `partitions % members` one more, as the classic
 * RangeAssignor does.
 */
import {
  addPartition,
  hasPartition,
  type Assignment,
  type SubscribedTopic,
} from './consumer-group-state.ts';

export interface AssignorMember {
  readonly memberId: string;
  /** Names of existing topics the member subscribes to (regexes already resolved). */
  readonly topics: readonly string[];
}

export interface AssignorInput {
  readonly members: readonly AssignorMember[];
  readonly topics: ReadonlyMap<string, SubscribedTopic>;
  readonly previous: ReadonlyMap<string, Assignment>;
}

export type Assignor = (input: AssignorInput) => Map<string, Assignment>;

export const defaultAssignorName = 'uniform';

export const consumerAssignors: ReadonlyMap<string, Assignor> = new Map<string, Assignor>([
  ['uniform', assignUniform],
  ['range', assignRange],
]);

interface Slot {
  readonly topicId: string;
  readonly partition: number;
  readonly eligible: readonly string[];
}

export function assignUniform(input: AssignorInput): Map<string, Assignment> {
  const memberIds = input.members.map((member) => member.memberId).toSorted();
  const result = new Map<string, Assignment>(memberIds.map((id) => [id, new Map()]));
  const counts = new Map<string, number>(memberIds.map((id) => [id, 0]));
  const slots = partitionSlots(input);
  const owner = new Map<Slot, string>();
  // 1. Stickiness: every partition stays where it was, if its owner may still have it.
  for (const slot of slots) {
    for (const memberId of slot.eligible) {
      const previous = input.previous.get(memberId);
      if (previous !== undefined && hasPartition(previous, slot.topicId, slot.partition)) {
        owner.set(slot, memberId);
        counts.set(memberId, (counts.get(memberId) ?? 0) + 1);
        break;
      }
    }
  }
  // 2. New partitions go to the least loaded member that may take them.
  for (const slot of slots) {
    if (owner.has(slot) || slot.eligible.length === 0) continue;
    const chosen = leastLoaded(slot.eligible, counts);
    owner.set(slot, chosen);
    counts.set(chosen, (counts.get(chosen) ?? 0) + 1);
  }
  // 3. Balance: move a partition from a member to an eligible one with at least two fewer,
  // until no such move exists. Each move lowers the sum of squared counts, so this ends.
  let moved = true;
  while (moved) {
    moved = false;
    for (const slot of slots.toReversed()) {
      const from = owner.get(slot);
      if (from === undefined) continue;
      const to = leastLoaded(slot.eligible, counts);
      if ((counts.get(to) ?? 0) + 1 < (counts.get(from) ?? 0)) {
        owner.set(slot, to);
        counts.set(from, (counts.get(from) ?? 0) - 1);
        counts.set(to, (counts.get(to) ?? 0) + 1);
        moved = true;
      }
    }
  }
  for (const [slot, memberId] of owner) {
    const assignment = result.get(memberId);
    if (assignment !== undefined) addPartition(assignment, slot.topicId, slot.partition);
  }
  return result;
}

export function assignRange(input: AssignorInput): Map<string, Assignment> {
  const result = new Map<string, Assignment>(
    input.members.map((member) => [member.memberId, new Map()]),
  );
  for (const { topic, subscribers } of topicsWithSubscribers(input)) {
    if (subscribers.length === 0) continue;
    const base = Math.floor(topic.partitionCount / subscribers.length);
    const extra = topic.partitionCount % subscribers.length;
    let next = 0;
    subscribers.forEach((memberId, index) => {
      const take = base + (index < extra ? 1 : 0);
      const assignment = result.get(memberId) ?? new Map<string, Set<number>>();
      for (let i = 0; i < take; i++) addPartition(assignment, topic.topicId, next + i);
      next += take;
    });
  }
  return result;
}

/** Every partition of every subscribed topic, with the members that may own it. */
function partitionSlots(input: AssignorInput): Slot[] {
  const slots: Slot[] = [];
  for (const { topic, subscribers } of topicsWithSubscribers(input)) {
    for (let partition = 0; partition < topic.partitionCount; partition++) {
      slots.push({ topicId: topic.topicId, partition, eligible: subscribers });
    }
  }
  return slots;
}

/** The subscribed topics by name, each with the ids of its subscribers, sorted. */
function topicsWithSubscribers(
  input: AssignorInput,
): { readonly topic: SubscribedTopic; readonly subscribers: readonly string[] }[] {
  return [...input.topics.keys()].toSorted().flatMap((name) => {
    const topic = input.topics.get(name);
    if (topic === undefined) return [];
    const subscribers = input.members
      .filter((member) => member.topics.includes(name))
      .map((member) => member.memberId)
      .toSorted();
    return [{ topic, subscribers }];
  });
}

/** The eligible member with the fewest partitions; ties go to the smallest member id. */
function leastLoaded(eligible: readonly string[], counts: ReadonlyMap<string, number>): string {
  let best = eligible[0] ?? '';
  for (const memberId of eligible) {
    if ((counts.get(memberId) ?? 0) < (counts.get(best) ?? 0)) best = memberId;
  }
  return best;
}
