/**
 * Transactions in cluster mode: a librdkafka consume-transform-produce copier (the same one as
 * transactions/eos-copy-broker-kill.test.ts) copies 3,000 values from a 2-partition topic to a
 * 3-partition one over three brokers, so its markers go from the transaction coordinator to
 * leaders on other brokers (WriteTxnMarkers). Midway the broker holding the coordinators is
 * killed (kill -9) and started again later: the coordinators move with their leases, the new
 * holder replays their logs, and a read_committed reader must still see every value exactly once.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCommand, startTestCluster, systemPython, type TestCluster } from '@tributary/testing';
import { coordinatorOf } from './cluster-helpers.ts';

const copierScript = fileURLToPath(new URL('../transactions/python/eos_copy.py', import.meta.url));
const readerScript = fileURLToPath(
  new URL('../transactions/python/read_topic.py', import.meta.url),
);
const pythonEnv = { PYTHONDONTWRITEBYTECODE: '1' };
const recordCount = 3_000;
const batchRecords = 100;
const paceMs = 150;
const copierRunMaxMs = 60_000;
const testDeadlineMs = 120_000;

let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster({ brokers: 3, leaseMs: 3000 });
});

after(async () => {
  await cluster?.stop();
});

function python(args: readonly string[], timeoutMs: number) {
  return runCommand(systemPython, args, { timeoutMs, env: pythonEnv });
}

async function copyUntilDone(deadline: number): Promise<string[]> {
  const log: string[] = [];
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    const run = await python(
      [
        copierScript,
        'copy',
        cluster.bootstrap(),
        'eos-in',
        'eos-out',
        'eos-group',
        'eos-copier',
        `${batchRecords}`,
        `${paceMs}`,
      ],
      Math.min(copierRunMaxMs, deadline - Date.now()),
    );
    const last = run.stdout.trim().split('\n').at(-1) ?? '';
    const notes = run.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('%'));
    log.push(`copier ${attempt}: ${run.timedOut ? 'timed out' : `code ${run.code}`} ${last}`);
    log.push(...notes.slice(-20));
    if (run.code === 0 && last.includes('"done": true')) return log;
    await sleep(300);
  }
  throw new Error(`copy did not finish in time:\n${log.join('\n')}`);
}

test('a transactional copy across a coordinator failover stays exactly-once', async (t) => {
  const deadline = Date.now() + testDeadlineMs;
  const seeded = await python(
    [copierScript, 'seed', cluster.bootstrap(), 'eos-in', 'eos-out', `${recordCount}`],
    60_000,
  );
  assert.equal(seeded.code, 0, seeded.stderr);
  const groupCoordinator = await coordinatorOf(cluster.bootstrap(), 'eos-group', 0);
  assert.ok(groupCoordinator > 0, 'a broker coordinates the group');
  let copying = true;
  const failover = (async () => {
    await sleep(4_000);
    if (!copying) return 'the copy ended before the kill';
    const victim = await coordinatorOf(cluster.bootstrap(), 'eos-copier', 1);
    await cluster.killBroker(victim);
    await sleep(8_000);
    await cluster.startBroker(victim);
    return `killed coordinator node ${victim}, restarted it 8 s later`;
  })();
  const log = await copyUntilDone(deadline).finally(() => (copying = false));
  const killed = await failover;
  t.diagnostic(`${killed}\n${log.join('\n')}`);
  assert.match(killed, /killed coordinator/);
  assert.notEqual(await coordinatorOf(cluster.bootstrap(), 'eos-copier', 1), -1);

  const read = await python(
    [readerScript, cluster.bootstrap(), 'eos-out', '3', 'read_committed'],
    60_000,
  );
  assert.equal(read.code, 0, read.stderr);
  const output = (JSON.parse(read.stdout.trim()) as { values: string[] }).values;
  const counts = new Map<string, number>();
  for (const value of output) counts.set(value, (counts.get(value) ?? 0) + 1);
  const duplicates = [...counts].filter(([, n]) => n > 1).map(([value]) => value);
  const expected = Array.from({ length: recordCount }, (_, n) => `copy:v-${n}`);
  const missing = expected.filter((value) => !counts.has(value));
  const context = `\n${log.join('\n')}`;
  assert.deepEqual(duplicates.slice(0, 20), [], `${duplicates.length} duplicates${context}`);
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} missing${context}`);
  assert.equal(output.length, recordCount, context);
});
