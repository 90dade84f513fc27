/**
 * confluent-kafka Python (PyPI, in packages/testing/.venv) against the registry of a broker
 * process: its SchemaRegistryClient with the Avro, JSON Schema and Protobuf serializers
 * auto-registers schemas, produces to the same broker and deserializes what it consumes (the
 * Protobuf deserializer fetches the schema as a serialized FileDescriptorProto); the client's
 * own REST calls see Confluent's status and error codes; and records one client wrote, the other
 * decodes (@kafkajs/confluent-schema-registry writes Avro, Python reads it; Python writes
 * Protobuf, the JS client reads it from the .proto text the registry prints from Python's
 * FileDescriptorProto). The driver is
 * drivers/schema_registry_driver.py; each scenario prints one JSON line.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { runCommand } from '../../src/index.ts';
import { venvPythonPath } from '../../src/python-venv-driver.ts';
import { consumeValues, useRegistryBroker } from './registry-broker.ts';

const driver = fileURLToPath(new URL('../../drivers/schema_registry_driver.py', import.meta.url));
const driverTimeoutMs = 120_000;
const fixture = useRegistryBroker({ clientId: 'python-schema-registry-test' });

async function python(...args: string[]): Promise<unknown> {
  const result = await runCommand(
    venvPythonPath(),
    [driver, fixture.running.registryUrl, fixture.running.broker.bootstrap, ...args],
    { timeoutMs: driverTimeoutMs },
  );
  assert.equal(result.code, 0, `driver ${args.join(' ')} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? 'null');
}

const records = [1, 2, 3].map((n) => ({ id: `order-${n}`, total: 100 * n }));

describe('confluent-kafka Python SchemaRegistryClient and serializers', () => {
  it('round-trips Avro, JSON Schema and Protobuf records through the broker', async () => {
    const result = (await python('roundtrip', 'py')) as Record<string, unknown>;
    assert.deepEqual(
      result.avro,
      records.map((record, index) => ({ ...record, note: index % 2 === 1 ? 'n2' : null })),
    );
    assert.deepEqual(result.json, records);
    // Protobuf's JSON form writes int64 as a string.
    assert.deepEqual(
      result.protobuf,
      records.map((record) => ({ id: record.id, total: String(record.total) })),
    );
    assert.deepEqual(result.avro_subject, { id: 1, version: 1, type: 'AVRO' });
    assert.deepEqual(result.json_subject, { id: 2, version: 1, type: 'JSON' });
    assert.deepEqual(result.protobuf_subject, { id: 3, version: 1, type: 'PROTOBUF' });
  });

  it("sees Confluent's answers and error codes through the client's REST calls", async () => {
    const result = (await python('client-api')) as Record<string, unknown>;
    assert.equal(result.compatible, true);
    assert.equal(result.breaking_compatible, false);
    assert.deepEqual(result.breaking_error, { http_status: 409, error_code: 40901 });
    assert.deepEqual(result.versions, [1, 2]);
    assert.equal(result.lookup_version, 1);
    assert.equal(result.get_compat, 'FULL');
    assert.deepEqual(result.missing_subject, { http_status: 404, error_code: 40401 });
    assert.deepEqual(result.missing_version, { http_status: 404, error_code: 40402 });
    assert.deepEqual(result.missing_schema, { http_status: 404, error_code: 40403 });
    assert.deepEqual(result.invalid_schema, { http_status: 422, error_code: 42201 });
    assert.equal(result.deleted_version, 1);
    assert.deepEqual(result.versions_after_delete, [2]);
    assert.deepEqual(result.soft_deleted_subject, [2]);
    assert.deepEqual(result.after_soft_delete, { http_status: 404, error_code: 40401 });
    assert.deepEqual(result.hard_deleted_subject, [1, 2]);
    assert.equal(result.schema_still_readable, 'AVRO');
  });

  it('serves the Protobuf schema Python registered as .proto text to a JS client', async () => {
    // The roundtrip test above left three Python-serialized records in py-protobuf; Python
    // registered a FileDescriptorProto, @kafkajs/confluent-schema-registry parses .proto text.
    const values = await consumeValues(fixture.kafka, {
      topic: 'py-protobuf',
      groupId: 'js-reads-python-protobuf',
      count: records.length,
    });
    const decoded = await Promise.all(values.map((value) => fixture.confluent.decode(value)));
    assert.deepEqual(
      decoded.map((message: { toJSON(): unknown }) => message.toJSON()),
      records.map((record) => ({ id: record.id, total: String(record.total) })),
    );
  });

  it('decodes Avro records that @kafkajs/confluent-schema-registry encoded', async () => {
    const schema = {
      type: 'record',
      name: 'Payment',
      namespace: 'shop',
      fields: [
        { name: 'order', type: 'string' },
        { name: 'cents', type: 'long' },
      ],
    };
    const { id } = await fixture.confluent.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
      { subject: 'cross-payments-value' },
    );
    const payments = [
      { order: 'o-1', cents: 4200 },
      { order: 'o-2', cents: 15 },
    ];
    const producer = fixture.kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'cross-payments',
      messages: await Promise.all(
        payments.map(async (payment) => ({ value: await fixture.confluent.encode(id, payment) })),
      ),
    });
    await producer.disconnect();
    assert.deepEqual(await python('decode-avro', 'cross-payments', '2'), payments);
  });
});
