/**
 * Exactly-once consume-transform-produce across broker crashes, a scaled-down Kafka
 * transactions_test (RELIABILITY.md §2.1, workload W3). An idempotent producer seeds 5,000 unique
 * values over 2 input partitions; a librdkafka copier (read_committed group member plus a
 * transactional producer that commits each batch together with the group offsets) copies them to a
 * 3-partition output topic while the broker, a CLI process, is SIGKILLed and restarted three times
 * on the same data dir, and the first copier is SIGKILLed too. A copier that dies or gives up is
 * replaced by a new one with the same transactional.id. At the end a read_committed reader must see
 * every input value exactly once in the output: no loss, no duplicates.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import {
  clientCell,
  compatibilityScenarios,
  recordStep,
  RestartableBroker,
  runCommand,
  systemPython,
  tempDir,
} from '../../src/index.ts';

const copierScript = fileURLToPath(new URL('./python/eos_copy.py', import.meta.url));
const readerScript = fileURLToPath(new URL('./python/read_topic.py', import.meta.url));
const pythonEnv = { PYTHONDONTWRITEBYTECODE: '1' };
const inputTopic = 'eos-in';
const outputTopic = 'eos-out';
const recordCount = 5_000;
const batchRecords = 100;
/** Sleep between transactions, so that ~50 transactions span the kills below. */
const paceMs = 150;
const killDelaysMs = [2_500, 4_000, 4_000];
const restartDownMs = 500;
const copierRunMaxMs = 60_000;
const copierKillAfterMs = 7_000;
const testDeadlineMs = 85_000;
const cell = () => clientCell('confluentKafka', compatibilityScenarios.transactions);

const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const step of cleanup.toReversed()) await step();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function python(args: readonly string[], timeoutMs: number) {
  return runCommand(systemPython, args, { timeoutMs, env: pythonEnv });
}

/**
 * Runs copiers until one reports done; each one that gives up is replaced. The first one is
 * SIGKILLed after `copierKillAfterMs` (a client bounce: its successor must fence it, abort what
 * it left open, and resume from the group's committed offsets).
 */
async function copyUntilDone(bootstrap: string, deadline: number): Promise<string[]> {
  const log: string[] = [];
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    const args = [copierScript, 'copy', bootstrap, inputTopic, outputTopic, 'eos-group'];
    const runMaxMs = attempt === 1 ? copierKillAfterMs : copierRunMaxMs;
    const run = await python(
      [...args, 'eos-copier', `${batchRecords}`, `${paceMs}`],
      Math.min(runMaxMs, deadline - Date.now()),
    );
    const last = run.stdout.trim().split('\n').at(-1) ?? '';
    // The copier's own lines only; librdkafka's connection noise starts with '%'.
    const notes = run.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('%'));
    const ending = run.timedOut ? 'SIGKILLed' : `code ${run.code}`;
    log.push(`copier ${attempt}: ${ending} ${last}`, ...notes.slice(-30));
    if (run.code === 0 && last.includes('"done": true')) return log;
    await sleep(300);
  }
  throw new Error(`copy did not finish in time:\n${log.join('\n')}`);
}

/** SIGKILLs the broker after each delay and restarts it on the same port and data dir. */
async function crashLoop(broker: RestartableBroker, stopped: () => boolean): Promise<number> {
  let kills = 0;
  for (const delayMs of killDelaysMs) {
    await sleep(delayMs);
    if (stopped()) break;
    await broker.kill();
    kills++;
    await sleep(restartDownMs);
    await broker.start();
  }
  return kills;
}

test('consume-transform-produce copies exactly once across broker SIGKILLs', (t) =>
  recordStep(t, cell, async () => {
    const deadline = Date.now() + testDeadlineMs;
    const dir = await tempDir('eos-copy');
    cleanup.push(() => dir.remove());
    const broker = new RestartableBroker({ dataDir: dir.path });
    cleanup.push(() => broker.kill());
    await broker.start();

    const seeded = await python(
      [copierScript, 'seed', broker.bootstrap, inputTopic, outputTopic, `${recordCount}`],
      30_000,
    );
    assert.equal(seeded.code, 0, seeded.stderr);

    let copying = true;
    const crashes = crashLoop(broker, () => !copying);
    const log = await copyUntilDone(broker.bootstrap, deadline).finally(() => (copying = false));
    const kills = await crashes;
    t.diagnostic(`${kills} broker kills during the copy\n${log.join('\n')}`);
    assert.equal(kills, killDelaysMs.length, 'every kill happened while the copy ran');
    assert.match(log.join('\n'), /copier 1: SIGKILLed/, 'the first copier was killed mid-copy');

    const read = await python(
      [readerScript, broker.bootstrap, outputTopic, '3', 'read_committed'],
      30_000,
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
    assert.deepEqual(new Set(output), new Set(expected));
  }));
