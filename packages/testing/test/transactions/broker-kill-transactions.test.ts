/**
 * A broker SIGKILL with a transaction open (librdkafka 2.0.2): after the restart the committed
 * transaction is still visible to read_committed, the open one never becomes visible, and a new
 * producer with the same transactional.id aborts it and commits its own.
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
  type TempDir,
} from '../../src/index.ts';
import { labels } from './transaction-helpers.ts';

const script = fileURLToPath(new URL('./python/kill_scenario.py', import.meta.url));
const cleanup: (() => Promise<void>)[] = [];

after(async () => {
  for (const step of cleanup.toReversed()) await step();
});

/** The scripts import each other; keep __pycache__ out of the source tree. */
const noBytecode = { PYTHONDONTWRITEBYTECODE: '1' };
const cell = () => clientCell('confluentKafka', compatibilityScenarios.transactions);

async function phase(bootstrap: string, name: string): Promise<unknown> {
  const run = await runCommand(systemPython, [script, bootstrap, 'txn-kill', name], {
    timeoutMs: 120_000,
    env: noBytecode,
  });
  assert.equal(run.code, 0, `${name}: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
}

test('SIGKILL with an open transaction: it stays invisible and is aborted', (t) =>
  recordStep(t, cell, async () => {
    const dir: TempDir = await tempDir('txn-kill');
    cleanup.push(() => dir.remove());
    const broker = new RestartableBroker({ dataDir: dir.path });
    cleanup.push(() => broker.kill());
    await broker.start();
    await phase(broker.bootstrap, 'before');
    await broker.kill();
    await broker.start();
    const result = (await phase(broker.bootstrap, 'after')) as {
      readCommitted: string[];
      readUncommitted: string[];
    };
    assert.deepEqual(result.readCommitted, labels('k-commit', 'k-after'));
    assert.deepEqual(result.readUncommitted, labels('k-commit', 'k-open', 'k-after'));
  }));
