// The group state machine driven by a hand-moved clock: no I/O, no timers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ErrorCode,
  type JoinGroupRequest,
  type JoinGroupResponseInit,
  type SyncGroupResponseInit,
} from '@tributary/protocol';
import type { GroupResponse } from './group-apply-context.ts';
import { GroupCoordinator, type GroupCommand } from './group-coordinator.ts';
import type { OffsetFetchAnswer } from './group-admin-commands.ts';
import {
  decodeGroupRecord,
  encodeGroupRecordKey,
  encodeGroupRecordValue,
} from './group-records.ts';
import type { GroupRecord } from './group-records.ts';

/** A ConsumerProtocolSubscription v0 for `topics`. */
function subscription(...topics: string[]): Buffer {
  const parts = [Buffer.from([0, 0]), Buffer.alloc(4)];
  parts[1]?.writeInt32BE(topics.length);
  for (const topic of topics) {
    const length = Buffer.alloc(2);
    length.writeInt16BE(topic.length);
    parts.push(length, Buffer.from(topic));
  }
  parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  return Buffer.concat(parts);
}

class Harness {
  readonly coordinator: GroupCoordinator;
  readonly records: GroupRecord[] = [];
  readonly answers = new Map<number, GroupResponse>();
  now = 1_000;
  #nextId = 1;
  #nextMember = 1;

  constructor(initialRebalanceDelayMs = 0) {
    this.coordinator = new GroupCoordinator({
      initialRebalanceDelayMs,
      minSessionTimeoutMs: 1_000,
      maxSessionTimeoutMs: 60_000,
      newMemberId: (clientId) => `${clientId}-${this.#nextMember++}`,
      offsetsRetentionMs: 86_400_000,
    });
  }

  caller(apiVersion = 5) {
    return { requestId: this.#nextId++, apiVersion, clientId: 'c', clientHost: '/127.0.0.1' };
  }

  run(command: GroupCommand): void {
    const result = this.coordinator.apply(command, this.now);
    this.records.push(...result.records);
    for (const completion of result.completions) {
      this.answers.set(completion.requestId, completion.response);
    }
  }

  /** Sends a JoinGroup; returns its request id (the answer may come later). */
  join(memberId: string, extra: Partial<JoinGroupRequest> = {}, apiVersion = 5): number {
    const caller = this.caller(apiVersion);
    const request: JoinGroupRequest = {
      groupId: 'g',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 30_000,
      memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: subscription('t') }],
      reason: null,
      ...extra,
    };
    this.run({ kind: 'join', caller, request });
    return caller.requestId;
  }

  joinAnswer(requestId: number): JoinGroupResponseInit | undefined {
    return this.answers.get(requestId) as JoinGroupResponseInit | undefined;
  }

  sync(memberId: string, generationId: number, assignments: [string, string][] = []): number {
    const caller = this.caller();
    this.run({
      kind: 'sync',
      caller,
      request: {
        groupId: 'g',
        generationId,
        memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: assignments.map(([id, text]) => ({
          memberId: id,
          assignment: Buffer.from(text),
        })),
      },
    });
    return caller.requestId;
  }

  syncAnswer(requestId: number): SyncGroupResponseInit | undefined {
    return this.answers.get(requestId) as SyncGroupResponseInit | undefined;
  }

  heartbeat(memberId: string, generationId: number): number | undefined {
    const caller = this.caller();
    this.run({
      kind: 'heartbeat',
      caller,
      request: { groupId: 'g', generationId, memberId, groupInstanceId: null },
    });
    return (this.answers.get(caller.requestId) as { errorCode?: number }).errorCode;
  }

  tick(advanceMs: number): void {
    this.now += advanceMs;
    this.run({ kind: 'tick' });
  }

  /** Joins a dynamic member through KIP-394 and returns its id. */
  newMember(): string {
    const first = this.joinAnswer(this.join(''));
    assert.equal(first?.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    return first?.memberId ?? '';
  }
}

test('a single member joins (KIP-394), leads, syncs and the group becomes Stable', () => {
  const h = new Harness(300);
  const id = h.newMember();
  const join = h.join(id);
  assert.equal(h.joinAnswer(join), undefined, 'waits for the initial rebalance delay');
  h.tick(299);
  assert.equal(h.joinAnswer(join), undefined);
  h.tick(1);
  const answer = h.joinAnswer(join);
  assert.equal(answer?.errorCode, ErrorCode.NONE);
  assert.equal(answer?.generationId, 1);
  assert.equal(answer?.leader, id);
  assert.equal(answer?.protocolName, 'range');
  assert.equal(answer?.members?.length, 1);
  const sync = h.syncAnswer(h.sync(id, 1, [[id, 'all']]));
  assert.equal(sync?.assignment?.toString(), 'all');
  assert.equal(h.coordinator.groups.get('g')?.state, 'Stable');
  assert.equal(h.records.at(-1)?.type, 'group');
});

test('two members: the follower waits for the leader sync; a third join rebalances', () => {
  const h = new Harness();
  const a = h.newMember();
  const b = h.newMember();
  const joinA = h.join(a);
  const joinB = h.join(b);
  const leader = h.joinAnswer(joinA);
  assert.equal(leader?.generationId, 1);
  assert.equal(leader?.members?.length, 2);
  assert.equal(h.joinAnswer(joinB)?.members?.length, 0);
  const followerSync = h.sync(b, 1);
  assert.equal(h.syncAnswer(followerSync), undefined);
  h.sync(a, 1, [
    [a, 'A'],
    [b, 'B'],
  ]);
  assert.equal(h.syncAnswer(followerSync)?.assignment?.toString(), 'B');
  assert.equal(h.heartbeat(b, 1), ErrorCode.NONE);
  assert.equal(h.heartbeat(b, 0), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(h.heartbeat('nobody', 1), ErrorCode.UNKNOWN_MEMBER_ID);
  const c = h.newMember();
  const joinC = h.join(c);
  assert.equal(h.coordinator.groups.get('g')?.state, 'PreparingRebalance');
  assert.equal(h.heartbeat(a, 1), ErrorCode.REBALANCE_IN_PROGRESS);
  h.join(a);
  assert.equal(h.joinAnswer(joinC), undefined, 'b has not rejoined yet');
  h.join(b);
  assert.equal(h.joinAnswer(joinC)?.generationId, 2);
});

test('a member whose session expires is evicted and the others rebalance', () => {
  const h = new Harness();
  const a = h.newMember();
  const b = h.newMember();
  h.join(a);
  h.join(b);
  h.sync(a, 1, [[a, 'A']]);
  h.sync(b, 1);
  h.tick(5_000);
  assert.equal(h.heartbeat(a, 1), ErrorCode.NONE);
  h.tick(6_000); // b last seen 11 s ago, past its 10 s session
  const group = h.coordinator.groups.get('g');
  assert.equal(group?.members.has(b), false);
  assert.equal(group?.state, 'PreparingRebalance');
  const rejoin = h.join(a);
  assert.equal(h.joinAnswer(rejoin)?.generationId, 2);
  assert.equal(h.joinAnswer(rejoin)?.members?.length, 1);
});

test('a static member restarting gets its assignment back without a rebalance', () => {
  const h = new Harness();
  const first = h.joinAnswer(h.join('', { groupInstanceId: 'pod-1' }));
  assert.equal(first?.errorCode, ErrorCode.NONE, 'static members skip MEMBER_ID_REQUIRED');
  const oldId = first?.memberId ?? '';
  h.sync(oldId, 1, [[oldId, 'mine']]);
  const again = h.joinAnswer(h.join('', { groupInstanceId: 'pod-1' }));
  assert.equal(again?.errorCode, ErrorCode.NONE);
  assert.equal(again?.generationId, 1, 'same generation: no rebalance');
  const newId = again?.memberId ?? '';
  assert.notEqual(newId, oldId);
  assert.equal(h.coordinator.groups.get('g')?.state, 'Stable');
  assert.equal(h.syncAnswer(h.sync(newId, 1))?.assignment?.toString(), 'mine');
  const caller = h.caller();
  h.run({
    kind: 'heartbeat',
    caller,
    request: { groupId: 'g', generationId: 1, memberId: oldId, groupInstanceId: 'pod-1' },
  });
  const fenced = h.answers.get(caller.requestId) as { errorCode: number };
  assert.equal(fenced.errorCode, ErrorCode.FENCED_INSTANCE_ID);
});

/** A commit outside group membership (generation -1, no member id) of offset 42 on topic t. */
function simpleCommit(groupId: string, partitions: number[], committedMetadata: string | null) {
  return {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [
      {
        name: 't',
        partitions: partitions.map((partitionIndex) => ({
          partitionIndex,
          committedOffset: 42n,
          committedLeaderEpoch: -1,
          commitTimestamp: -1n,
          committedMetadata,
        })),
      },
    ],
  };
}

test('offsets: simple commits, fetch, replay, delete rules', () => {
  const h = new Harness();
  const commit = h.caller();
  h.run({
    kind: 'offsetCommit',
    caller: commit,
    partitionCount: (topic) => (topic === 't' ? 2 : undefined),
    request: simpleCommit('simple', [0, 5], 'meta'),
  });
  const errors = h.answers.get(commit.requestId) as {
    topics: { partitions: { errorCode: number }[] }[];
  };
  assert.deepEqual(
    errors.topics[0]?.partitions.map((p) => p.errorCode),
    [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
  );
  assert.equal(h.records.length, 1);

  // Replay the persisted bytes into a fresh coordinator.
  const replayed = new Harness();
  for (const record of h.records) {
    const key = encodeGroupRecordKey(record);
    replayed.coordinator.replay(decodeGroupRecord(key, encodeGroupRecordValue(record)));
  }
  const fetch = replayed.caller();
  replayed.run({
    kind: 'offsetFetch',
    caller: fetch,
    groups: [{ groupId: 'simple', topics: null }],
  });
  const fetched = (replayed.answers.get(fetch.requestId) as OffsetFetchAnswer).groups[0];
  const partition = fetched?.topics?.[0]?.partitions?.[0];
  assert.equal(partition?.committedOffset, 42n);
  assert.equal(partition?.metadata, 'meta');

  const del = h.caller();
  h.run({ kind: 'deleteGroups', caller: del, groupIds: ['simple', 'missing'] });
  assert.deepEqual(h.answers.get(del.requestId), {
    results: [
      { groupId: 'simple', errorCode: ErrorCode.NONE },
      { groupId: 'missing', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ],
  });
  assert.deepEqual(
    h.records.slice(1).map((r) => [r.type, r.value]),
    [
      ['offset', null],
      ['group', null],
    ],
  );
});

test('a live group cannot be deleted and its subscribed topics keep their offsets', () => {
  const h = new Harness();
  const a = h.newMember();
  h.join(a);
  h.sync(a, 1, [[a, 'A']]);
  const del = h.caller();
  h.run({ kind: 'deleteGroups', caller: del, groupIds: ['g'] });
  assert.deepEqual(h.answers.get(del.requestId), {
    results: [{ groupId: 'g', errorCode: ErrorCode.NON_EMPTY_GROUP }],
  });
  const offsetDelete = h.caller();
  h.run({
    kind: 'offsetDelete',
    caller: offsetDelete,
    request: {
      groupId: 'g',
      topics: [
        { name: 't', partitions: [{ partitionIndex: 0 }] },
        { name: 'other', partitions: [{ partitionIndex: 0 }] },
      ],
    },
  });
  const answer = h.answers.get(offsetDelete.requestId) as {
    topics: { partitions: { errorCode: number }[] }[];
  };
  assert.deepEqual(
    answer.topics.map((t) => t.partitions[0]?.errorCode),
    [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE],
  );
  const leave = h.caller();
  h.run({
    kind: 'leave',
    caller: leave,
    groupId: 'g',
    members: [{ memberId: a, groupInstanceId: null }],
  });
  assert.equal(h.coordinator.groups.get('g')?.state, 'Empty');
  assert.equal(h.coordinator.groups.get('g')?.generationId, 2);
});

test('a group empty and uncommitted-to for offsets.retention.minutes is forgotten', () => {
  const h = new Harness();
  h.run({
    kind: 'offsetCommit',
    caller: h.caller(8),
    partitionCount: () => 1,
    request: simpleCommit('standalone', [0], null),
  });
  assert.ok(h.coordinator.groups.has('standalone'));
  h.run({ kind: 'tick' }); // the coordinator's clock for the empty group starts here
  h.records.length = 0;
  h.now += 86_400_000 - 1;
  h.run({ kind: 'tick' });
  assert.ok(h.coordinator.groups.has('standalone'), 'kept until the retention has passed');
  h.now += 1;
  h.run({ kind: 'tick' });
  assert.equal(h.coordinator.groups.has('standalone'), false);
  assert.deepEqual(h.records, [
    { type: 'offset', groupId: 'standalone', topic: 't', partition: 0, value: null },
    { type: 'group', groupId: 'standalone', value: null },
  ]);
});

test('static members leaving by identity (LeaveGroup v4+) go at once; delete succeeds', () => {
  const h = new Harness();
  const a = h.joinAnswer(h.join('', { groupInstanceId: 'pod-a' }))?.memberId ?? '';
  const b = h.joinAnswer(h.join('', { groupInstanceId: 'pod-b' }))?.memberId ?? '';
  h.tick(0);
  h.sync(a, 1, [[a, 'A']]);
  h.sync(b, 1);
  // a with its member id and instance id (a consumer's close), b by instance id alone (the
  // admin's removeMembersFromConsumerGroup sends an empty member id).
  for (const [memberId, groupInstanceId] of [
    [a, 'pod-a'],
    ['', 'pod-b'],
  ] as const) {
    const caller = h.caller(5);
    h.run({ kind: 'leave', caller, groupId: 'g', members: [{ memberId, groupInstanceId }] });
    const left = h.answers.get(caller.requestId) as { members: { errorCode: number }[] };
    assert.equal(left.members[0]?.errorCode, ErrorCode.NONE);
  }
  assert.equal(h.coordinator.groups.get('g')?.members.size, 0);
  const caller = h.caller();
  h.run({ kind: 'deleteGroups', caller, groupIds: ['g'] });
  const deleted = h.answers.get(caller.requestId) as { results: { errorCode: number }[] };
  assert.equal(deleted.results[0]?.errorCode, ErrorCode.NONE);
});

test('session expiry: a silent member goes within a tick of session.timeout.ms, not before', () => {
  const h = new Harness();
  const a = h.newMember();
  const b = h.newMember();
  h.join(a);
  h.join(b);
  h.sync(a, 1, [[a, 'A']]);
  h.sync(b, 1);
  const lastSeen = h.now; // b's last contact (its SyncGroup); session 10 s
  let goneAt: number | undefined;
  for (let step = 0; step < 150 && goneAt === undefined; step++) {
    h.tick(100);
    if (step % 30 === 0) h.heartbeat(a, h.coordinator.groups.get('g')?.generationId ?? 1);
    if (h.coordinator.groups.get('g')?.members.has(b) !== true) goneAt = h.now;
  }
  assert.ok(goneAt !== undefined, 'b was evicted');
  const afterMs = goneAt - lastSeen;
  assert.ok(afterMs >= 10_000 && afterMs <= 10_100, `evicted ${afterMs} ms after its last contact`);
  assert.equal(h.coordinator.groups.get('g')?.members.has(a), true, 'a kept heartbeating');
});
