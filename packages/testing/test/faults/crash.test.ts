/**
 * SIGKILL durability (RELIABILITY.md §5.4 F1): a broker process is killed at random moments while
 * librdkafka produces with acks=all, then restarted on the same data directory. The moments come
 * from a seeded schedule: the test prints FAULT_SEED, and FAULT_SEED=<seed> replays the same
 * delays (the broker's own timing still varies). Afterwards every acknowledged record must be
 * readable at exactly the acknowledged offset with the same value, each partition must be
 * contiguous from offset 0, the log must continue past every crash, and the cluster and node ids
 * must survive restarts.
 *
 * Note: kill -9 keeps the page cache, so this does not prove fsync ordering (that is F8).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RestartableBroker, type SpawnedBroker } from '../../src/index.ts';
import { checkAckedRecords, checkLogContinued } from './durability-check.ts';
import { faultSeed, randomInt, seededRandom } from './fault-seed.ts';
import {
  createTopic,
  readTopic,
  runDriver,
  startProducer,
  type DriverProcess,
} from './python-driver.ts';

const topic = 'crash-durability';
const partitionCount = 3;
const killRounds = 4;
const producerRatePerSecond = 1000;
const seed = faultSeed();
const random = seededRandom(seed);

const dataDir = mkdtempSync(join(tmpdir(), 'tributary-crash-'));
const broker = new RestartableBroker({ dataDir });
let producer: DriverProcess | undefined;

after(async () => {
  producer?.kill();
  await broker.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Identity {
  clusterId: string;
  nodeId: number;
  metadataClusterId: unknown;
  brokerIds: unknown;
}

async function identity(ready: SpawnedBroker): Promise<Identity> {
  const lines = await runDriver(['metadata', '--bootstrap', broker.bootstrap], 30_000);
  const metadata = lines.find((line) => line.type === 'metadata');
  assert.ok(metadata, 'metadata driver printed no metadata line');
  return {
    clusterId: ready.clusterId,
    nodeId: ready.nodeId,
    metadataClusterId: metadata['cluster_id'],
    brokerIds: metadata['broker_ids'],
  };
}

/** Mostly mid-stream moments, sometimes right after the previous restart's first acks. */
function randomDelayMs(): number {
  return random() < 0.25 ? randomInt(random, 0, 100) : randomInt(random, 100, 2000);
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

test(
  'acknowledged records survive repeated SIGKILL of the broker',
  { timeout: 240_000 },
  async (t) => {
    t.diagnostic(`FAULT_SEED=${seed}`);
    const identities = [await identity(await broker.start())];
    await createTopic(broker.bootstrap, topic, partitionCount);
    producer = startProducer({
      bootstrap: broker.bootstrap,
      topic,
      partitions: partitionCount,
      ratePerSecond: producerRatePerSecond,
      prefix: 'crash',
    });
    const running = producer;
    /** Number of acks seen when each kill happened; acks after index k arrived after kill k. */
    const acksAtKill: number[] = [];
    for (let round = 0; round < killRounds; round += 1) {
      const before = running.acks().length;
      await running.waitFor(
        () => running.acks().length >= before + 20,
        30_000,
        `acks in round ${round}`,
      );
      const delayMs = randomDelayMs();
      t.diagnostic(`round ${round}: killing after ${delayMs} ms (${running.acks().length} acks)`);
      await sleep(delayMs);
      await broker.kill();
      const killedAt = Date.now();
      const acksBefore = running.acks().length;
      acksAtKill.push(acksBefore);
      identities.push(await identity(await broker.start()));
      // RELIABILITY.md §5.5 asks for time to first ack after a kill -9 restart; report it.
      await running.waitFor(() => running.acks().length > acksBefore, 30_000, 'first ack');
      t.diagnostic(`round ${round}: first ack ${Date.now() - killedAt} ms after the kill`);
    }
    const last = running.acks().length;
    await running.waitFor(
      () => running.acks().length >= last + 20,
      30_000,
      'acks after last restart',
    );
    const exitCode = await running.stop(60_000);
    assert.equal(exitCode, 0, `producer exited with ${exitCode}: ${running.stderr.slice(-2000)}`);
    const done = running.lines.find((line) => line.type === 'done');
    t.diagnostic(
      `producer: ${JSON.stringify(done)}; errors: ` +
        `${running.lines.filter((line) => line.type === 'error').length}`,
    );

    checkIdentities(identities);
    const acks = running.acks();
    assert.deepEqual(checkLogContinued(acks, acksAtKill), [], 'the log did not continue');
    const records = await readTopic(broker.bootstrap, topic);
    assert.deepEqual(
      checkAckedRecords(acks, records),
      [],
      `durability violations (FAULT_SEED=${seed})`,
    );
    t.diagnostic(`${acks.length} acks, ${records.length} records read back (FAULT_SEED=${seed})`);
  },
);

function checkIdentities(identities: Identity[]): void {
  const first = identities[0];
  assert.ok(first);
  assert.ok(
    typeof first.metadataClusterId === 'string' && first.metadataClusterId.length > 0,
    `Metadata returned no cluster id: ${JSON.stringify(first)}`,
  );
  for (const [index, next] of identities.entries()) {
    assert.deepEqual(next, first, `identity changed after restart ${index}`);
  }
}
