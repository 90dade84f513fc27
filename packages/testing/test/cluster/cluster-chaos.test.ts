/**
 * Cluster chaos (issue 12, "Tests"): three brokers over PostgreSQL and S3 with 3 s leases, a
 * 6-partition topic written for a minute by two idempotent acks=all producers at once, kcat
 * (librdkafka) and the Apache Kafka Java client (through the line driver), while a kcat consumer
 * group and a Java consumer group read all the time. Every 6-8 s a random broker is killed
 * (kill -9) and started again 2 s later. Afterwards every acknowledged record is in the log exactly once, in order per key;
 * records never acknowledged (a Java command that failed) are there at most once; and both
 * groups saw every acknowledged record.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  javaDriverCommand,
  LineClientDriver,
  LineDriverProcess,
  startTestCluster,
  type SpawnedBroker,
  type TestCluster,
} from '@tributary/testing';
import {
  assertDelivered,
  checkExactlyOnce,
  consumeAll,
  createTopic,
  eventually,
  groupConsumer,
  pacedProducer,
} from './cluster-helpers.ts';

const leaseMs = 3000;
const loadMs = 60_000;
const paceMs = 100;
const recordsPerRound = 10;
const keys = 24;
const killGapMinMs = 6000;
const killGapMaxMs = 8000;
const downMs = 2000;
const javaProduceTimeoutMs = 60_000;

/** The fault schedule's seed: CHAOS_SEED replays a run; printed with every result. */
const seed = Number(process.env['CHAOS_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
/** A small seeded generator (mulberry32): the same seed gives the same kills. */
const random = (() => {
  let state = seed >>> 0;
  return (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
})();

let cluster: TestCluster;
/** Every broker process started, dead or alive, so a failure can print their logs. */
const everyBroker: { nodeId: number; broker: SpawnedBroker }[] = [];

before(async () => {
  cluster = await startTestCluster({ brokers: 3, leaseMs });
  for (const [nodeId, broker] of cluster.brokers) everyBroker.push({ nodeId, broker });
});

after(async () => {
  await cluster?.stop();
});

function brokerLogs(): string {
  return everyBroker
    .map(({ nodeId, broker }) => {
      const text = `${broker.stdout()}${broker.stderr()}`.split('\n').slice(-40).join('\n');
      return `--- broker ${nodeId} pid ${broker.pid}\n${text}`;
    })
    .join('\n');
}

/** Kills a random live broker (never the last one) every 6-8 s until `running()` is false. */
async function chaos(running: () => boolean, events: string[]): Promise<void> {
  const started = Date.now();
  while (running()) {
    await sleep(killGapMinMs + random() * (killGapMaxMs - killGapMinMs));
    if (!running()) return;
    const live = [...cluster.brokers.keys()];
    if (live.length < 2) continue;
    const victim = live[Math.floor(random() * live.length)] ?? 1;
    await cluster.killBroker(victim);
    const at = ((Date.now() - started) / 1000).toFixed(1);
    await sleep(downMs);
    const { broker, refusals } = await restart(victim);
    everyBroker.push({ nodeId: victim, broker });
    const upAfter = ((Date.now() - started) / 1000).toFixed(1);
    events.push(
      `${at} s: kill -9 node ${victim}; restarted at ${upAfter} s ` +
        `(${refusals} starts refused first: its dead incarnation still counted as live)`,
    );
  }
}

/**
 * Starts `nodeId` again. A start while the killed incarnation's heartbeat is still fresh is
 * refused ("node id N is in use by a live broker of another incarnation"); it is retried until
 * the heartbeat ages out, which is bounded by the lease time.
 */
async function restart(nodeId: number): Promise<{ broker: SpawnedBroker; refusals: number }> {
  const deadline = Date.now() + 3 * leaseMs + 30_000;
  for (let refusals = 0; ; refusals++) {
    try {
      return { broker: await cluster.startBroker(nodeId), refusals };
    } catch (error: unknown) {
      const refused = error instanceof Error && /in use by a live broker/.test(error.message);
      if (!refused || Date.now() > deadline) throw error;
      await sleep(500);
    }
  }
}

/** Feeds kcat `k:c-<n>` lines until `running()` is false; the acked set once kcat exits 0. */
async function kcatLoad(bootstrap: string, topic: string, running: () => boolean) {
  const producer = pacedProducer(bootstrap, topic);
  const sent = new Set<string>();
  for (let next = 0; running();) {
    const lines: string[] = [];
    for (let i = 0; i < recordsPerRound; i++, next++) {
      lines.push(`ck${next % keys}:c-${next}`);
      sent.add(`c-${next}`);
    }
    producer.write(lines);
    await sleep(paceMs);
  }
  assertDelivered(await producer.end());
  return sent;
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** The Java client's idempotent producer: commands of `recordsPerRound` `j-<n>` values. */
async function javaLoad(bootstrap: string, topic: string, running: () => boolean) {
  const driver = await LineDriverProcess.start(javaDriverCommand(), 'java producer');
  const acked = new Set<string>();
  const unsure = new Set<string>();
  const failures: string[] = [];
  try {
    for (let next = 0; running();) {
      const values: string[] = [];
      const records: { key: string; value: string }[] = [];
      for (let i = 0; i < recordsPerRound; i++, next++) {
        values.push(`j-${next}`);
        records.push({ key: b64(`jk${next % keys}`), value: b64(`j-${next}`) });
      }
      const fields = { bootstrap, topic, records, compression: 'none', idempotent: true };
      try {
        const result = await driver.request('produce', fields, javaProduceTimeoutMs);
        assert.equal((result as unknown[]).length, values.length);
        for (const value of values) acked.add(value);
      } catch (error: unknown) {
        for (const value of values) unsure.add(value);
        failures.push(error instanceof Error ? (error.message.split('\n')[0] ?? '') : `${error}`);
      }
      await sleep(paceMs);
    }
  } finally {
    await driver.close();
  }
  return { acked, unsure, failures };
}

/**
 * A Java consumer group member reading all along, committing after each poll that returned
 * records. After each leader change the Java client validates its position with
 * OffsetForLeaderEpoch (KIP-320): a wrong epoch history would show as a reset or a skip.
 */
function javaGroup(bootstrap: string, topic: string, seen: Set<string>) {
  let reading = true;
  const errors: string[] = [];
  const driver = LineClientDriver.start({
    bootstrap,
    driver: javaDriverCommand(),
    label: 'java consumer',
  });
  const loop = (async () => {
    const consumer = await driver;
    await consumer.subscribe({ groupId: 'chaos-java', topics: [topic] });
    while (reading) {
      try {
        const polled = await consumer.poll(500, 10_000);
        for (const record of polled.records) seen.add(record.value?.toString() ?? '');
        if (polled.records.length > 0) await consumer.commit();
      } catch (error: unknown) {
        errors.push(error instanceof Error ? (error.message.split('\n')[0] ?? '') : `${error}`);
        await sleep(500);
      }
    }
  })();
  return {
    errors,
    stop: async () => {
      reading = false;
      await loop.catch((error: unknown) => errors.push(`${error}`));
      await (await driver.catch(() => undefined))?.close();
    },
  };
}

test('kill -9 of a random broker every few seconds: every acked record once, in order', async (t) => {
  const topic = 'chaos';
  await createTopic(cluster, topic, 6);
  // The same three addresses for the whole test: a restarted broker comes back on its port.
  const bootstrap = cluster.bootstrap();
  const seen = new Set<string>();
  const consumer = groupConsumer(bootstrap, 'chaos-group', topic, seen);
  const javaSeen = new Set<string>();
  const javaConsumer = javaGroup(bootstrap, topic, javaSeen);
  const events: string[] = [];
  const startedAt = Date.now();
  let failed = false;
  const running = (): boolean => !failed && Date.now() - startedAt < loadMs;
  // One part failing stops the others at once instead of after the minute of load.
  const guard = <T>(part: Promise<T>): Promise<T> =>
    part.catch((error: unknown) => {
      failed = true;
      throw error;
    });
  try {
    const [kcatAcked, java] = await Promise.all([
      guard(kcatLoad(bootstrap, topic, running)),
      guard(javaLoad(bootstrap, topic, running)),
      guard(chaos(running, events)),
    ]);
    const loadEndedMs = Date.now() - startedAt;
    const acked = new Set([...kcatAcked, ...java.acked]);
    t.diagnostic(`faults (CHAOS_SEED=${seed}):\n${events.join('\n')}`);
    t.diagnostic(
      `load ${loadEndedMs} ms: kcat acked ${kcatAcked.size}, java acked ${java.acked.size}, ` +
        `java unacknowledged ${java.unsure.size}`,
    );
    if (java.failures.length > 0) t.diagnostic(`java failures:\n${java.failures.join('\n')}`);
    assert.ok(events.length >= 5, `at least 5 kills in a minute (${events.length})`);

    const records = await consumeAll(cluster.bootstrap(), topic, acked.size);
    t.diagnostic(`log holds ${records.length} records`);
    checkExactlyOnce(records, acked, java.unsure);

    const unseen = await eventually('the group saw every acked record', 60_000, async () => {
      const missing = [...acked].filter((value) => !seen.has(value));
      return missing.length === 0 ? missing : undefined;
    }).catch((error: unknown) => {
      const missing = [...acked].filter((value) => !seen.has(value));
      throw new Error(`group missed ${missing.length}: ${missing.slice(0, 10).join(' ')}`, {
        cause: error,
      });
    });
    assert.deepEqual(unseen, []);
    t.diagnostic(`the group saw ${seen.size} distinct values`);
    await eventually('the Java group saw every acked record', 60_000, async () =>
      [...acked].every((value) => javaSeen.has(value)) ? true : undefined,
    ).catch((error: unknown) => {
      const missing = [...acked].filter((value) => !javaSeen.has(value));
      throw new Error(
        `the Java group missed ${missing.length}: ${missing.slice(0, 10).join(' ')}`,
        {
          cause: error,
        },
      );
    });
    t.diagnostic(
      `the Java group saw ${javaSeen.size} distinct values; poll errors: ${javaConsumer.errors.length}`,
    );
  } catch (error: unknown) {
    t.diagnostic(
      `faults (CHAOS_SEED=${seed}):\n${events.join('\n')}\nconsumer:\n${consumer.stderr().slice(-4000)}`,
    );
    t.diagnostic(brokerLogs());
    throw error;
  } finally {
    await consumer.stop();
    await javaConsumer.stop();
  }
});
