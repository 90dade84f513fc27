/**
 * kafkajs 2.2.4 transactional producer (idempotent, maxInFlightRequests 1) against an
 * in-process broker: transactions over two topics commit or abort atomically, sendOffsets
 * reaches the group only on commit, and a second producer with the same transactionalId fences
 * the first and aborts its open transaction. Reads: a kafkajs consumer group (read_committed is
 * its default) and librdkafka in both isolation levels, which stops at partition EOF and so
 * proves nothing aborted is hiding past the records the group saw.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs, { type Kafka, type Producer } from 'kafkajs';
import { clientCell, compatibilityScenarios, recordStep } from '../../src/index.ts';
import { labels, readAll, startTransactionBroker } from './transaction-helpers.ts';

const { logLevel } = kafkajs;
const cell = () => clientCell('kafkajs', compatibilityScenarios.transactions);

/** Values `label-0..2` on partitions 0,1,0 of `topic`. */
function batch(topic: string, label: string) {
  return {
    topic,
    messages: [0, 1, 2].map((i) => ({ value: `${label}-${i}`, partition: i % 2 })),
  };
}

function transactionalProducer(kafka: Kafka, transactionalId: string): Producer {
  return kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
}

async function readWithGroup(kafka: Kafka, topic: string, expected: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `kjs-read-${topic}`, sessionTimeout: 10_000 });
  const seen: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value?.toString() ?? '');
      },
    });
    const deadline = Date.now() + 30_000;
    while (seen.length < expected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // A little longer, so an aborted record delivered after the committed ones would show.
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    await consumer.disconnect();
  }
  return seen.toSorted();
}

test('kafkajs transactions: commit, abort, sendOffsets, fencing', (t) =>
  recordStep(t, cell, async () => {
    const [a, b] = ['kjs-txn-a', 'kjs-txn-b'];
    const broker = await startTransactionBroker([a, b]);
    const kafka = new kafkajs.Kafka({
      clientId: 'txn-kafkajs',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    try {
      const producer = transactionalProducer(kafka, 'kjs-t1');
      await producer.connect();

      const first = await producer.transaction();
      await first.send(batch(a, 'commit-1'));
      await first.send(batch(b, 'commit-1b'));
      await first.commit();

      const aborted = await producer.transaction();
      await aborted.send(batch(a, 'abort-1'));
      await aborted.send(batch(b, 'abort-1b'));
      await aborted.abort();

      const offsetsFor = (offset: string) => ({
        consumerGroupId: 'kjs-ctp',
        topics: [{ topic: a, partitions: [{ partition: 0, offset }] }],
      });
      const withOffsets = await producer.transaction();
      await withOffsets.send(batch(a, 'commit-2'));
      await withOffsets.sendOffsets(offsetsFor('5'));
      await withOffsets.commit();
      const abortedOffsets = await producer.transaction();
      await abortedOffsets.send(batch(a, 'abort-2'));
      await abortedOffsets.sendOffsets(offsetsFor('7'));
      await abortedOffsets.abort();

      // Fencing: the open transaction of the old session is aborted by the new one's
      // InitProducerId, which kafkajs sends at its first transaction(), not at connect().
      const open = await producer.transaction();
      await open.send(batch(a, 'fenced-1'));
      const successor = transactionalProducer(kafka, 'kjs-t1');
      await successor.connect();
      const last = await successor.transaction();
      await assert.rejects(open.commit(), (error: Error) => {
        assert.match(`${error.name} ${error.message}`, /fenced|epoch/i);
        return true;
      });
      await last.send(batch(a, 'commit-3'));
      await last.commit();
      await producer.disconnect().catch(() => undefined);
      await successor.disconnect();

      const committedA = labels('commit-1', 'commit-2', 'commit-3');
      assert.deepEqual(await readWithGroup(kafka, a, committedA.length), committedA);
      assert.deepEqual(await readAll(broker.bootstrap, a, 'read_committed'), committedA);
      assert.deepEqual(await readAll(broker.bootstrap, b, 'read_committed'), labels('commit-1b'));
      assert.deepEqual(
        await readAll(broker.bootstrap, a, 'read_uncommitted'),
        labels('commit-1', 'abort-1', 'commit-2', 'abort-2', 'fenced-1', 'commit-3'),
      );
      assert.deepEqual(
        await readAll(broker.bootstrap, b, 'read_uncommitted'),
        labels('commit-1b', 'abort-1b'),
      );

      const admin = kafka.admin();
      await admin.connect();
      const [fetched] = await admin.fetchOffsets({ groupId: 'kjs-ctp', topics: [a] });
      await admin.disconnect();
      const partition0 = fetched?.partitions.find((p) => p.partition === 0);
      assert.equal(partition0?.offset, '5', 'only the committed transaction moves the group');
    } finally {
      await broker.close();
    }
  }));
