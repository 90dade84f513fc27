// KIP-848 consumer groups on the pure coordinator, with a hand-moved clock: reconciliation,
// fencing, static members, expiry, persistence by replay, and the protocol boundaries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ErrorCode,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponseInit,
  type OffsetCommitResponseInit,
} from '@tributary/protocol';
import type { GroupResponse } from './group-apply-context.ts';
import { GroupCoordinator, type GroupCommand } from './group-coordinator.ts';
import {
  decodeGroupRecord,
  encodeGroupRecordKey,
  encodeGroupRecordValue,
  type GroupRecord,
} from './group-records.ts';
import type { TopicCatalog } from './consumer-group-state.ts';

const topicId = 'AAAAAAAAAAAAAAAAAAAAAQ';
const otherTopicId = 'AAAAAAAAAAAAAAAAAAAAAg';

class Harness {
  readonly records: GroupRecord[] = [];
  readonly topics = new Map([['orders', { topicId, partitionCount: 6 }]]);
  coordinator = this.#newCoordinator();
  now = 1_000;
  #nextId = 1;

  #newCoordinator(): GroupCoordinator {
    return new GroupCoordinator({
      initialRebalanceDelayMs: 0,
      minSessionTimeoutMs: 1_000,
      maxSessionTimeoutMs: 60_000,
      newMemberId: () => `generated-${this.#nextId}`,
      offsetsRetentionMs: 86_400_000,
      consumerSessionTimeoutMs: 45_000,
      consumerHeartbeatIntervalMs: 5_000,
    });
  }

  get catalog(): TopicCatalog {
    return {
      topic: (name) => this.topics.get(name),
      topicNames: () => this.topics.keys(),
    };
  }

  run(command: GroupCommand): GroupResponse | undefined {
    const result = this.coordinator.apply(command, this.now);
    this.records.push(...result.records);
    return result.completions[0]?.response;
  }

  caller(apiVersion = 1) {
    return { requestId: this.#nextId++, apiVersion, clientId: 'c', clientHost: '/127.0.0.1' };
  }

  heartbeat(fields: Partial<ConsumerGroupHeartbeatRequest>): ConsumerGroupHeartbeatResponseInit {
    const request: ConsumerGroupHeartbeatRequest = {
      groupId: 'g',
      memberId: 'a',
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: -1,
      subscribedTopicNames: null,
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: null,
      ...fields,
    };
    const caller = this.caller();
    const command: GroupCommand = {
      kind: 'consumerHeartbeat',
      caller,
      request,
      topics: this.catalog,
    };
    return this.run(command) as ConsumerGroupHeartbeatResponseInit;
  }

  join(memberId: string, extra: Partial<ConsumerGroupHeartbeatRequest> = {}) {
    return this.heartbeat({
      memberId,
      memberEpoch: 0,
      rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: ['orders'],
      topicPartitions: [],
      ...extra,
    });
  }

  /** A steady-state heartbeat reporting what the member owns. */
  beat(memberId: string, memberEpoch: number, owned: readonly number[]) {
    return this.heartbeat({
      memberId,
      memberEpoch,
      topicPartitions: [{ topicId, partitions: [...owned] }],
    });
  }

  /** Restarts the coordinator from the records persisted so far, through the byte codec. */
  restart(): void {
    this.coordinator = this.#newCoordinator();
    for (const record of this.records) {
      const key = encodeGroupRecordKey(record);
      this.coordinator.replay(decodeGroupRecord(key, encodeGroupRecordValue(record)));
    }
  }
}

function code(answer: OffsetCommitResponseInit): number | undefined {
  return answer.topics?.[0]?.partitions?.[0]?.errorCode;
}

function partitions(answer: ConsumerGroupHeartbeatResponseInit): number[] | undefined {
  return answer.assignment?.topicPartitions?.flatMap((entry) => [...(entry.partitions ?? [])]);
}

test('a partition moves only after its old owner acknowledges the revocation', () => {
  const h = new Harness();
  const a = h.join('a');
  assert.equal(a.errorCode, ErrorCode.NONE);
  assert.equal(a.memberEpoch, 1);
  assert.deepEqual(partitions(a), [0, 1, 2, 3, 4, 5]);
  assert.equal(a.heartbeatIntervalMs, 5_000);

  const b = h.join('b');
  assert.equal(b.memberEpoch, 2, 'the new member moves to the new epoch');
  assert.deepEqual(partitions(b), [], 'but gets nothing while a still holds the partitions');

  const revoke = h.beat('a', 1, [0, 1, 2, 3, 4, 5]);
  assert.equal(revoke.memberEpoch, 1, 'a keeps its epoch until it has revoked');
  assert.deepEqual(partitions(revoke), [0, 1, 2]);
  assert.deepEqual(partitions(h.beat('b', 2, [])), undefined, 'b still waits');

  const acked = h.beat('a', 1, [0, 1, 2]);
  assert.equal(acked.memberEpoch, 2);
  const got = h.beat('b', 2, []);
  assert.deepEqual(partitions(got), [3, 4, 5]);
  const described = h.run({
    kind: 'consumerDescribe',
    caller: h.caller(),
    groupIds: ['g'],
    topicName: () => 'orders',
  }) as { groups: { groupState: string; groupEpoch: number; members: unknown[] }[] };
  assert.equal(described.groups[0]?.groupState, 'Stable');
  assert.equal(described.groups[0]?.groupEpoch, 2);
});

test('epochs fence stale and future members; a lost answer is forgiven', () => {
  const h = new Harness();
  h.join('a');
  h.join('b');
  h.beat('a', 1, [0, 1, 2, 3, 4, 5]);
  h.beat('a', 1, [0, 1, 2]); // a moves to epoch 2
  assert.equal(h.beat('a', 3, [0, 1, 2]).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  const previous = h.beat('a', 1, [0, 1, 2]);
  assert.equal(previous.errorCode, ErrorCode.NONE, 'previous epoch with a subset is accepted');
  assert.equal(previous.memberEpoch, 2);
  assert.equal(h.beat('a', 1, [0, 1, 2, 3]).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  assert.equal(h.beat('zz', 2, []).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

test('a leaving member bumps the group epoch and the rest take its partitions', () => {
  const h = new Harness();
  h.join('a');
  h.join('b');
  h.beat('a', 1, [0, 1, 2, 3, 4, 5]);
  h.beat('a', 1, [0, 1, 2]);
  h.beat('b', 2, []);
  const left = h.heartbeat({ memberId: 'b', memberEpoch: -1 });
  assert.equal(left.memberEpoch, -1);
  const after = h.beat('a', 2, [0, 1, 2]);
  assert.equal(after.memberEpoch, 3);
  assert.deepEqual(partitions(after), [0, 1, 2, 3, 4, 5]);
});

test('session expiry fences a silent member', () => {
  const h = new Harness();
  h.join('a');
  h.join('b');
  h.now += 30_000;
  h.beat('a', 1, [0, 1, 2, 3, 4, 5]);
  h.now += 20_000; // b silent for 50 s > 45 s
  h.run({ kind: 'tick' });
  assert.equal(h.beat('b', 2, []).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  // a was asked to revoke 3-5 for b: it finishes that revocation, then gets everything back.
  const a = h.beat('a', 1, [0, 1, 2]);
  assert.equal(a.memberEpoch, 3);
  assert.deepEqual(partitions(a), [0, 1, 2, 3, 4, 5]);
});

test('a static member leaving with -2 keeps its partitions and returns without a rebalance', () => {
  const h = new Harness();
  h.join('a', { instanceId: 'i-a' });
  h.join('b', { instanceId: 'i-b' });
  h.beat('a', 1, [0, 1, 2, 3, 4, 5]);
  h.beat('a', 1, [0, 1, 2]);
  h.beat('b', 2, []);
  const left = h.heartbeat({ memberId: 'b', memberEpoch: -2, instanceId: 'i-b' });
  assert.equal(left.memberEpoch, -2);
  assert.equal(h.join('c', { instanceId: 'i-a' }).errorCode, ErrorCode.UNRELEASED_INSTANCE_ID);
  const back = h.join('b2', { instanceId: 'i-b' });
  assert.equal(back.errorCode, ErrorCode.NONE);
  assert.equal(back.memberEpoch, 2, 'same group epoch: no rebalance');
  assert.deepEqual(partitions(back), [3, 4, 5]);
  assert.equal(h.beat('b', 2, [3, 4, 5]).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

test('the range assignor gives contiguous ranges; an unknown assignor is refused', () => {
  const h = new Harness();
  assert.equal(h.join('a', { serverAssignor: 'sticky' }).errorCode, ErrorCode.UNSUPPORTED_ASSIGNOR);
  h.join('a', { serverAssignor: 'range' });
  h.join('b', { serverAssignor: 'range' });
  assert.deepEqual(partitions(h.beat('a', 1, [0, 1, 2, 3, 4, 5])), [0, 1, 2]);
  assert.equal(h.beat('a', 1, [0, 1, 2]).memberEpoch, 2);
  assert.deepEqual(partitions(h.beat('b', 2, [])), [3, 4, 5]);
});

test('new partitions, new topics matching a regex and deleted topics change the assignment', () => {
  const h = new Harness();
  const a = h.join('a', { subscribedTopicNames: [], subscribedTopicRegex: 'ord.*' });
  assert.deepEqual(partitions(a), [0, 1, 2, 3, 4, 5]);
  h.topics.set('orders', { topicId, partitionCount: 8 });
  const grown = h.beat('a', 1, [0, 1, 2, 3, 4, 5]);
  assert.equal(grown.memberEpoch, 2);
  assert.deepEqual(partitions(grown), [0, 1, 2, 3, 4, 5, 6, 7]);
  h.topics.set('ordinals', { topicId: otherTopicId, partitionCount: 1 });
  h.topics.set('other', { topicId: 'AAAAAAAAAAAAAAAAAAAAAw', partitionCount: 1 });
  const matched = h.beat('a', 2, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(matched.assignment?.topicPartitions?.length, 2, 'orders and ordinals, not other');
  h.topics.delete('orders');
  const shrunk = h.heartbeat({
    memberId: 'a',
    memberEpoch: 3,
    topicPartitions: [
      { topicId, partitions: [0, 1, 2, 3, 4, 5, 6, 7] },
      { topicId: otherTopicId, partitions: [0] },
    ],
  });
  assert.equal(shrunk.memberEpoch, 3, 'revoking the deleted topic first');
  assert.deepEqual(shrunk.assignment?.topicPartitions, [
    { topicId: otherTopicId, partitions: [0] },
  ]);
  assert.equal(
    h.join('b', { subscribedTopicRegex: '(' }).errorCode,
    ErrorCode.INVALID_REGULAR_EXPRESSION,
  );
});

test('subscription regexes use RE2 syntax and cannot stall the broker', () => {
  const h = new Harness();
  // A backtracking engine takes exponential time on this pattern against a name of 40 'a's
  // (hours); RE2 is linear, so this test finishes at once.
  h.topics.set('a'.repeat(40), { topicId: otherTopicId, partitionCount: 1 });
  const evil = h.join('a', { subscribedTopicNames: [], subscribedTopicRegex: '(a|a)+b' });
  assert.equal(evil.errorCode, ErrorCode.NONE);
  assert.deepEqual(evil.assignment?.topicPartitions, [], 'nothing matches');
  // Lookahead is JavaScript, not RE2/J: Kafka refuses it, and so does this broker.
  assert.equal(
    h.join('b', { subscribedTopicRegex: 'ord(?=ers)' }).errorCode,
    ErrorCode.INVALID_REGULAR_EXPRESSION,
  );
  const anchored = h.join('c', { subscribedTopicNames: [], subscribedTopicRegex: 'order' });
  assert.deepEqual(anchored.assignment?.topicPartitions, [], 'the whole name must match');
});

test('bad requests get INVALID_REQUEST', () => {
  const h = new Harness();
  assert.equal(h.join('').errorCode, ErrorCode.INVALID_REQUEST, 'v1 needs a member id');
  assert.equal(h.join('a', { rebalanceTimeoutMs: -1 }).errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal(h.join('a', { subscribedTopicNames: [] }).errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal(h.heartbeat({ memberEpoch: -3 }).errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal(h.heartbeat({ groupId: '' }).errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal(h.beat('a', 4, []).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
});

test('the state survives a restart through its records', () => {
  const h = new Harness();
  h.join('a', { instanceId: 'i-a' });
  h.join('b');
  h.beat('a', 1, [0, 1, 2, 3, 4, 5]);
  h.restart();
  const a = h.beat('a', 1, [0, 1, 2]);
  assert.equal(a.memberEpoch, 2);
  assert.deepEqual(partitions(h.beat('b', 2, [])), [3, 4, 5]);
  h.heartbeat({ memberId: 'b', memberEpoch: -1 });
  h.restart();
  const group = h.coordinator.groups.get('g')?.consumer;
  assert.deepEqual([...(group?.members.keys() ?? [])], ['a']);
  assert.equal(group?.groupEpoch, 3);
  assert.equal(group?.staticMembers.get('i-a'), 'a');
});

test('the two protocols keep to their own groups; offsets check member epochs', () => {
  const h = new Harness();
  h.join('a');
  const join = h.run({
    kind: 'join',
    caller: h.caller(5),
    request: {
      groupId: 'g',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      reason: null,
    },
  }) as { errorCode: number };
  assert.equal(join.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const commit = (memberEpoch: number, apiVersion = 9) =>
    h.run({
      kind: 'offsetCommit',
      caller: h.caller(apiVersion),
      request: {
        groupId: 'g',
        generationIdOrMemberEpoch: memberEpoch,
        memberId: 'a',
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: [
          {
            name: 'orders',
            partitions: [
              {
                partitionIndex: 0,
                committedOffset: 5n,
                committedLeaderEpoch: -1,
                commitTimestamp: -1n,
                committedMetadata: null,
              },
            ],
          },
        ],
      },
      partitionCount: () => 6,
    }) as OffsetCommitResponseInit;
  assert.equal(code(commit(1)), ErrorCode.NONE);
  assert.equal(code(commit(0)), ErrorCode.STALE_MEMBER_EPOCH);
  assert.equal(code(commit(1, 8)), ErrorCode.UNSUPPORTED_VERSION);
  const listed = h.run({
    kind: 'list',
    caller: h.caller(5),
    statesFilter: [],
    typesFilter: ['consumer'],
  }) as { groups: { groupId: string; groupType: string; groupState: string }[] };
  assert.deepEqual(listed.groups, [
    { groupId: 'g', protocolType: 'consumer', groupState: 'Stable', groupType: 'consumer' },
  ]);
  const deleted = h.run({ kind: 'deleteGroups', caller: h.caller(), groupIds: ['g'] }) as {
    results: { errorCode: number }[];
  };
  assert.equal(deleted.results[0]?.errorCode, ErrorCode.NON_EMPTY_GROUP);
  h.heartbeat({ memberId: 'a', memberEpoch: -1 });
  const again = h.run({ kind: 'deleteGroups', caller: h.caller(), groupIds: ['g'] }) as {
    results: { errorCode: number }[];
  };
  assert.equal(again.results[0]?.errorCode, ErrorCode.NONE);
});

test('a member that does not revoke within its rebalance timeout is fenced', () => {
  const h = new Harness();
  h.join('a', { rebalanceTimeoutMs: 10_000 });
  h.join('b');
  assert.deepEqual(partitions(h.beat('a', 1, [0, 1, 2, 3, 4, 5])), [0, 1, 2]);
  h.now += 5_000;
  h.beat('a', 1, [0, 1, 2, 3, 4, 5]); // alive, but still holding 3-5
  h.run({ kind: 'tick' });
  assert.equal(h.beat('a', 1, [0, 1, 2, 3, 4, 5]).errorCode, ErrorCode.NONE);
  h.now += 5_000;
  h.run({ kind: 'tick' });
  assert.equal(h.beat('a', 1, [0, 1, 2, 3, 4, 5]).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  const b = h.beat('b', 2, []);
  assert.equal(b.memberEpoch, 3, 'the group moved on without a');
  assert.deepEqual(partitions(b), [0, 1, 2, 3, 4, 5]);
});
