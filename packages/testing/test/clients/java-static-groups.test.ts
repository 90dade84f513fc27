/**
 * Static membership (KIP-345 for the classic protocol, KIP-848's static members for the consumer
 * protocol) with the Java client's `group.instance.id`, against an in-process broker:
 *
 * - two static members split a 4-partition topic;
 * - one closes; a static member's close sends no LeaveGroup (classic) or leaves with epoch -2
 *   (consumer protocol), so the group keeps it and its partitions: the other member, polling
 *   meanwhile, is not handed them (the session timeout, 45 s, is far away);
 * - the member comes back with the same instance id and gets its own partitions back, while the
 *   other member's assignment never changed.
 *
 * Each protocol runs in its own describe with its own broker; steps share state and run in
 * order, so the first failure is the one to read.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBroker, type RunningBroker } from '@tributary/broker';
import {
  javaDriverCommand,
  LineClientDriver,
  tempDir,
  type TempDir,
  type TopicPartition,
} from '../../src/index.ts';

const partitionCount = 4;
const stepTimeoutMs = 180_000;
const pollSliceMs = 1_000;
const convergeTimeoutMs = 90_000;
/** How long the remaining member polls while the other is away: far below the 45 s session. */
const awayPolls = 4;

for (const protocol of ['classic', 'consumer'] as const) {
  describe(`Java kafka-clients: static membership (${protocol})`, () => {
    let dir: TempDir | undefined;
    let broker: RunningBroker | undefined;
    const drivers: LineClientDriver[] = [];
    const topic = `static-${protocol}-${process.pid}`;
    const groupId = `static-${protocol}-${process.pid}`;
    const assignments = new Map<LineClientDriver, string[]>();
    let first: string[] = [];
    let second: string[] = [];
    const opts = { timeout: stepTimeoutMs };

    const start = async (role: string): Promise<LineClientDriver> => {
      assert.ok(broker !== undefined, 'broker not started (see the before hook error)');
      const driver = await LineClientDriver.start({
        bootstrap: broker.bootstrap,
        driver: javaDriverCommand(),
        label: `Java ${role}`,
      });
      drivers.push(driver);
      return driver;
    };
    const subscribe = (driver: LineClientDriver, instanceId: string): Promise<void> =>
      driver.subscribe({ groupId, topics: [topic], groupProtocol: protocol, instanceId });
    const at = (index: number): LineClientDriver => {
      const driver = drivers[index];
      assert.ok(driver !== undefined, `member ${index} not started`);
      return driver;
    };
    /** Polls every member once, concurrently, and records its assignment. */
    const pollAll = async (members: readonly LineClientDriver[]): Promise<void> => {
      await Promise.all(
        members.map(async (member) => {
          const polled = await member.poll(pollSliceMs, 1_000);
          assignments.set(member, polled.assignment.map(name).toSorted());
        }),
      );
    };
    const pollUntil = async (
      members: readonly LineClientDriver[],
      done: () => boolean,
      what: string,
    ): Promise<void> => {
      const deadline = Date.now() + convergeTimeoutMs;
      do {
        await pollAll(members);
        if (done()) return;
      } while (Date.now() < deadline);
      assert.fail(`${what}: not reached in ${convergeTimeoutMs} ms (${show(assignments)})`);
    };
    const owned = (member: LineClientDriver): string[] => assignments.get(member) ?? [];

    before(async () => {
      dir = await tempDir(`java-static-${protocol}`);
      broker = await startBroker({ port: 0, host: '127.0.0.1', dataDir: dir.path, quiet: true });
      const admin = await start('admin');
      await admin.createTopic(topic, partitionCount);
    });

    after(async () => {
      await Promise.allSettled(drivers.map((driver) => driver.close()));
      await broker?.close();
      await dir?.remove();
    });

    test('two static members split the partitions', opts, async () => {
      const a = await start('static-a');
      const b = await start('static-b');
      await subscribe(a, 'static-a');
      await subscribe(b, 'static-b');
      await pollUntil([a, b], () => splitsEvenly([owned(a), owned(b)]), 'an even split');
      first = owned(a);
      second = owned(b);
    });

    test('a closed static member keeps its partitions: none move', opts, async () => {
      const [a, b] = [at(1), at(2)];
      await b.closeConsumer();
      for (let poll = 0; poll < awayPolls; poll++) {
        await pollAll([a]);
        assert.deepEqual(owned(a), first, `poll ${poll}: the remaining member's partitions`);
      }
      const described = await at(0).describeGroup(groupId);
      assert.equal(described.members.length, 2, `the away member is still in the group`);
    });

    test('it comes back under the same instance id to its own partitions', opts, async () => {
      const [a, b] = [at(1), at(2)];
      await subscribe(b, 'static-b');
      await pollUntil([a, b], () => owned(b).length > 0, 'the returning member assigned');
      assert.deepEqual(owned(b), second, 'the same partitions as before');
      assert.deepEqual(owned(a), first, 'the other member untouched');
      await Promise.all([a.closeConsumer(), b.closeConsumer()]);
    });
  });
}

function name(partition: TopicPartition): string {
  return `${partition.topic}-${partition.partition}`;
}

function splitsEvenly(owned: readonly (readonly string[])[]): boolean {
  const all = owned.flat();
  const half = partitionCount / owned.length;
  return new Set(all).size === partitionCount && owned.every((each) => each.length === half);
}

function show(assignments: ReadonlyMap<LineClientDriver, string[]>): string {
  return [...assignments].map(([driver, owned]) => `${driver.name}: ${owned.join(',')}`).join('; ');
}
