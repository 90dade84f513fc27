/**
 * The metadata database failing under load (docs/cluster.md, "Failure model"): three
 * brokers with an idempotent acks=all kcat producer while PostgreSQL is restarted in immediate
 * mode (every backend killed, crash recovery at start: a commit may be lost mid-flight, its
 * reply never sent) and, in a second test, paused for 5 s (a hung database host). Produce waits
 * or fails retriably meanwhile; afterwards every acknowledged record is in the log exactly once,
 * in order per key, and the cluster leads every partition again.
 */
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestCluster, type TestCluster } from '@tributary/testing';
import {
  allLed,
  assertDelivered,
  checkExactlyOnce,
  consumeAll,
  createTopic,
  pacedProducer,
} from './cluster-helpers.ts';

const leaseMs = 3000;
const partitions = 6;
const keys = 24;
const perRound = 20;
const paceMs = 100;

let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster({ brokers: 3, leaseMs });
});

after(async () => {
  await cluster?.stop();
});

/** Writes `rounds` x 20 keyed values, calling `onRound` after each; all must be delivered. */
async function produceThrough(
  topic: string,
  rounds: number,
  onRound: (round: number) => Promise<void>,
): Promise<Set<string>> {
  const producer = pacedProducer(cluster.bootstrap(), topic);
  const sent = new Set<string>();
  let next = 0;
  for (let round = 0; round < rounds; round++) {
    const lines: string[] = [];
    for (let i = 0; i < perRound; i++, next++) {
      lines.push(`k${next % keys}:${topic}-${next}`);
      sent.add(`${topic}-${next}`);
    }
    producer.write(lines);
    await onRound(round);
    await sleep(paceMs);
  }
  assertDelivered(await producer.end());
  return sent;
}

test('PostgreSQL restarted in immediate mode under load: every acked record once', async (t) => {
  const topic = 'pg-restart';
  await createTopic(cluster, topic, partitions);
  let restartMs = 0;
  const sent = await produceThrough(topic, 80, async (round) => {
    if (round !== 20) return;
    const started = Date.now();
    await cluster.postgres.restart('immediate');
    restartMs = Date.now() - started;
  });
  t.diagnostic(`PostgreSQL restart took ${restartMs} ms; ${sent.size} records acked`);
  checkExactlyOnce(await consumeAll(cluster.bootstrap(), topic, sent.size), sent);
  await allLed(cluster, topic, partitions);
});

test('PostgreSQL paused for 5 s under load: every acked record once', async (t) => {
  const topic = 'pg-pause';
  await createTopic(cluster, topic, partitions);
  const sent = await produceThrough(topic, 100, async (round) => {
    if (round === 10) cluster.postgres.pause();
    if (round === 10 + 5000 / paceMs) cluster.postgres.resume();
  });
  t.diagnostic(`${sent.size} records acked across the pause`);
  checkExactlyOnce(await consumeAll(cluster.bootstrap(), topic, sent.size), sent);
  await allLed(cluster, topic, partitions);
});
