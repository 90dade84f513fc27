/**
 * Typed contracts, the registry's wire format, the CloudEvents Kafka binding and trace context,
 * end to end: an EventProducer and an EventConsumer against a broker process with its schema
 * registry, records read back raw with @platformatic/kafka to check the bytes on the wire.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { Consumer } from '@platformatic/kafka';
import {
  defineEvent,
  ensureTopics,
  EventConsumer,
  EventProducer,
  EventValidationError,
  SchemaRegistryError,
  unframeWireFormat,
  type CloudEvent,
} from '../src/index.ts';
import {
  orderPlacedContract,
  paymentChargedContract,
  sampleOrder,
  type OrderPlaced,
  type PaymentCharged,
} from './contracts.ts';
import { startSdkTestBroker, uniqueTopic, waitFor, type SdkTestBroker } from './sdk-test-broker.ts';

let broker: SdkTestBroker;
before(async () => {
  broker = await startSdkTestBroker();
});
after(() => broker.stop());

/** Every record of `topic` (all partitions), raw. */
async function readRaw(topic: string, expected: number) {
  const consumer = new Consumer({
    clientId: 'sdk-test-raw',
    groupId: `raw-${topic}-${Date.now()}`,
    bootstrapBrokers: [broker.bootstrap],
  });
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', maxWaitTime: 200 });
    const records: { key: string; value: Buffer; headers: Map<string, string> }[] = [];
    for await (const message of stream) {
      const headers = new Map<string, string>();
      for (const [name, value] of message.headers) headers.set(name.toString(), value.toString());
      records.push({ key: message.key.toString(), value: message.value, headers });
      if (records.length >= expected) break;
    }
    await stream.close();
    return records;
  } finally {
    await consumer.close(true);
  }
}

/** The log end offset of `topic`'s only partition. */
async function endOffset(topic: string): Promise<bigint> {
  const consumer = new Consumer({
    clientId: 'sdk-test-offsets',
    groupId: 'sdk-test-offsets',
    bootstrapBrokers: [broker.bootstrap],
  });
  try {
    return (await consumer.listOffsets({ topics: [topic] })).get(topic)?.[0] ?? -1n;
  } finally {
    await consumer.close();
  }
}

test('a value that does not match its contract fails before anything is sent', async () => {
  const topic = uniqueTopic('invalid');
  const contract = orderPlacedContract(topic);
  await ensureTopics({ bootstrap: broker.bootstrap }, [topic]);
  const producer = new EventProducer({ bootstrap: broker.bootstrap, source: 'urn:test' });
  try {
    const bad = { ...sampleOrder('o-1'), totalCents: -5 };
    await assert.rejects(producer.publish(contract, bad), (error: unknown) => {
      assert.ok(error instanceof EventValidationError);
      assert.equal(error.problems[0]?.path, '/totalCents');
      return true;
    });
    const wrongShape = { orderId: 'o-2' } as unknown as OrderPlaced;
    await assert.rejects(producer.publish(contract, wrongShape), EventValidationError);
    await producer.publish(contract, sampleOrder('o-3'));
    // Only the valid event reached the topic: the first record read is o-3.
    const [first] = await readRaw(topic, 1);
    assert.equal(first?.key, 'o-3');
  } finally {
    await producer.close();
  }
});

test('binary mode, a registry: ce_ headers, aggregate id as key, magic byte and id', async () => {
  const topic = uniqueTopic('binary');
  const contract = orderPlacedContract(topic);
  await ensureTopics({ bootstrap: broker.bootstrap }, [topic]);
  const producer = new EventProducer({
    bootstrap: broker.bootstrap,
    source: 'urn:shop:cart',
    schemaRegistryUrl: broker.registryUrl,
  });
  try {
    const published = await producer.publish(contract, sampleOrder('o-42'));
    const [record] = await readRaw(topic, 1);
    assert.ok(record);
    assert.equal(record.key, 'o-42');
    assert.equal(record.headers.get('ce_specversion'), '1.0');
    assert.equal(record.headers.get('ce_id'), published.id);
    assert.equal(record.headers.get('ce_type'), 'order.placed');
    assert.equal(record.headers.get('ce_source'), 'urn:shop:cart');
    assert.equal(record.headers.get('ce_subject'), 'o-42');
    assert.equal(record.headers.get('content-type'), 'application/json');
    assert.ok(!Number.isNaN(Date.parse(record.headers.get('ce_time') ?? '')));
    const framed = unframeWireFormat(record.value);
    assert.ok(framed, 'the value is in the registry wire format');
    assert.equal(
      record.headers.get('ce_dataschema'),
      `${broker.registryUrl}/schemas/ids/${framed.id}`,
    );
    assert.deepEqual(JSON.parse(framed.payload.toString()), sampleOrder('o-42'));
    const registered = await fetch(
      `${broker.registryUrl}/subjects/${topic}-order.placed/versions/1`,
    );
    assert.equal(((await registered.json()) as { id: number }).id, framed.id);
  } finally {
    await producer.close();
  }
});

test('structured mode and Avro data round-trip through a consumer, trace continued', async () => {
  const topic = uniqueTopic('structured');
  const payments = paymentChargedContract(topic);
  await ensureTopics({ bootstrap: broker.bootstrap }, [topic]);
  const producer = new EventProducer({
    bootstrap: broker.bootstrap,
    source: 'urn:shop:payment',
    schemaRegistryUrl: broker.registryUrl,
    mode: 'structured',
  });
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parent = trace.setSpanContext(context.active(), {
    traceId,
    spanId: '00f067aa0ba902b7',
    traceFlags: TraceFlags.SAMPLED,
  });
  const charged: PaymentCharged = { orderId: 'o-7', amountCents: 1500, card: null };
  await context.with(parent, () => producer.publish(payments, charged));
  const [raw] = await readRaw(topic, 1);
  assert.equal(raw?.headers.get('content-type'), 'application/cloudevents+json');
  assert.match(raw?.headers.get('traceparent') ?? '', new RegExp(`^00-${traceId}-`));
  const structured = JSON.parse(raw?.value.toString() ?? '{}') as Record<string, unknown>;
  assert.equal(structured.type, 'payment.charged');
  assert.equal(structured.datacontenttype, 'application/avro');
  assert.equal(typeof structured.data_base64, 'string');

  const received: CloudEvent<PaymentCharged>[] = [];
  const seenTraces: string[] = [];
  const consumer = new EventConsumer({
    bootstrap: broker.bootstrap,
    groupId: `g-${topic}`,
    schemaRegistryUrl: broker.registryUrl,
    retryDelaysMs: [],
  });
  consumer.on(payments, async (event) => {
    received.push(event);
    seenTraces.push(trace.getSpanContext(context.active())?.traceId ?? '');
  });
  await consumer.start();
  try {
    await waitFor(() => received.length === 1, 'the payment event');
    assert.deepEqual(received[0]?.data, charged);
    assert.equal(received[0]?.source, 'urn:shop:payment');
    assert.deepEqual(seenTraces, [traceId], 'the handler runs in the producer trace');
  } finally {
    await consumer.close();
    await producer.close();
  }
});

test('an incompatible contract version is refused by the registry, nothing sent', async () => {
  const topic = uniqueTopic('incompatible');
  await ensureTopics({ bootstrap: broker.bootstrap }, [topic]);
  const producer = new EventProducer({
    bootstrap: broker.bootstrap,
    source: 'urn:shop:payment',
    schemaRegistryUrl: broker.registryUrl,
  });
  try {
    await producer.publish(paymentChargedContract(topic), {
      orderId: 'o-1',
      amountCents: 10,
      card: 'visa',
    });
    // Version 2 adds a field without a default: readers of v2 cannot read v1 (BACKWARD).
    const v2 = defineEvent<PaymentCharged & { currency: string }>({
      type: 'payment.charged',
      version: 2,
      topic,
      aggregateId: (payment) => payment.orderId,
      avro: {
        type: 'record',
        name: 'PaymentCharged',
        namespace: 'shop.payment',
        fields: [
          { name: 'orderId', type: 'string' },
          { name: 'amountCents', type: 'long' },
          { name: 'card', type: ['null', 'string'], default: null },
          { name: 'currency', type: 'string' },
        ],
      },
    });
    const value = { orderId: 'o-2', amountCents: 5, card: null, currency: 'EUR' };
    await assert.rejects(producer.publish(v2, value), (error: unknown) => {
      assert.ok(error instanceof SchemaRegistryError);
      assert.equal(error.status, 409);
      return true;
    });
    assert.equal(await endOffset(topic), 1n, 'only the first event reached the topic');
  } finally {
    await producer.close();
  }
});

test('ensureTopics creates what is missing and tolerates a concurrent creator', async () => {
  const topic = uniqueTopic('ensure');
  const connection = { bootstrap: broker.bootstrap };
  await Promise.all([1, 2, 3].map(() => ensureTopics(connection, [topic], { partitions: 2 })));
  await ensureTopics(connection, [topic], { partitions: 5 });
  const consumer = new Consumer({
    clientId: 'sdk-test-ensure',
    groupId: 'sdk-test-ensure',
    bootstrapBrokers: [broker.bootstrap],
  });
  try {
    const offsets = await consumer.listOffsets({ topics: [topic] });
    assert.equal(offsets.get(topic)?.length, 2, 'an existing topic is left as it is');
  } finally {
    await consumer.close();
  }
});
