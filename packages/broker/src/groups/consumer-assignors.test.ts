// The server-side assignors as pure functions: balance, stickiness, heterogeneous subscriptions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignRange, assignUniform, type AssignorInput } from './consumer-assignors.ts';
import { countPartitions, type Assignment } from './consumer-group-state.ts';

const topics = new Map([
  ['a', { name: 'a', topicId: 'ta', partitionCount: 6 }],
  ['b', { name: 'b', topicId: 'tb', partitionCount: 3 }],
]);

function counts(result: Map<string, Assignment>): Record<string, number> {
  return Object.fromEntries(
    [...result].map(([id, assignment]) => [id, countPartitions(assignment)]),
  );
}

function flat(assignment: Assignment | undefined): string[] {
  return [...(assignment ?? [])].flatMap(([t, ps]) => [...ps].map((p) => `${t}-${p}`)).toSorted();
}

test('uniform balances counts and keeps partitions where they were', () => {
  const two: AssignorInput = {
    members: [
      { memberId: 'm1', topics: ['a', 'b'] },
      { memberId: 'm2', topics: ['a', 'b'] },
    ],
    topics,
    previous: new Map(),
  };
  const first = assignUniform(two);
  assert.deepEqual(counts(first), { m1: 5, m2: 4 });
  const three = assignUniform({
    ...two,
    members: [...two.members, { memberId: 'm3', topics: ['a', 'b'] }],
    previous: first,
  });
  assert.deepEqual(counts(three), { m1: 3, m2: 3, m3: 3 });
  const kept = (id: string) => flat(three.get(id)).filter((p) => flat(first.get(id)).includes(p));
  assert.equal(kept('m1').length + kept('m2').length, 6, 'only the new member’s share moved');
});

test('uniform gives each partition only to members subscribed to its topic', () => {
  const result = assignUniform({
    members: [
      { memberId: 'm1', topics: ['a'] },
      { memberId: 'm2', topics: ['a', 'b'] },
    ],
    topics,
    previous: new Map(),
  });
  assert.ok(flat(result.get('m1')).every((p) => p.startsWith('ta')));
  const { m1 = 0, m2 = 0 } = counts(result);
  assert.equal(m1 + m2, 9);
  assert.ok(Math.abs(m1 - m2) <= 1, 'balanced even though only m2 may take b');
});

test('range gives each subscriber a contiguous range per topic, the first ones one more', () => {
  const result = assignRange({
    members: [
      { memberId: 'm2', topics: ['a', 'b'] },
      { memberId: 'm1', topics: ['a', 'b'] },
    ],
    topics,
    previous: new Map(),
  });
  assert.deepEqual(flat(result.get('m1')), ['ta-0', 'ta-1', 'ta-2', 'tb-0', 'tb-1']);
  assert.deepEqual(flat(result.get('m2')), ['ta-3', 'ta-4', 'ta-5', 'tb-2']);
});
