/**
 * The "transactions (read_committed)" column for kcat 1.7.1 (librdkafka 2.0.2), as
 * full-scenario.ts's transactionScenario checks the line-driver clients: commit, abort, commit with
 * one transactional.id, then read_committed sees only the committed records and read_uncommitted
 * the aborted ones too. With `-X transactional.id` kcat sends everything of one run in a single
 * transaction, committed when stdin ends; its only way to abort is an interrupt (SIGINT), so each
 * transaction is one kcat run and the second is interrupted once most of its records are in the
 * log. kcat 1.7.1 then either aborts (the signal found it between messages) or exits 1 leaving the
 * transaction open (kcat-producer.ts); in that case the next run's InitProducerId with the same
 * transactional.id makes the coordinator abort it, as Kafka does for a producer that died in a
 * transaction. Either way the records are aborted; the test says which path it took.
 * kcat has no admin API: the topic is created with the broker's storage (in process); every
 * produce and read is kcat's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientCell, compatibilityScenarios, recordStep } from '../../src/index.ts';
import {
  kcatReadAll,
  startKcatProducer,
  waitForRecords,
  type KcatProducer,
} from '../idempotence/kcat-producer.ts';
import { startTransactionBroker } from './transaction-helpers.ts';

const topic = 'kcat-transactions';
/** startTransactionBroker's topics have two partitions. */
const partitions = 2;
const perTransaction = 30;
const transactionalId = 'kcat-txn';
const cell = () => clientCell('kcat', compatibilityScenarios.transactions);

/**
 * kcat holds back the last few hundred bytes written while stdin is open (kcat-producer.ts): long
 * values keep that to a few records.
 */
const filler = 'x'.repeat(240);

function batch(label: string): [string, string][] {
  return Array.from({ length: perTransaction }, (_, i) => [`k${i % 7}`, `${label}-${i} ${filler}`]);
}

function transactional(bootstrap: string): KcatProducer {
  return startKcatProducer(bootstrap, topic, {
    'transactional.id': transactionalId,
    acks: 'all',
    'linger.ms': '5',
  });
}

async function committedRun(bootstrap: string, label: string): Promise<void> {
  const producer = transactional(bootstrap);
  producer.write(batch(label));
  const exit = await producer.end();
  assert.equal(exit.code, 0, `kcat ${label}\n${exit.stderr}`);
  assert.doesNotMatch(exit.stderr, /ERROR/);
}

const values = (records: readonly { value: string }[]) => records.map((r) => r.value).toSorted();

test('commit, interrupted (aborted), commit: read_committed sees only the committed', (t) =>
  recordStep(t, cell, async () => {
    const broker = await startTransactionBroker([topic]);
    const running: KcatProducer[] = [];
    try {
      const { bootstrap } = broker;
      await committedRun(bootstrap, 'commit-1');

      // kcat holds back its last lines while stdin is open: interrupt it once two thirds of the
      // batch are in the log, open in the transaction.
      const aborting = transactional(bootstrap);
      running.push(aborting);
      aborting.write(batch('abort'));
      const reached = perTransaction + (perTransaction * 2) / 3;
      await waitForRecords(bootstrap, topic, partitions, reached, aborting);
      const interrupted = await aborting.interrupt();
      const abortedByKcat = /Aborting transaction due to termination signal/.test(
        interrupted.stderr,
      );
      if (abortedByKcat) assert.equal(interrupted.code, 0, interrupted.stderr);
      else assert.match(interrupted.stderr, /Program terminated while producing/);
      t.diagnostic(
        abortedByKcat
          ? 'kcat aborted the transaction on SIGINT'
          : 'kcat exited mid-transaction; the next InitProducerId aborted it',
      );

      await committedRun(bootstrap, 'commit-2');

      const committed = [...batch('commit-1'), ...batch('commit-2')].map(([, value]) => value);
      const readCommitted = await kcatReadAll(bootstrap, topic, 'read_committed');
      assert.deepEqual(
        values(readCommitted),
        committed.toSorted(),
        'read_committed: the two committed transactions, nothing of the aborted one',
      );

      const readUncommitted = await kcatReadAll(bootstrap, topic, 'read_uncommitted');
      const aborted = new Set(batch('abort').map(([, value]) => value));
      const seenAborted = readUncommitted.filter((r) => aborted.has(r.value));
      assert.ok(
        seenAborted.length >= reached - perTransaction,
        `read_uncommitted sees the aborted records too: ${seenAborted.length}`,
      );
      assert.deepEqual(
        values(readUncommitted.filter((r) => !aborted.has(r.value))),
        committed.toSorted(),
      );
    } finally {
      for (const producer of running) producer.kill();
      await broker.close();
    }
  }));
