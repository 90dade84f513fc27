/**
 * Cluster mode: two brokers on one PostgreSQL metadata database each serve the schema registry
 * on their own port, and both serve the same schemas: a schema registered through one is read,
 * decoded through the other, and two registrations sent to both at once that fit the subject but
 * not each other end with one stored and the other refused (409). Driven with
 * @kafkajs/confluent-schema-registry and plain HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SchemaRegistry as ConfluentClient, SchemaType } from '@kafkajs/confluent-schema-registry';
import { startTestCluster, type TestCluster } from '@tributary/testing';

let cluster: TestCluster;
const registryLinePattern = /schema registry on (http:\/\/\S+)/;

before(async () => {
  cluster = await startTestCluster({
    brokers: 2,
    // The setting by its config name here (the other tests use the flag).
    args: ['--override', 'schema.registry.listeners=http://127.0.0.1:0'],
  });
});

after(async () => {
  await cluster?.stop();
});

function registryUrls(): string[] {
  return [...cluster.brokers.values()].map((broker) => {
    const url = registryLinePattern.exec(broker.stdout())?.[1];
    assert.ok(url !== undefined, `no registry line in:\n${broker.stdout()}`);
    return url;
  });
}

const order = (...extra: object[]): string =>
  JSON.stringify({
    type: 'record',
    name: 'Order',
    namespace: 'shop',
    fields: [{ name: 'id', type: 'string' }, ...extra],
  });

test('every broker of a cluster serves the same registry', async () => {
  const [first = '', second = ''] = registryUrls();
  assert.notEqual(first, second);
  const one = new ConfluentClient({ host: first });
  const two = new ConfluentClient({ host: second });
  const { id } = await one.register(
    { type: SchemaType.AVRO, schema: order() },
    { subject: 'cluster-orders-value' },
  );
  const encoded = await one.encode(id, { id: 'o-1' });
  assert.deepEqual(JSON.parse(JSON.stringify(await two.decode(encoded))), { id: 'o-1' });
  assert.equal(await two.getLatestSchemaId('cluster-orders-value'), id);

  // Both brokers register at once versions that each fit version 1 but not each other: one
  // lands, the other is checked again against it and refused, whichever broker it reached.
  const base = await fetch(`${first}/subjects/cluster-race-value/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema: order() }),
  });
  assert.equal(base.status, 200);
  const schemas = [
    order({ name: 'a', type: 'string', default: '' }),
    order({ name: 'a', type: 'int', default: 0 }),
  ];
  const statuses = await Promise.all(
    schemas.map(async (schema, index) => {
      const response = await fetch(
        `${index === 0 ? first : second}/subjects/cluster-race-value/versions`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
          body: JSON.stringify({ schema }),
        },
      );
      await response.text();
      return response.status;
    }),
  );
  assert.deepEqual(
    statuses.toSorted((a, b) => a - b),
    [200, 409],
  );
  const listed = await fetch(`${second}/subjects/cluster-race-value/versions`);
  assert.deepEqual(await listed.json(), [1, 2]);
});
