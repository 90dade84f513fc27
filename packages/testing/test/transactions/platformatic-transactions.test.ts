/**
 * @platformatic/kafka 2.12 transactional producer (beginTransaction / send / commit / abort,
 * addConsumer + addOffset for consume-transform-produce) against an in-process broker: transactions
 * over two topics commit or abort atomically, offsets of a consumed message reach the group only on
 * commit. Reads: a @platformatic/kafka group member (read_committed is its default) that runs the
 * whole time, and librdkafka in both isolation levels up to partition EOF.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Admin,
  Consumer,
  MessagesStreamModes,
  Producer,
  stringDeserializers,
  stringSerializers,
  type Message,
} from '@platformatic/kafka';
import { clientCell, compatibilityScenarios, recordStep } from '../../src/index.ts';
import { labels, readAll, startTransactionBroker } from './transaction-helpers.ts';
import { waitUntil } from '../groups/live-group-member.ts';

const groupId = 'plt-ctp';
const cell = () => clientCell('platformatic', compatibilityScenarios.transactions);

function batch(topic: string, label: string) {
  return [0, 1, 2].map((i) => ({ topic, value: `${label}-${i}`, partition: i % 2 }));
}

function transactionalProducer(bootstrap: string, transactionalId: string) {
  return new Producer({
    clientId: `plt-${transactionalId}`,
    bootstrapBrokers: [bootstrap],
    transactionalId,
    idempotent: true,
    serializers: stringSerializers,
    retries: 3,
    retryDelay: 100,
  });
}

async function groupOffsets(bootstrap: string, topic: string): Promise<Map<number, bigint>> {
  const admin = new Admin({ clientId: 'plt-admin', bootstrapBrokers: [bootstrap] });
  try {
    const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId] });
    const partitions = group?.topics.find((t) => t.name === topic)?.partitions ?? [];
    return new Map(partitions.map((p) => [p.partitionIndex, p.committedOffset]));
  } finally {
    await admin.close();
  }
}

test('@platformatic/kafka transactions: commit, abort, offsets', (t) =>
  recordStep(t, cell, async () => {
    const [a, b] = ['plt-txn-a', 'plt-txn-b'];
    const broker = await startTransactionBroker([a, b]);
    const producer = transactionalProducer(broker.bootstrap, 'plt-t1');
    const consumer = new Consumer({
      clientId: 'plt-ctp-member',
      groupId,
      bootstrapBrokers: [broker.bootstrap],
      deserializers: stringDeserializers,
      sessionTimeout: 10_000,
      heartbeatInterval: 500,
    });
    try {
      const first = await producer.beginTransaction();
      await first.send({ messages: [...batch(a, 'commit-1'), ...batch(b, 'commit-1b')] });
      await first.commit();
      const aborted = await producer.beginTransaction();
      await aborted.send({ messages: [...batch(a, 'abort-1'), ...batch(b, 'abort-1b')] });
      await aborted.abort();

      const seen: Message<string, string, string, string>[] = [];
      const stream = await consumer.consume({
        topics: [a],
        mode: MessagesStreamModes.EARLIEST,
        autocommit: false,
      });
      stream.on('data', (message) => seen.push(message));
      await waitUntil(() => seen.length >= 3, 30_000, 'the first committed transaction');
      const onPartition = (partition: number) => {
        const found = seen.find((m) => m.partition === partition);
        assert.ok(found, `a message on partition ${partition}`);
        return found;
      };

      // Consume-transform-produce: the offset after the message on partition 0 commits with the
      // transaction; the one for partition 1 goes with an aborted transaction and must not stick.
      const withOffsets = await producer.beginTransaction();
      await withOffsets.send({ messages: batch(a, 'commit-2') });
      await withOffsets.addConsumer(consumer);
      await withOffsets.addOffset(onPartition(0));
      await withOffsets.commit();
      const abortedOffsets = await producer.beginTransaction();
      await abortedOffsets.send({ messages: batch(a, 'abort-2') });
      await abortedOffsets.addConsumer(consumer);
      await abortedOffsets.addOffset(onPartition(1));
      await abortedOffsets.abort();

      // No fencing step: 2.12 sends InitProducerId with producerId 0 / epoch 0 (its defaults)
      // instead of -1 / -1, so a second session is refused PRODUCER_FENCED on its retry, as
      // Kafka would refuse it. Another beginTransaction on the same producer is the next session.
      const last = await producer.beginTransaction();
      await last.send({ messages: batch(a, 'commit-3') });
      await last.commit();

      const committedA = labels('commit-1', 'commit-2', 'commit-3');
      await waitUntil(() => seen.length >= committedA.length, 30_000, 'every committed record');
      await new Promise((resolve) => setTimeout(resolve, 500));
      await stream.close();
      assert.deepEqual(seen.map((m) => m.value).toSorted(), committedA);
      assert.deepEqual(await readAll(broker.bootstrap, a, 'read_committed'), committedA);
      assert.deepEqual(await readAll(broker.bootstrap, b, 'read_committed'), labels('commit-1b'));
      assert.deepEqual(
        await readAll(broker.bootstrap, a, 'read_uncommitted'),
        labels('commit-1', 'abort-1', 'commit-2', 'abort-2', 'commit-3'),
      );
      assert.deepEqual(
        await readAll(broker.bootstrap, b, 'read_uncommitted'),
        labels('commit-1b', 'abort-1b'),
      );
      const offsets = await groupOffsets(broker.bootstrap, a);
      assert.equal(offsets.get(0), onPartition(0).offset + 1n);
      assert.ok((offsets.get(1) ?? -1n) < 0n, `partition 1 offset ${offsets.get(1)} after abort`);
    } finally {
      await consumer.close(true).catch(() => undefined);
      await producer.close().catch(() => undefined);
      await broker.close();
    }
  }));
