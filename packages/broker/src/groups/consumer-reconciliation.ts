/**
 * Incremental reconciliation of one KIP-848 member towards its target assignment (Kafka's
 * CurrentAssignmentBuilder, in our words). A member never gets a partition that another member
 * still holds: first the old owner is asked to revoke it (its epoch does not move), it
 * acknowledges by leaving the partition out of the owned partitions it reports in a later
 * heartbeat, and only then may the new owner receive it.
 *
 * States: STABLE (reconciled to some epoch), UNREVOKED_PARTITIONS (waiting for the member to
 * give partitions up), UNRELEASED_PARTITIONS (at the target epoch but waiting for others to
 * release partitions it should get). Pure: returns the member's next reconciliation fields.
 */
import {
  addPartition,
  ownsAnyOf,
  type Assignment,
  type ConsumerMember,
  type ConsumerMemberState,
} from './consumer-group-state.ts';

export interface Reconciled {
  readonly state: ConsumerMemberState;
  readonly memberEpoch: number;
  readonly assigned: Assignment;
  readonly pendingRevocation: Assignment;
}

export interface ReconcileInput {
  readonly member: ConsumerMember;
  readonly targetEpoch: number;
  readonly target: Assignment;
  /** What the member reports owning in this heartbeat; null when it did not say. */
  readonly owned: Assignment | null;
  /** Is the partition held (assigned or being revoked) by a member other than this one? */
  heldByOther(topicId: string, partition: number): boolean;
}

export function reconcile(input: ReconcileInput): Reconciled {
  const { member } = input;
  const unchanged: Reconciled = {
    state: member.state,
    memberEpoch: member.memberEpoch,
    assigned: member.assigned,
    pendingRevocation: member.pendingRevocation,
  };
  switch (member.state) {
    case 'STABLE':
      if (member.memberEpoch === input.targetEpoch) return unchanged;
      return nextAssignment(input, member.memberEpoch);
    case 'UNREVOKED_PARTITIONS':
      // Without owned partitions in the request we cannot tell whether it revoked: wait.
      if (input.owned === null || ownsAnyOf(input.owned, member.pendingRevocation)) {
        return unchanged;
      }
      return nextAssignment(input, member.memberEpoch + 1);
    case 'UNRELEASED_PARTITIONS':
      return nextAssignment(input, member.memberEpoch);
  }
}

function nextAssignment(input: ReconcileInput, memberEpoch: number): Reconciled {
  const { member, target } = input;
  const assigned: Assignment = new Map();
  const revoking: Assignment = new Map();
  const adding: Assignment = new Map();
  let unreleased = false;
  const topicIds = new Set([...target.keys(), ...member.assigned.keys()]);
  for (const topicId of topicIds) {
    const wanted = target.get(topicId) ?? new Set<number>();
    const current = member.assigned.get(topicId) ?? new Set<number>();
    for (const partition of current) {
      if (wanted.has(partition)) addPartition(assigned, topicId, partition);
      else addPartition(revoking, topicId, partition);
    }
    for (const partition of wanted) {
      if (current.has(partition)) continue;
      if (input.heldByOther(topicId, partition)) unreleased = true;
      else addPartition(adding, topicId, partition);
    }
  }
  // A revocation is only needed if the member may still hold the partitions.
  const mustRevoke =
    revoking.size > 0 && (input.owned === null || ownsAnyOf(input.owned, revoking));
  if (mustRevoke) {
    return { state: 'UNREVOKED_PARTITIONS', memberEpoch, assigned, pendingRevocation: revoking };
  }
  for (const [topicId, partitions] of adding) {
    for (const partition of partitions) addPartition(assigned, topicId, partition);
  }
  return {
    state: unreleased ? 'UNRELEASED_PARTITIONS' : 'STABLE',
    memberEpoch: input.targetEpoch,
    assigned,
    pendingRevocation: new Map(),
  };
}
