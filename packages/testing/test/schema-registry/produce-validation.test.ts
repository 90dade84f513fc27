/**
 * Record validation at the broker (issue 15): topics with `confluent.value.schema.validation`,
 * `tributary.schema.validation.decode` and `tributary.cloudevents.required`, under each
 * `tributary.validation.policy`, driven by real clients against a broker process with its
 * registry: @kafkajs/confluent-schema-registry registers and encodes, kafkajs produces and
 * consumes, and @platformatic/kafka (Produce v11) reads the broker's error message and record
 * errors (kafkajs sends v7, which has neither). Rejected records are never stored; dead-lettered ones land in `<topic>.dlq` with
 * headers saying why while the rest of their batch is stored (an idempotent producer carries on
 * after a batch that lost every record); `warn` stores them and counts them on /metrics.
 * With `confluent.value.subject.name.strategy`, the id must also be registered under the subject
 * the strategy names (the record name, `<topic>-value`, `<topic>-<record name>`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { Producer, stringSerializers } from '@platformatic/kafka';
import type { IHeaders } from 'kafkajs';
import { scrapeMetric } from '../../src/index.ts';
import { createTopic, useRegistryBroker } from './registry-broker.ts';

let orderSchemaId: number;

const orderSchema = JSON.stringify({
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'cents', type: 'long' },
  ],
});

const fixture = useRegistryBroker(
  { clientId: 'produce-validation-test', retry: { retries: 0 } },
  async ({ confluent }) => {
    ({ id: orderSchemaId } = await confluent.register(
      { type: SchemaType.AVRO, schema: orderSchema },
      { subject: 'orders-value' },
    ));
  },
);

interface Message {
  value: Buffer | null;
  headers?: IHeaders;
}

/** Sends the messages as one batch with kafkajs: 'stored', or the error's message. */
async function send(topic: string, messages: Message[], idempotent = false): Promise<string> {
  const producer = fixture.kafka.producer({ idempotent, retry: { retries: idempotent ? 2 : 0 } });
  await producer.connect();
  try {
    await producer.send({ topic, messages, acks: -1 });
    return 'stored';
  } catch (error: unknown) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await producer.disconnect();
  }
}

interface PartitionRefusal {
  errorCode: number;
  errorMessage: string | null;
  recordErrors: { batchIndex: number; batchIndexErrorMessage: string | null }[];
}

/**
 * Sends the values as one batch with @platformatic/kafka, which must be refused: the partition's
 * answer (error code, message and record errors, which Produce v8+ carries).
 */
async function refusal(topic: string, values: (Buffer | null)[]): Promise<PartitionRefusal> {
  const producer = new Producer({
    clientId: 'produce-validation-plt',
    bootstrapBrokers: [fixture.running.broker.bootstrap],
    serializers: { ...stringSerializers, value: (value?: Buffer | null) => value ?? undefined },
    autocreateTopics: false,
    retries: 0,
  });
  try {
    await producer.send({
      messages: values.map((value) => ({ topic, partition: 0, value })),
      acks: -1,
    });
  } catch (error: unknown) {
    const found = [error, ...((error as { errors?: unknown[] }).errors ?? [])]
      .map((e) => (e as { response?: ProduceAnswer }).response)
      .find((response) => response !== undefined);
    const answer = found?.responses[0]?.partitionResponses[0];
    if (answer === undefined) throw error;
    return answer;
  } finally {
    await producer.close();
  }
  return assert.fail(`${topic}: the batch was stored`);
}

interface ProduceAnswer {
  responses: { partitionResponses: PartitionRefusal[] }[];
}

interface Received {
  offset: string;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Every record of partition 0 of `topic`, read from the start until `count` arrived. */
async function readAll(topic: string, count: number): Promise<Received[]> {
  const consumer = fixture.kafka.consumer({ groupId: `read-${topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received: Received[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`only ${received.length} of ${count}`)),
      30_000,
    );
    consumer
      .run({
        eachMessage: async ({ message }) => {
          const headers: Record<string, string> = {};
          for (const [key, value] of Object.entries(message.headers ?? {})) {
            headers[key] = String(value);
          }
          received.push({ offset: message.offset, value: message.value, headers });
          if (received.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return received;
}

const order = async (id: string): Promise<Buffer> =>
  fixture.confluent.encode(orderSchemaId, { id, cents: 1250 });
/** A framed value (magic byte, schema id) whose payload is not an Order: a cut-off varint. */
const framedGarbage = (schemaId: number): Buffer =>
  Buffer.from([0, ...int32(schemaId), 0xff, 0xff, 0xff]);

function int32(value: number): number[] {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value);
  return [...bytes];
}

async function metric(name: string, policy: string): Promise<number> {
  return (await scrapeMetric(fixture.running.metricsUrl, name, { policy })) ?? Number.NaN;
}

describe('schema validation at produce', () => {
  it('rejects values without a registered schema id and stores nothing of their batch', async () => {
    await createTopic(fixture.kafka, 'orders', { 'confluent.value.schema.validation': 'true' });
    assert.equal(await send('orders', [{ value: await order('o-1') }]), 'stored');
    const plain = await refusal('orders', [await order('o-2'), Buffer.from('{"id":"o-3"}')]);
    assert.equal(plain.errorCode, 87, 'INVALID_RECORD');
    assert.match(
      plain.errorMessage ?? '',
      /1 invalid record\(s\) for orders-0: record 1: value is not/,
    );
    assert.deepEqual(
      plain.recordErrors.map((e) => [e.batchIndex, e.batchIndexErrorMessage]),
      [[1, "value is not in the schema registry's wire format (magic byte 0, 4-byte schema id)"]],
    );
    const unknownId = await refusal('orders', [Buffer.from([0, ...int32(999_999), 1])]);
    assert.match(unknownId.errorMessage ?? '', /value schema id 999999 is not registered/);
    assert.match(await send('orders', [{ value: Buffer.from('x') }]), /failed the validation/);
    assert.equal(await send('orders', [{ value: null }]), 'stored', 'tombstones pass');
    const stored = await readAll('orders', 2);
    assert.deepEqual(
      await Promise.all(
        stored.map(async (r) =>
          r.value === null ? null : { ...(await fixture.confluent.decode(r.value)) },
        ),
      ),
      [{ id: 'o-1', cents: 1250 }, null],
    );
    assert.equal(await metric('tributary_produce_invalid_records_total', 'reject'), 3);
  });

  it('decodes payloads against their schema when asked to', async () => {
    await createTopic(fixture.kafka, 'orders-decoded', {
      'confluent.value.schema.validation': 'true',
      'tributary.schema.validation.decode': 'true',
    });
    assert.equal(await send('orders-decoded', [{ value: await order('o-4') }]), 'stored');
    const bad = await refusal('orders-decoded', [framedGarbage(orderSchemaId)]);
    assert.match(
      bad.errorMessage ?? '',
      new RegExp(`value does not match schema ${orderSchemaId}`),
    );
  });
});

describe('dead-letter policy', () => {
  it('moves invalid records to <topic>.dlq with the reason and stores the rest', async () => {
    await createTopic(fixture.kafka, 'payments', {
      'confluent.value.schema.validation': 'true',
      'tributary.validation.policy': 'dlq',
    });
    const result = await send(
      'payments',
      [
        { value: await order('p-1') },
        { value: Buffer.from('not framed'), headers: { origin: 'legacy' } },
        { value: await order('p-2') },
      ],
      true,
    );
    assert.equal(result, 'stored');
    // Every record of this batch is invalid: the batch is stored empty, and the idempotent
    // producer's next batch still follows in sequence.
    assert.equal(await send('payments', [{ value: Buffer.from('x') }], true), 'stored');
    assert.equal(await send('payments', [{ value: await order('p-3') }], true), 'stored');
    const stored = await readAll('payments', 3);
    assert.deepEqual(
      await Promise.all(
        stored.map(
          async (r) => ((await fixture.confluent.decode(r.value as Buffer)) as { id: string }).id,
        ),
      ),
      ['p-1', 'p-2', 'p-3'],
    );
    assert.deepEqual(
      stored.map((r) => r.offset),
      ['0', '2', '4'],
      'dead-lettered records leave offset gaps',
    );
    const letters = await readAll('payments.dlq', 2);
    assert.deepEqual(
      letters.map((r) => r.value?.toString()),
      ['not framed', 'x'],
    );
    const first = letters[0]?.headers ?? {};
    assert.equal(first['origin'], 'legacy', 'the record keeps its own headers');
    assert.equal(first['tributary.dlq.topic'], 'payments');
    assert.equal(first['tributary.dlq.partition'], '0');
    assert.match(first['tributary.dlq.reason'] ?? '', /not in the schema registry's wire format/);
    assert.equal(await metric('tributary_produce_invalid_records_total', 'dlq'), 2);
  });
});

describe('warn policy', () => {
  it('stores invalid records and counts them', async () => {
    await createTopic(fixture.kafka, 'audit', {
      'confluent.value.schema.validation': 'true',
      'tributary.validation.policy': 'warn',
    });
    const counted = await metric('tributary_produce_invalid_records_total', 'warn');
    assert.equal(await send('audit', [{ value: Buffer.from('loose') }]), 'stored');
    assert.deepEqual(
      (await readAll('audit', 1)).map((r) => r.value?.toString()),
      ['loose'],
    );
    assert.equal(await metric('tributary_produce_invalid_records_total', 'warn'), counted + 1);
    assert.match(
      fixture.running.broker.stderr(),
      /^(?=.*"level":"warn")(?=.*"msg":"stored invalid records)(?=.*"topic":"audit").*$/m,
    );
  });
});

describe('CloudEvents', () => {
  it('accepts binary and structured events and rejects what is neither', async () => {
    await createTopic(fixture.kafka, 'events', { 'tributary.cloudevents.required': 'true' });
    const binary = {
      ce_specversion: '1.0',
      ce_id: 'e-1',
      ce_source: '/shop/orders',
      ce_type: 'shop.order.placed',
      'content-type': 'application/json',
    };
    assert.equal(
      await send('events', [{ value: Buffer.from('{"id":1}'), headers: binary }]),
      'stored',
    );
    const structured = {
      specversion: '1.0',
      id: 'e-2',
      source: '/shop/orders',
      type: 'shop.order.placed',
      data: { id: 2 },
    };
    assert.equal(
      await send('events', [
        {
          value: Buffer.from(JSON.stringify(structured)),
          headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
        },
      ]),
      'stored',
    );
    const { ce_type: _omitted, ...untyped } = binary;
    assert.match(
      await send('events', [{ value: Buffer.from('{}'), headers: untyped }]),
      /failed the validation/,
    );
    const bare = await refusal('events', [Buffer.from('{}')]);
    assert.match(
      bare.errorMessage ?? '',
      /not a CloudEvent: binary mode needs ce_specversion, ce_id/,
    );
    const { id: _id, ...anonymous } = structured;
    assert.match(
      await send('events', [
        {
          value: Buffer.from(JSON.stringify(anonymous)),
          headers: { 'content-type': 'application/cloudevents+json' },
        },
      ]),
      /failed the validation/,
    );
    assert.match(
      await send('events', [
        { value: Buffer.from('{}'), headers: { ...binary, ce_specversion: '0.3' } },
      ]),
      /failed the validation/,
    );
    assert.deepEqual(
      (await readAll('events', 2)).map((r) => r.headers['ce_id'] ?? 'structured'),
      ['e-1', 'structured'],
    );
  });
});

const strategy = (name: string): string => `io.confluent.kafka.serializers.subject.${name}`;

describe('subject name strategies at produce', () => {
  const refundSchema = JSON.stringify({
    type: 'record',
    name: 'Refund',
    namespace: 'shop',
    fields: [{ name: 'order', type: 'string' }],
  });

  it('RecordNameStrategy: the id must be registered under the record name', async () => {
    await createTopic(fixture.kafka, 'orders-by-record', {
      'confluent.value.schema.validation': 'true',
      'confluent.value.subject.name.strategy': strategy('RecordNameStrategy'),
    });
    // orderSchemaId is registered under orders-value only so far.
    const unnamed = await refusal('orders-by-record', [await order('r-1')]);
    assert.match(
      unnamed.errorMessage ?? '',
      new RegExp(
        `value schema id ${orderSchemaId} is not registered under subject 'shop.Order' ` +
          '\\(RecordNameStrategy\\)',
      ),
    );
    // What a producer with value.subject.name.strategy=RecordNameStrategy registers.
    const { id } = await fixture.confluent.register(
      { type: SchemaType.AVRO, schema: orderSchema },
      { subject: 'shop.Order' },
    );
    assert.equal(id, orderSchemaId, 'the same schema keeps its id in every subject');
    assert.equal(await send('orders-by-record', [{ value: await order('r-2') }]), 'stored');
    const refunds = await fixture.confluent.register(
      { type: SchemaType.AVRO, schema: refundSchema },
      { subject: 'refunds-value' },
    );
    const refund = await fixture.confluent.encode(refunds.id, { order: 'r-2' });
    const wrong = await refusal('orders-by-record', [refund]);
    assert.match(wrong.errorMessage ?? '', /not registered under subject 'shop.Refund'/);
    const [stored] = await readAll('orders-by-record', 1);
    assert.deepEqual(
      { ...(await fixture.confluent.decode(stored?.value ?? Buffer.alloc(0))) },
      {
        id: 'r-2',
        cents: 1250,
      },
    );
  });

  it('TopicNameStrategy and TopicRecordNameStrategy name subjects after the topic', async () => {
    await createTopic(fixture.kafka, 'orders-strict', {
      'confluent.value.schema.validation': 'true',
      'confluent.value.subject.name.strategy': strategy('TopicNameStrategy'),
    });
    const unregistered = await refusal('orders-strict', [await order('t-1')]);
    assert.match(
      unregistered.errorMessage ?? '',
      /not registered under subject 'orders-strict-value'/,
    );
    await fixture.confluent.register(
      { type: SchemaType.AVRO, schema: orderSchema },
      { subject: 'orders-strict-value' },
    );
    assert.equal(await send('orders-strict', [{ value: await order('t-2') }]), 'stored');

    await createTopic(fixture.kafka, 'orders-mixed', {
      'confluent.value.schema.validation': 'true',
      'confluent.value.subject.name.strategy': strategy('TopicRecordNameStrategy'),
    });
    const mixed = await refusal('orders-mixed', [await order('t-3')]);
    assert.match(
      mixed.errorMessage ?? '',
      /not registered under subject 'orders-mixed-shop.Order'/,
    );
    await fixture.confluent.register(
      { type: SchemaType.AVRO, schema: orderSchema },
      { subject: 'orders-mixed-shop.Order' },
    );
    assert.equal(await send('orders-mixed', [{ value: await order('t-4') }]), 'stored');
  });
});
