/**
 * End to end with librdkafka 2.0.2 (python3-confluent-kafka): a transactional producer commits
 * and aborts transactions over two partitions; a producer left with an open transaction is fenced
 * by a new one with the same transactional.id, which aborts it; a transaction abandoned past its
 * transaction.timeout.ms is aborted by the broker; send_offsets_to_transaction offsets reach the
 * group only when their transaction commits. read_committed sees exactly the committed
 * records, read_uncommitted sees all of them. Then the broker restarts on the same data and a
 * read_committed consumer still sees exactly the committed ones.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startBroker } from '@tributary/broker';
import {
  clientCell,
  compatibilityScenarios,
  recordStep,
  runCommand,
  systemPython,
  tempDir,
} from '../../src/index.ts';
import { labels } from './transaction-helpers.ts';

const script = fileURLToPath(new URL('./python/txn_scenario.py', import.meta.url));

/** The scripts import each other; keep __pycache__ out of the source tree. */
const noBytecode = { PYTHONDONTWRITEBYTECODE: '1' };
const cell = () => clientCell('confluentKafka', compatibilityScenarios.transactions);

test('librdkafka transactions: commit, abort, fencing, timeout, restart', (t) =>
  recordStep(t, cell, async () => {
    const dir = await tempDir('txn');
    t.after(() => dir.remove());
    const topic = 'txn-e2e';
    const options = {
      port: 0,
      host: '127.0.0.1',
      dataDir: dir.path,
      quiet: true,
      transactions: { tickIntervalMs: 200 },
    } as const;
    let broker = await startBroker(options);
    try {
      await broker.storage.createTopic({ name: topic, partitionCount: 2, configs: {} });
      const run = await runCommand(systemPython, [script, broker.bootstrap, topic], {
        timeoutMs: 150_000,
        env: noBytecode,
      });
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as {
        errors: string[];
        groupOffset: number | null;
        readCommitted: string[];
        readUncommitted: string[];
      };
      assert.deepEqual(result.errors, []);
      assert.equal(result.groupOffset, 5, 'offsets of the committed transaction only');
      const committedValues = labels('commit-1', 'commit-2', 'commit-3', 'commit-4');
      assert.deepEqual(result.readCommitted, committedValues);
      assert.deepEqual(
        result.readUncommitted,
        labels(
          'commit-1',
          'abort-1',
          'fenced-1',
          'commit-2',
          'timeout-1',
          'commit-3',
          'commit-4',
          'abort-2',
        ),
      );
      await broker.close();
      broker = await startBroker({ ...options, port: 0 });
      const check = await runCommand(systemPython, ['-c', consumeOnly, broker.bootstrap, topic], {
        timeoutMs: 60_000,
        env: noBytecode,
      });
      assert.equal(check.code, 0, check.stderr);
      assert.deepEqual(JSON.parse(check.stdout.trim()), committedValues);
    } finally {
      await broker.close();
    }
  }));

const consumeOnly = `
import json, sys
sys.path.insert(0, ${JSON.stringify(fileURLToPath(new URL('./python/', import.meta.url)))})
from txn_scenario import consume
print(json.dumps(consume(sys.argv[1], sys.argv[2], "read_committed")))
`;
