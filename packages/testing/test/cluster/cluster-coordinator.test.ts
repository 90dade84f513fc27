/**
 * Group coordinator failover in cluster mode: the coordinator of every group is the leader of
 * `__consumer_offsets` partition 0. While a kcat consumer group reads a topic that an idempotent
 * kcat producer keeps writing, that broker is killed (kill -9): the coordinator lease moves to
 * another broker, which rebuilds the group state from the log, and the consumer goes on
 * receiving records, including ones written after the kill; in the end it has seen every one.
 * Then `tributary groups` and `tributary transactions`, given a broker that coordinates nothing,
 * find the coordinator (FindCoordinator) or ask every broker, as Kafka's admin client does.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliMainPath, runCommand, startTestCluster, type TestCluster } from '@tributary/testing';
import {
  assertDelivered,
  consumeAll,
  coordinatorOf,
  createTopic,
  eventually,
  groupConsumer,
  metadataFrom,
  pacedProducer,
  sequenceOf,
} from './cluster-helpers.ts';

const leaseMs = 3000;
const group = 'coordinator-group';

let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster({ brokers: 3, leaseMs });
});

after(async () => {
  await cluster?.stop();
});

test('kill -9 of the group coordinator: the group goes on reading on another broker', async (t) => {
  const topic = 'coordinated';
  await createTopic(cluster, topic, 6);
  const bootstrap = cluster.bootstrap();
  const seen = new Set<string>();
  const consumer = groupConsumer(bootstrap, group, topic, seen);
  const producer = pacedProducer(bootstrap, topic);
  let next = 0;
  const producing = { on: true };
  const load = (async () => {
    while (producing.on) {
      const lines: string[] = [];
      for (let i = 0; i < 10; i++, next++) lines.push(`k${next % 12}:g-${next}`);
      producer.write(lines);
      await sleep(100);
    }
  })();
  try {
    await eventually('the group reads', 60_000, async () => (seen.size >= 200 ? true : undefined));
    const coordinator = await coordinatorOf(bootstrap, group, 0);
    const offsetsLeader = (await metadataFrom(bootstrap, ['__consumer_offsets'])).leaders.get(
      '__consumer_offsets-0',
    );
    assert.equal(coordinator, offsetsLeader?.leader, 'the coordinator leads __consumer_offsets-0');
    const leadersAtKill = (await metadataFrom(bootstrap, [topic])).leaders;
    t.diagnostic(`leaders at the kill: ${JSON.stringify([...leadersAtKill])}`);
    const victim = cluster.brokers.get(coordinator);
    assert.ok(victim !== undefined);
    const sentAtKill = next;
    const seenAtKill = seen.size;
    const killedAt = Date.now();
    await cluster.killBroker(coordinator);

    const successor = await eventually('a new coordinator', 10 * leaseMs, async () => {
      const found = await coordinatorOf(cluster.bootstrap(), group, 0);
      return found >= 0 && found !== coordinator ? found : undefined;
    });
    // Records written after the kill reach the group: it works under the new coordinator.
    await eventually('records written after the kill reach the group', 60_000, async () => {
      const later = [...seen].filter((value) => sequenceOf(value) >= sentAtKill + 100);
      return later.length >= 100 ? true : undefined;
    });
    t.diagnostic(
      `killed coordinator node ${coordinator} with ${seenAtKill} values seen; node ${successor} ` +
        `took over; ${Date.now() - killedAt} ms later the group had read ${seen.size}`,
    );
    producing.on = false;
    await load;
    assertDelivered(await producer.end());
    const unseen = () => [...Array(next).keys()].filter((n) => !seen.has(`g-${n}`));
    await eventually('the group saw every record', 60_000, async () =>
      unseen().length === 0 ? true : undefined,
    ).catch(async (error: unknown) => {
      // Tell a consumer that skipped records from records that are not in the log.
      const records = await consumeAll(cluster.bootstrap(), topic, 0);
      const inLog = new Set(records.map((r) => r.value));
      const missing = unseen();
      const partitionOf = new Map(records.map((r) => [r.value, r.partition]));
      const byPartition = new Map<number, number>();
      for (const n of missing) {
        const partition = partitionOf.get(`g-${n}`) ?? -1;
        byPartition.set(partition, (byPartition.get(partition) ?? 0) + 1);
      }
      const leaders = (await metadataFrom(cluster.bootstrap(), [topic])).leaders;
      t.diagnostic(
        `missing per partition: ${JSON.stringify([...byPartition])}; leaders now: ` +
          JSON.stringify([...leaders]),
      );
      t.diagnostic(
        `the group never saw ${missing.length} of ${next} values, e.g. ` +
          `${missing.slice(0, 10).join(', ')}; of those, ${missing.filter((n) => inLog.has(`g-${n}`)).length} are in the log`,
      );
      throw error;
    });
  } catch (error: unknown) {
    t.diagnostic(`consumer:\n${consumer.stderr().slice(-4000)}`);
    for (const [node, broker] of cluster.brokers) {
      t.diagnostic(`--- broker ${node}\n${broker.stdout().slice(-4000)}${broker.stderr()}`);
    }
    throw error;
  } finally {
    producing.on = false;
    await load;
    await producer.end();
    await consumer.stop();
  }
});

test('the admin commands find the coordinator from any broker', async () => {
  const coordinator = await coordinatorOf(cluster.bootstrap(), group, 0);
  const other = [...cluster.brokers.entries()].find(([nodeId]) => nodeId !== coordinator)?.[1];
  assert.ok(other !== undefined, 'a broker that does not coordinate the group');
  const admin = async (...args: string[]): Promise<string> => {
    const run = await runCommand(
      process.execPath,
      [cliMainPath, ...args, '--bootstrap', `${other.host}:${other.port}`],
      { timeoutMs: 60_000 },
    );
    assert.equal(run.code, 0, `tributary ${args.join(' ')}: ${run.stderr}`);
    return run.stdout;
  };
  // Every broker is asked; those that coordinate nothing answer an empty list.
  assert.match(await admin('groups', 'list'), new RegExp(`^${group}\\s`, 'm'));
  const described = await admin('groups', 'describe', group);
  assert.match(described, /coordinated/, 'the group is described by its coordinator');
  await admin('transactions', 'list');
});
