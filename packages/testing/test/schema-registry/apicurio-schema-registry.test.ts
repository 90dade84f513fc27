/**
 * Apicurio Registry's Java serdes (Avro and JSON Schema serializers and deserializers 2.6, Maven
 * Central) against the registry of a broker process, in Confluent-compatible mode (as-confluent,
 * use-id=contentId, headers off): they speak Apicurio's REST API v2, which the registry serves
 * over the Confluent model (docs/adr/0026-apicurio-api.md). The Java driver
 * (packages/testing/java, ApicurioSerdes.java) auto-registers and produces, and consumes and
 * decodes by contentId. Cross-client: what Java wrote, @kafkajs/confluent-schema-registry
 * decodes, and what that client wrote, Java decodes; Java's schema shows up as a Confluent
 * subject version with the id framed in its records. An incompatible auto-registration is
 * refused with Apicurio's RuleViolationException, and Java's records pass the broker's
 * `confluent.value.schema.validation`. Apicurio's own framing (an 8-byte globalId) reads back too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { javaCommand, runCommand } from '../../src/index.ts';
import { consumeValues, createTopic, useRegistryBroker } from './registry-broker.ts';

const apicurioMainClass = 'dev.tributary.testing.ApicurioSerdes';
const driverTimeoutMs = 180_000;

const fixture = useRegistryBroker({ clientId: 'apicurio-test' });

type Format = 'avro' | 'avro-globalid' | 'json';

/** Runs the driver: `mode format bootstrap registry-v2-url ...rest`. */
async function java(mode: string, format: Format, rest: readonly string[], input = '') {
  const { command, args } = javaCommand(apicurioMainClass, [
    mode,
    format,
    fixture.running.broker.bootstrap,
    `${fixture.running.registryUrl}/apis/registry/v2`,
    ...rest,
  ]);
  const result = await runCommand(command, args, { input, timeoutMs: driverTimeoutMs });
  const lines = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { code: result.code, lines, stderr: result.stderr };
}

/** Produces the records with Apicurio's serializer; asserts the driver succeeded. */
async function javaProduce(
  topic: string,
  schema: object,
  records: readonly object[],
  format: Format = 'avro',
) {
  const input = records.map((record) => JSON.stringify(record)).join('\n');
  const result = await java('produce', format, [topic, JSON.stringify(schema)], input);
  assert.equal(
    result.code,
    0,
    `java produce failed: ${JSON.stringify(result.lines)}\n${result.stderr}`,
  );
  assert.deepEqual(result.lines.at(-1), { produced: records.length });
}

/** The first `count` records of partition 0, decoded by Apicurio's deserializer. */
async function javaConsume(topic: string, count: number, format: Format = 'avro') {
  const result = await java('consume', format, [topic, String(count)]);
  assert.equal(
    result.code,
    0,
    `java consume failed: ${JSON.stringify(result.lines)}\n${result.stderr}`,
  );
  return result.lines as { schemaId: number; value: unknown }[];
}

const orderSchema = {
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'total', type: 'long' },
  ],
};
const orders = [1, 2, 3].map((n) => ({ id: `order-${n}`, total: 100 * n }));

describe("Apicurio's Java serdes against the registry", () => {
  it('auto-register, produce and consume by contentId; a Confluent client decodes them', async () => {
    const topic = 'apicurio-orders';
    await createTopic(fixture.kafka, topic);
    await javaProduce(topic, orderSchema, orders);
    const consumed = await javaConsume(topic, orders.length);
    assert.deepEqual(
      consumed.map((line) => line.value),
      orders,
    );
    // Java's schema is version 1 of the Confluent subject <topic>-value, and its contentId is
    // the Confluent id in every record.
    const response = await fetch(
      `${fixture.running.registryUrl}/subjects/${topic}-value/versions/1`,
    );
    const version = (await response.json()) as { id: number; version: number };
    assert.equal(version.version, 1);
    assert.deepEqual(
      consumed.map((line) => line.schemaId),
      orders.map(() => version.id),
    );
    const raw = await consumeValues(fixture.kafka, {
      topic,
      groupId: `raw-${topic}`,
      count: orders.length,
    });
    const decoded = await Promise.all(raw.map((value) => fixture.confluent.decode(value)));
    assert.deepEqual(JSON.parse(JSON.stringify(decoded)), orders);
  });

  it('decodes in Java what @kafkajs/confluent-schema-registry wrote', async () => {
    const topic = 'confluent-orders';
    await createTopic(fixture.kafka, topic);
    const { id } = await fixture.confluent.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(orderSchema) },
      { subject: `${topic}-value` },
    );
    const encoded = await Promise.all(orders.map((order) => fixture.confluent.encode(id, order)));
    const producer = fixture.kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: encoded.map((value) => ({ value })) });
    await producer.disconnect();
    const consumed = await javaConsume(topic, orders.length);
    assert.deepEqual(
      consumed.map((line) => [line.schemaId, line.value]),
      orders.map((order) => [id, order]),
    );
  });

  it('registers a compatible evolution and refuses an incompatible one', async () => {
    const topic = 'apicurio-evolving';
    await createTopic(fixture.kafka, topic);
    await javaProduce(topic, orderSchema, orders.slice(0, 1));
    const evolved = {
      ...orderSchema,
      fields: [...orderSchema.fields, { name: 'currency', type: 'string', default: 'EUR' }],
    };
    await javaProduce(topic, evolved, [{ id: 'order-9', total: 900, currency: 'CHF' }]);
    const versions = await fetch(`${fixture.running.registryUrl}/subjects/${topic}-value/versions`);
    assert.deepEqual(await versions.json(), [1, 2]);

    const breaking = {
      ...orderSchema,
      fields: [...orderSchema.fields, { name: 'grams', type: 'int' }],
    };
    const refused = await java(
      'produce',
      'avro',
      [topic, JSON.stringify(breaking)],
      JSON.stringify({ id: 'order-10', total: 1, grams: 5 }),
    );
    assert.equal(refused.code, 1);
    const causes = JSON.stringify(refused.lines.at(-1));
    assert.match(causes, /RuleViolationException/);
    assert.match(causes, /incompatible/i);

    const consumed = await javaConsume(topic, 2);
    assert.deepEqual(
      consumed.map((line) => line.value),
      [orders[0], { id: 'order-9', total: 900, currency: 'CHF' }],
    );
  });

  it('passes the broker-side validation of confluent.value.schema.validation', async () => {
    const topic = 'apicurio-validated';
    await createTopic(fixture.kafka, topic, { 'confluent.value.schema.validation': 'true' });
    await javaProduce(topic, orderSchema, orders);
    const consumed = await javaConsume(topic, orders.length);
    assert.deepEqual(
      consumed.map((line) => line.value),
      orders,
    );
    // A value that is not framed with a registered id is refused on the same topic.
    const producer = fixture.kafka.producer({ retry: { retries: 0 } });
    await producer.connect();
    try {
      await assert.rejects(
        producer.send({ topic, messages: [{ value: Buffer.from([0, 0, 0, 0x7f, 0x7f, 2]) }] }),
      );
    } finally {
      await producer.disconnect();
    }
  });

  it("Apicurio's own framing: an 8-byte globalId per subject version", async () => {
    const topic = 'apicurio-global';
    await createTopic(fixture.kafka, topic);
    await javaProduce(topic, orderSchema, orders.slice(0, 2), 'avro-globalid');
    const consumed = await javaConsume(topic, 2, 'avro-globalid');
    assert.deepEqual(
      consumed.map((line) => line.value),
      orders.slice(0, 2),
    );
    const response = await fetch(
      `${fixture.running.registryUrl}/subjects/${topic}-value/versions/1`,
    );
    const { id } = (await response.json()) as { id: number };
    // globalId = contentId * 2^21 + version (docs/adr/0026-apicurio-api.md).
    const globalId = id * 2 ** 21 + 1;
    assert.deepEqual(
      consumed.map((line) => (line as unknown as { globalId: number }).globalId),
      [globalId, globalId],
    );
  });

  it('JSON Schema serdes: Java and the Confluent client read what the other wrote', async () => {
    const schema = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      title: 'shop.Stock',
      type: 'object',
      properties: { sku: { type: 'string' }, quantity: { type: 'integer', minimum: 1 } },
      required: ['sku', 'quantity'],
    };
    const lines = [
      { sku: 'tea', quantity: 2 },
      { sku: 'cup', quantity: 6 },
    ];
    const topic = 'apicurio-stock';
    await createTopic(fixture.kafka, topic);
    await javaProduce(topic, schema, lines, 'json');
    const consumed = await javaConsume(topic, lines.length, 'json');
    assert.deepEqual(
      consumed.map((line) => line.value),
      lines,
    );
    const raw = await consumeValues(fixture.kafka, {
      topic,
      groupId: `raw-${topic}`,
      count: lines.length,
    });
    assert.deepEqual(await Promise.all(raw.map((value) => fixture.confluent.decode(value))), lines);
    // The serializer validates against the schema before it sends.
    const invalid = await java(
      'produce',
      'json',
      [topic, JSON.stringify(schema)],
      JSON.stringify({ sku: 'tea', quantity: 0 }),
    );
    assert.equal(invalid.code, 1);
    assert.match(JSON.stringify(invalid.lines.at(-1)), /quantity: must have a minimum value of 1/);

    const other = 'confluent-stock';
    await createTopic(fixture.kafka, other);
    const { id } = await fixture.confluent.register(
      { type: SchemaType.JSON, schema: JSON.stringify(schema) },
      { subject: `${other}-value` },
    );
    const producer = fixture.kafka.producer();
    await producer.connect();
    const encoded = await Promise.all(lines.map((line) => fixture.confluent.encode(id, line)));
    await producer.send({ topic: other, messages: encoded.map((value) => ({ value })) });
    await producer.disconnect();
    const read = await javaConsume(other, lines.length, 'json');
    assert.deepEqual(
      read.map((line) => [line.schemaId, line.value]),
      lines.map((line) => [id, line]),
    );
  });
});
