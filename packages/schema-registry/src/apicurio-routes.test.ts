/**
 * The Apicurio Registry v2 subset over HTTP (a registry server on an SQLite store in memory):
 * the calls Apicurio's serdes make, with Apicurio's shapes, statuses and error names, and the
 * mapping onto the Confluent model: artifactId = subject, contentId = Confluent id, versions =
 * subject versions, globalId = contentId * 2^21 + version, COMPATIBILITY rule = subject level.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { globalIdOf } from './apicurio-routes.ts';
import { startRegistryServer, type RunningRegistryServer } from './registry-http-server.ts';
import { SchemaRegistry } from './schema-registry.ts';
import { SqliteSchemaStore } from './sqlite-schema-store.ts';

let registry: SchemaRegistry;
let server: RunningRegistryServer;
let base: string;

before(async () => {
  registry = new SchemaRegistry(SqliteSchemaStore.open(':memory:'));
  server = await startRegistryServer(registry, { host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${server.port}`;
});

after(async () => {
  await server.close();
  await registry.close();
});

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly text: string;
  readonly contentType: string | null;
}

async function call(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    parsed = undefined;
  }
  return {
    status: response.status,
    body: parsed,
    text,
    contentType: response.headers.get('content-type'),
  };
}

const v2 = '/apis/registry/v2';
const record = (fields: object[]) =>
  JSON.stringify({ type: 'record', name: 'Order', namespace: 'shop', fields });
const orderV1 = record([{ name: 'id', type: 'string' }]);
const orderV2 = record([
  { name: 'id', type: 'string' },
  { name: 'note', type: 'string', default: '' },
]);
const orderBreaking = record([
  { name: 'id', type: 'string' },
  { name: 'grams', type: 'int' },
]);

/** What AvroKafkaSerializer sends to auto-register: POST .../artifacts?ifExists=... */
function create(subject: string, schema: string, ifExists = 'RETURN_OR_UPDATE', type = 'AVRO') {
  return call(
    'POST',
    `${v2}/groups/default/artifacts?ifExists=${ifExists}&canonical=false`,
    schema,
    {
      'X-Registry-ArtifactId': subject,
      ...(type === '' ? {} : { 'X-Registry-ArtifactType': type }),
    },
  );
}

describe('Apicurio v2 routes', () => {
  it('auto-registers as the serializer does and maps ids onto the Confluent model', async () => {
    const created = await create('orders-value', orderV1);
    assert.equal(created.status, 200);
    const meta = created.body as Record<string, unknown>;
    const confluent = await call('GET', '/subjects/orders-value/versions/1');
    const { id } = confluent.body as { id: number };
    assert.deepEqual(meta, {
      id: 'orders-value',
      version: '1',
      type: 'AVRO',
      globalId: globalIdOf(id, 1),
      contentId: id,
      state: 'ENABLED',
      labels: [],
      properties: {},
      references: [],
    });
    // The same content again returns the same version (RETURN_OR_UPDATE and UPDATE alike).
    assert.deepEqual((await create('orders-value', orderV1)).body, meta);
    assert.deepEqual((await create('orders-value', orderV1, 'UPDATE')).body, meta);
    const failed = await create('orders-value', orderV1, 'FAIL');
    assert.equal(failed.status, 409);
    assert.equal((failed.body as { name: string }).name, 'ArtifactAlreadyExistsException');

    // What the deserializer fetches by contentId: the content and its references.
    const content = await call('GET', `${v2}/ids/contentIds/${id}`);
    assert.equal(content.status, 200);
    assert.deepEqual(JSON.parse(content.text), JSON.parse(orderV1));
    assert.deepEqual((await call('GET', `${v2}/ids/contentIds/${id}/references`)).body, []);
    const byGlobal = await call('GET', `${v2}/ids/globalIds/${globalIdOf(id, 1)}`);
    assert.equal(byGlobal.text, content.text);
    const missing = await call('GET', `${v2}/ids/contentIds/9999`);
    assert.equal(missing.status, 404);
    assert.equal((missing.body as { name: string }).name, 'ContentNotFoundException');
    // A globalId naming a version that does not hold the content is not found.
    assert.equal((await call('GET', `${v2}/ids/globalIds/${globalIdOf(id, 7)}`)).status, 404);
  });

  it('evolves under the COMPATIBILITY rule and refuses with RuleViolationException', async () => {
    await create('evolving-value', orderV1);
    const next = await create('evolving-value', orderV2);
    assert.equal((next.body as { version: string }).version, '2');
    const refused = await create('evolving-value', orderBreaking);
    assert.equal(refused.status, 409);
    const error = refused.body as Record<string, unknown>;
    assert.equal(error.name, 'RuleViolationException');
    assert.equal(error.error_code, 409);
    assert.ok(Array.isArray(error.causes) && error.causes.length === 1);

    // The rule is the subject's Confluent level: NONE lets the breaking schema in.
    assert.equal(
      (await call('GET', `${v2}/groups/default/artifacts/evolving-value/rules`)).text,
      '[]',
    );
    const put = await call(
      'PUT',
      `${v2}/groups/default/artifacts/evolving-value/rules/COMPATIBILITY`,
      JSON.stringify({ type: 'COMPATIBILITY', config: 'NONE' }),
    );
    assert.deepEqual(put.body, { type: 'COMPATIBILITY', config: 'NONE' });
    const level = await call('GET', '/config/evolving-value');
    assert.deepEqual(level.body, { compatibilityLevel: 'NONE' });
    assert.equal((await create('evolving-value', orderBreaking)).status, 200);
    const deleted = await call(
      'DELETE',
      `${v2}/groups/default/artifacts/evolving-value/rules/COMPATIBILITY`,
    );
    assert.equal(deleted.status, 204);
    const gone = await call(
      'GET',
      `${v2}/groups/default/artifacts/evolving-value/rules/COMPATIBILITY`,
    );
    assert.equal((gone.body as { name: string }).name, 'RuleNotFoundException');
    const global = await call('GET', `${v2}/admin/rules/COMPATIBILITY`);
    assert.deepEqual(global.body, { type: 'COMPATIBILITY', config: 'BACKWARD' });
  });

  it('serves metadata, versions, content and lookup by content', async () => {
    await create('meta-value', orderV1);
    await create('meta-value', orderV2);
    const artifact = `${v2}/groups/default/artifacts/meta-value`;
    const meta = await call('GET', `${artifact}/meta`);
    assert.equal((meta.body as { version: string }).version, '2');
    const latest = await call('GET', artifact);
    assert.deepEqual(JSON.parse(latest.text), JSON.parse(orderV2));
    assert.match(latest.contentType ?? '', /application\/json/);
    const first = await call('GET', `${artifact}/versions/1/meta`);
    assert.equal((first.body as { version: string }).version, '1');
    const list = (await call('GET', `${artifact}/versions`)).body as {
      count: number;
      versions: unknown[];
    };
    assert.equal(list.count, 2);
    assert.equal(list.versions.length, 2);
    const found = await call('POST', `${artifact}/meta?canonical=true`, orderV1, {
      'X-Registry-ArtifactType': 'AVRO',
    });
    assert.equal((found.body as { version: string }).version, '1');
    const noVersion = await call('GET', `${artifact}/versions/x1/meta`);
    assert.equal((noVersion.body as { name: string }).name, 'VersionNotFoundException');
    const noArtifact = await call('GET', `${v2}/groups/default/artifacts/none/meta`);
    assert.equal(noArtifact.status, 404);
    assert.equal((noArtifact.body as { name: string }).name, 'ArtifactNotFoundException');
    const otherGroup = await call('GET', `${v2}/groups/shop/artifacts/meta-value/meta`);
    assert.equal((otherGroup.body as { name: string }).name, 'InvalidGroupIdException');
  });

  it('takes Protobuf text, detects types, and keeps references with create.extended', async () => {
    const proto = 'syntax = "proto3";\npackage shop;\nmessage Parcel { string id = 1; }\n';
    const created = await create('parcels-value', proto, 'RETURN_OR_UPDATE', '');
    assert.equal(created.status, 200);
    assert.equal((created.body as { type: string }).type, 'PROTOBUF');
    const { contentId } = created.body as { contentId: number };
    const content = await call('GET', `${v2}/ids/contentIds/${contentId}`);
    assert.match(content.text, /message Parcel/);
    const jsonSchema = JSON.stringify({ type: 'object', properties: { n: { type: 'integer' } } });
    assert.equal(
      ((await create('counts-value', jsonSchema, 'FAIL', '')).body as { type: string }).type,
      'JSON',
    );

    const user = record([{ name: 'parcel', type: 'shop.Order' }]).replace('"Order"', '"Box"');
    const extended = await call(
      'POST',
      `${v2}/groups/default/artifacts?ifExists=RETURN_OR_UPDATE`,
      JSON.stringify({
        content: user,
        references: [
          { groupId: null, artifactId: 'orders-value', version: '1', name: 'shop.Order' },
        ],
      }),
      {
        'Content-Type': 'application/create.extended+json',
        'X-Registry-ArtifactId': 'boxes-value',
        'X-Registry-ArtifactType': 'AVRO',
      },
    );
    assert.equal(extended.status, 200, extended.text);
    const references = [
      { groupId: null, artifactId: 'orders-value', version: '1', name: 'shop.Order' },
    ];
    assert.deepEqual((extended.body as { references: unknown }).references, references);
    const boxId = (extended.body as { contentId: number }).contentId;
    assert.deepEqual(
      (await call('GET', `${v2}/ids/contentIds/${boxId}/references`)).body,
      references,
    );
    const confluent = await call('GET', `/schemas/ids/${boxId}`);
    assert.deepEqual((confluent.body as { references: unknown }).references, [
      { name: 'shop.Order', subject: 'orders-value', version: 1 },
    ]);
  });

  it('answers bad requests with Apicurio errors, never a crash', async () => {
    const noId = await call('POST', `${v2}/groups/default/artifacts`, orderV1);
    assert.equal((noId.body as { name: string }).name, 'BadRequestException');
    const badType = await create('x-value', orderV1, 'FAIL', 'WSDL');
    assert.equal((badType.body as { name: string }).name, 'InvalidArtifactTypeException');
    const badContent = await create('x-value', '{"type":"record"', 'FAIL', 'AVRO');
    assert.equal(badContent.status, 422);
    const badIfExists = await create('x-value', orderV1, 'MAYBE');
    assert.equal(badIfExists.status, 400);
    assert.equal((await call('GET', `${v2}/ids/contentIds/abc`)).status, 404);
    assert.equal((await call('GET', `${v2}/search/artifacts`)).status, 404);
    assert.equal((await call('DELETE', `${v2}/ids/contentIds/1`)).status, 405);
    assert.equal((await call('GET', `${v2}/system/info`)).status, 200);
  });
});
