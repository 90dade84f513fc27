/**
 * Exactly-once consume-transform-produce through Kafka transactions against a broker process:
 * each input's outputs appear once for a read_committed reader, also when the transformer is
 * stopped mid-stream and a new instance with the same transactional id takes over; an input
 * whose handler throws is dead-lettered in the transaction and its partial outputs never appear.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  defineEvent,
  ensureTopics,
  EventConsumer,
  EventProducer,
  EventTransformer,
  readDeadLetters,
} from '../src/index.ts';
import { orderPlacedContract, sampleOrder } from './contracts.ts';
import { startSdkTestBroker, uniqueTopic, waitFor, type SdkTestBroker } from './sdk-test-broker.ts';

let broker: SdkTestBroker;
before(async () => {
  broker = await startSdkTestBroker();
});
after(() => broker.stop());

interface InvoiceRequested {
  orderId: string;
  amountCents: number;
}

test('each input becomes its outputs exactly once, across a handover', async () => {
  const input = uniqueTopic('eos-in');
  const output = uniqueTopic('eos-out');
  const orders = orderPlacedContract(input);
  const invoices = defineEvent<InvoiceRequested>({
    type: 'invoice.requested',
    version: 1,
    topic: output,
    aggregateId: (invoice) => invoice.orderId,
    schema: {
      type: 'object',
      required: ['orderId', 'amountCents'],
      properties: { orderId: { type: 'string' }, amountCents: { type: 'integer' } },
    },
  });
  const connection = { bootstrap: broker.bootstrap };
  await ensureTopics(connection, [input, output], { partitions: 3 });
  const producer = new EventProducer({ ...connection, source: 'urn:test' });
  const handled: string[] = [];
  const transformer = () =>
    new EventTransformer({
      ...connection,
      groupId: `billing-${input}`,
      transactionalId: `billing-${input}-0`,
      source: 'urn:test:billing',
    }).on(orders, async (event, { emit }) => {
      handled.push(event.data.orderId);
      await emit(invoices, { orderId: event.data.orderId, amountCents: event.data.totalCents });
      if (event.data.orderId === 'explodes') throw new Error('tax service down');
      await emit(invoices, { orderId: `${event.data.orderId}-fee`, amountCents: 100 });
    });
  const outputs: string[] = [];
  const reader = new EventConsumer({
    ...connection,
    groupId: `reader-${output}`,
    retryDelaysMs: [],
  });
  reader.on(invoices, async (event) => {
    outputs.push(event.data.orderId);
  });
  await reader.start();
  const first = transformer();
  await first.start();
  try {
    for (let i = 0; i < 40; i++) await producer.publish(orders, sampleOrder(`o-${i}`, i));
    await producer.publish(orders, sampleOrder('explodes'));
    await waitFor(() => handled.length >= 15, 'the first instance to handle some');
    await first.close();
    for (let i = 40; i < 60; i++) await producer.publish(orders, sampleOrder(`o-${i}`, i));
    const second = transformer();
    await second.start();
    try {
      await waitFor(() => outputs.length >= 120, 'every output');
      const progress = await reader.caughtUp({ intervalMs: 100 });
      assert.equal(progress.done, true);
    } finally {
      await second.close();
    }
    const expected = Array.from({ length: 60 }, (_, i) => [`o-${i}`, `o-${i}-fee`]).flat();
    assert.deepEqual(outputs.toSorted(), expected.toSorted(), 'each output exactly once');
    const letters = await readDeadLetters(connection, `${input}.dlq`);
    assert.deepEqual(
      letters.map((letter) => [letter.key?.toString(), letter.reason]),
      [['explodes', 'tax service down']],
    );
  } finally {
    await first.close();
    await reader.close();
    await producer.close();
  }
});
