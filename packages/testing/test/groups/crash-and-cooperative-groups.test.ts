// librdkafka 2.0.2 group members as live processes: a member SIGKILLed mid-flight (no commit, no
// LeaveGroup) is evicted when its session times out and its partitions move to the survivor;
// and cooperative-sticky rebalancing, where a third member joins without the first two ever
// giving up every partition.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { RunningBroker } from '@tributary/broker';
import { clientCell, compatibilityScenarios, recordStep, tempDir } from '../../src/index.ts';
import { produceValues, startGroupBroker } from './group-helpers.ts';
import {
  type LiveMember,
  type LiveMemberOptions,
  startLiveGroupMember,
  waitUntil,
} from './live-group-member.ts';

const sessionTimeoutMs = 6000;
const cell = () => clientCell('confluentKafka', compatibilityScenarios.classicGroup);

/** A broker and a way to start members; the after hook ends members before the broker. */
async function setUp(
  t: TestContext,
  name: string,
): Promise<{ broker: RunningBroker; start: (options: LiveMemberOptions) => LiveMember }> {
  const dir = await tempDir(name);
  const broker = await startGroupBroker(dir.path);
  const members: LiveMember[] = [];
  t.after(async () => {
    await Promise.all(members.map((member) => member.end()));
    await broker.close();
    await dir.remove();
  });
  const start = (options: LiveMemberOptions): LiveMember => {
    const member = startLiveGroupMember(options);
    members.push(member);
    return member;
  };
  return { broker, start };
}

function valuesOf(members: readonly LiveMember[]): Set<string | null> {
  return new Set(members.flatMap((member) => member.records.map((record) => record.value)));
}

function describe(members: readonly LiveMember[]): string {
  return members
    .map((m) => `${m.name}: ${JSON.stringify(m.changes)} read ${m.records.length}`)
    .join('\n');
}

test('a SIGKILLed member is evicted after its session timeout', (t) =>
  recordStep(t, cell, async () => {
    const { broker, start } = await setUp(t, 'groups-crash');
    const first = Array.from({ length: 8 }, (_, i) => `first-${i}`);
    await produceValues(broker.bootstrap, 'crash', 4, first);
    const common = {
      bootstrap: broker.bootstrap,
      group: 'g-crash',
      topic: 'crash',
      sessionTimeoutMs,
    };
    const survivor = start({ ...common, name: 'survivor' });
    const doomed = start({ ...common, name: 'doomed' });
    const both = [survivor, doomed];
    await waitUntil(
      () => survivor.assignment().length === 2 && doomed.assignment().length === 2,
      20_000,
      () => `the two members to split four partitions\n${describe(both)}`,
    );
    await waitUntil(
      () => valuesOf(both).size === first.length,
      10_000,
      () => `the first records\n${describe(both)}`,
    );
    const doomedPartitions = doomed.assignment();
    await doomed.crash();
    const crashedAtMs = Date.now();

    const second = Array.from({ length: 8 }, (_, i) => `second-${i}`);
    await produceValues(broker.bootstrap, 'crash', 4, second, false);
    await waitUntil(
      () => survivor.assignment().length === 4,
      sessionTimeoutMs + 10_000,
      () => `the survivor to take over every partition\n${describe(both)}`,
    );
    const movedAfterMs = Date.now() - crashedAtMs;
    // A LeaveGroup would move the partitions at once; only the expired session can do it here.
    assert.ok(movedAfterMs > sessionTimeoutMs - 2000, `moved after ${movedAfterMs} ms`);
    await waitUntil(
      () => second.every((value) => valuesOf([survivor]).has(value)),
      10_000,
      () => `the survivor to read the new records\n${describe(both)}`,
    );
    const fromDoomed = survivor.records.filter(
      (r) => doomedPartitions.includes(r.partition) && r.value?.startsWith('second-') === true,
    );
    assert.equal(fromDoomed.length, 4, `read from the dead member's partitions\n${describe(both)}`);
  }));

test('cooperative-sticky: a third member joins while the others keep their partitions', (t) =>
  recordStep(t, cell, async () => {
    const { broker, start } = await setUp(t, 'groups-cooperative');
    const first = Array.from({ length: 24 }, (_, i) => `first-${i}`);
    await produceValues(broker.bootstrap, 'coop', 6, first);
    const common = {
      bootstrap: broker.bootstrap,
      group: 'g-coop',
      topic: 'coop',
      strategy: 'cooperative-sticky',
    };
    const a = start({ ...common, name: 'a' });
    const b = start({ ...common, name: 'b' });
    await waitUntil(
      () => a.assignment().length === 3 && b.assignment().length === 3,
      20_000,
      () => `a and b to split six partitions\n${describe([a, b])}`,
    );
    await waitUntil(
      () => valuesOf([a, b]).size === first.length,
      10_000,
      () => `the first records\n${describe([a, b])}`,
    );
    const before = { a: a.assignment(), b: b.assignment() };
    const changesBefore = { a: a.changes.length, b: b.changes.length };

    const c = start({ ...common, name: 'c' });
    const all = [a, b, c];
    await waitUntil(
      () => all.every((member) => member.assignment().length === 2),
      20_000,
      () => `three members with two partitions each\n${describe(all)}`,
    );
    assert.deepEqual(all.flatMap((member) => member.assignment()).toSorted(), [0, 1, 2, 3, 4, 5]);
    // Sticky and incremental: a and b only lost partitions, never all of them at once.
    for (const [member, owned] of [
      [a, before.a],
      [b, before.b],
    ] as const) {
      const later = member.changes.slice(member === a ? changesBefore.a : changesBefore.b);
      // librdkafka also reports the empty incremental assignment that ends each rebalance.
      for (const change of later.filter((step) => step.partitions.length > 0)) {
        assert.equal(change.kind, 'revoked', `${member.name} was only revoked\n${describe(all)}`);
        assert.ok(change.partitions.length < owned.length, describe(all));
      }
      assert.ok(
        member.assignment().every((partition) => owned.includes(partition)),
        describe(all),
      );
    }

    const second = Array.from({ length: 24 }, (_, i) => `second-${i}`);
    await produceValues(broker.bootstrap, 'coop', 6, second, false);
    await waitUntil(
      () => second.every((value) => valuesOf(all).has(value)),
      15_000,
      () => `every new record\n${describe(all)}`,
    );
    for (const member of all) {
      const fresh = member.records.filter((r) => r.value?.startsWith('second-') === true);
      assert.equal(fresh.length, 8, `${member.name} kept reading\n${describe(all)}`);
    }
    const everything = [...first, ...second].toSorted();
    assert.deepEqual([...valuesOf(all)].toSorted(), everything);
  }));
