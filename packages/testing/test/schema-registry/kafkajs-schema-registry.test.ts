/**
 * @kafkajs/confluent-schema-registry (the npm client most Node services use) against the
 * registry of a broker process: it registers Avro, JSON Schema and Protobuf schemas, encodes
 * records, kafkajs produces them to the same broker and consumes them back, and the client
 * decodes what it fetched by id. The broker's own SchemaRegistry API then decodes the consumed
 * Avro and JSON bytes too (the API produce-path validation will call). Schema evolution: a
 * compatible Avro version registers, an incompatible one is refused with 409.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SchemaRegistry as ConfluentClient, SchemaType } from '@kafkajs/confluent-schema-registry';
import { SchemaRegistry, SqliteSchemaStore } from '@tributary/schema-registry';
import { consumeValues, useRegistryBroker } from './registry-broker.ts';

const fixture = useRegistryBroker({ clientId: 'schema-registry-test' });

/** Produces the values to a new topic and reads them back from the start of partition 0. */
async function roundTrip(topic: string, values: readonly Buffer[]): Promise<Buffer[]> {
  const producer = fixture.kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: values.map((value) => ({ value })) });
  await producer.disconnect();
  const groupId = `group-${topic}`;
  return consumeValues(fixture.kafka, { topic, groupId, count: values.length });
}

const orderAvro = {
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'total', type: 'long' },
  ],
};
const orders = [
  { id: 'a-1', total: 1250 },
  { id: 'a-2', total: 99 },
];

describe('@kafkajs/confluent-schema-registry against the broker', () => {
  it('registers Avro, encodes, produces, consumes and decodes; evolves compatibly', async () => {
    const { id } = await fixture.confluent.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(orderAvro) },
      { subject: 'kjs-orders-value' },
    );
    const encoded = await Promise.all(orders.map((order) => fixture.confluent.encode(id, order)));
    const consumed = await roundTrip('kjs-orders', encoded);
    const decoded = await Promise.all(consumed.map((value) => fixture.confluent.decode(value)));
    // avsc decodes to record class instances: compare their fields.
    assert.deepEqual(JSON.parse(JSON.stringify(decoded)), orders);

    // What the broker's produce-path validation will call: decode the consumed bytes by id.
    const path = join(fixture.running.dataDir.path, 'metadata.sqlite');
    const registry = new SchemaRegistry(SqliteSchemaStore.open(path));
    try {
      const checked = await registry.decode(consumed[0] ?? Buffer.alloc(0));
      assert.ok(checked.ok, checked.ok ? '' : checked.reason);
      assert.equal(checked.schemaId, id);
      const bad = await registry.decode(Buffer.from([0, 0, 0, 0, id, 0xff]));
      assert.equal(bad.ok, false, 'a truncated Avro payload does not decode');
    } finally {
      await registry.close();
    }

    const v2 = {
      ...orderAvro,
      fields: [...orderAvro.fields, { name: 'currency', type: 'string', default: 'EUR' }],
    };
    const next = await fixture.confluent.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(v2) },
      { subject: 'kjs-orders-value' },
    );
    assert.notEqual(next.id, id);
    const breaking = { ...orderAvro, fields: [...orderAvro.fields, { name: 'n', type: 'int' }] };
    await assert.rejects(
      fixture.confluent.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(breaking) },
        { subject: 'kjs-orders-value' },
      ),
      (error: unknown) => {
        assert.match(String(error), /incompatible/i);
        return true;
      },
    );
  });

  it('registers a JSON Schema and round-trips records through the broker', async () => {
    const schema = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { sku: { type: 'string' }, quantity: { type: 'integer', minimum: 1 } },
      required: ['sku', 'quantity'],
    };
    const { id } = await fixture.confluent.register(
      { type: SchemaType.JSON, schema: JSON.stringify(schema) },
      { subject: 'kjs-stock-value' },
    );
    const lines = [
      { sku: 'tea', quantity: 2 },
      { sku: 'cup', quantity: 6 },
    ];
    const encoded = await Promise.all(lines.map((line) => fixture.confluent.encode(id, line)));
    const consumed = await roundTrip('kjs-stock', encoded);
    assert.deepEqual(
      await Promise.all(consumed.map((value) => fixture.confluent.decode(value))),
      lines,
    );
    await assert.rejects(
      fixture.confluent.encode(id, { sku: 'tea', quantity: 0 }),
      /invalid payload/i,
    );
  });

  it('registers a Protobuf schema and round-trips records through the broker', async () => {
    const proto = [
      'syntax = "proto3";',
      'package shop;',
      'message Shipment {',
      // The client parses with protobufjs's default camelCase names: no underscores here.
      '  string order = 1;',
      '  repeated string parcels = 2;',
      '  int32 grams = 3;',
      '}',
    ].join('\n');
    const { id } = await fixture.confluent.register(
      { type: SchemaType.PROTOBUF, schema: proto },
      { subject: 'kjs-shipments-value' },
    );
    const shipments = [
      { order: 'o-1', parcels: ['p-1', 'p-2'], grams: 1200 },
      { order: 'o-2', parcels: ['p-3'], grams: 300 },
    ];
    const encoded = await Promise.all(
      shipments.map((shipment) => fixture.confluent.encode(id, shipment)),
    );
    const consumed = await roundTrip('kjs-shipments', encoded);
    // A fresh client has no cached schema: it fetches /schemas/ids/{id} to decode.
    const fresh = new ConfluentClient({ host: fixture.running.registryUrl });
    const decoded = await Promise.all(consumed.map((value) => fresh.decode(value)));
    assert.deepEqual(
      decoded.map((message: { toJSON(): unknown }) => message.toJSON()),
      shipments.map((shipment) => ({ ...shipment })),
    );
  });
});
