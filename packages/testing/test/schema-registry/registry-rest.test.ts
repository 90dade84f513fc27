/**
 * The schema registry's REST API over HTTP on a broker process, for what the client libraries
 * do not exercise: Confluent's content type and error bodies (42202, 42203, 42204, 404, 405),
 * references between schemas (and the 42206 that protects them), modes, per-subject and global
 * config, /schemas listings, `tributary schemas list|get|register|check` run as a process, and
 * the registry's counters on the broker's /metrics.
 * Last, the broker restarts on the same data directory and every schema is still there.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliMainPath, metricValue, runCommand, tempDir } from '../../src/index.ts';
import { startRegistryBroker, type RegistryBroker } from './registry-broker.ts';

let running: RegistryBroker;
const contentType = 'application/vnd.schemaregistry.v1+json';

before(async () => {
  running = await startRegistryBroker();
});

after(async () => {
  await running.stop();
  await running.dataDir.remove();
});

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly contentType: string | null;
}

async function call(method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${running.registryUrl}${path}`, {
    method,
    headers: { 'content-type': contentType },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? undefined : (JSON.parse(text) as unknown),
    contentType: response.headers.get('content-type'),
  };
}

function assertError(answer: Answer, status: number, errorCode: number): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.equal((answer.body as { error_code?: number }).error_code, errorCode);
  assert.equal(typeof (answer.body as { message?: unknown }).message, 'string');
}

const address = JSON.stringify({
  type: 'record',
  name: 'Address',
  namespace: 'shop',
  fields: [{ name: 'city', type: 'string' }],
});
const customer = JSON.stringify({
  type: 'record',
  name: 'Customer',
  namespace: 'shop',
  fields: [
    { name: 'name', type: 'string' },
    { name: 'home', type: 'shop.Address' },
  ],
});

describe('schema registry REST API', () => {
  it("answers in Confluent's content type and error bodies", async () => {
    const types = await call('GET', '/schemas/types');
    assert.equal(types.contentType, contentType);
    assert.deepEqual(types.body, ['AVRO', 'JSON', 'PROTOBUF']);
    assert.deepEqual((await call('GET', '/contexts')).body, ['.']);
    assertError(await call('GET', '/subjects/x/versions/zero'), 422, 42202);
    assertError(await call('PUT', '/config', { compatibility: 'SIDEWAYS' }), 422, 42203);
    assertError(await call('PUT', '/mode', { mode: 'SOMETIMES' }), 422, 42204);
    assertError(await call('GET', '/no/such/route'), 404, 404);
    assertError(await call('GET', '/subjects/%E0%A4%A/versions'), 400, 400);
    assertError(await call('PATCH', '/subjects'), 405, 405);
    assertError(await call('POST', '/subjects/s/versions', { schema: 7 }), 422, 42201);
    assertError(
      await call('POST', '/subjects/s/versions', { schema: '{}', schemaType: 'XML' }),
      422,
      42201,
    );
    assertError(await call('GET', '/schemas/ids/999'), 404, 40403);
  });

  it('registers a schema that references another and guards the referenced version', async () => {
    const base = await call('POST', '/subjects/address/versions', { schema: address });
    assert.equal(base.status, 200);
    const missing = await call('POST', '/subjects/customer-value/versions', { schema: customer });
    assertError(missing, 422, 42201);
    const references = [{ name: 'shop.Address', subject: 'address', version: 1 }];
    const registered = await call('POST', '/subjects/customer-value/versions', {
      schema: customer,
      references,
    });
    assert.equal(registered.status, 200, JSON.stringify(registered.body));
    const id = (registered.body as { id: number }).id;
    const byId = await call('GET', `/schemas/ids/${id}`);
    assert.deepEqual((byId.body as { references: unknown }).references, references);
    assert.deepEqual((await call('GET', '/subjects/address/versions/1/referencedby')).body, [id]);
    assertError(await call('DELETE', '/subjects/address/versions/1'), 422, 42206);
    assertError(await call('DELETE', '/subjects/address'), 422, 42206);
    const lookup = await call('POST', '/subjects/customer-value', { schema: customer, references });
    assert.equal((lookup.body as { version: number }).version, 1);
    assert.deepEqual((await call('GET', `/schemas/ids/${id}/subjects`)).body, ['customer-value']);
  });

  it('resolves JSON Schema and Protobuf references by their names', async () => {
    const money = { type: 'object', properties: { cents: { type: 'integer' } } };
    await call('POST', '/subjects/money-json/versions', {
      schemaType: 'JSON',
      schema: JSON.stringify(money),
    });
    const invoice = {
      type: 'object',
      properties: { total: { $ref: 'money.json' } },
      required: ['total'],
    };
    const jsonReferences = [{ name: 'money.json', subject: 'money-json', version: 1 }];
    const json = await call('POST', '/subjects/invoice-json/versions', {
      schemaType: 'JSON',
      schema: JSON.stringify(invoice),
      references: jsonReferences,
    });
    assert.equal(json.status, 200, JSON.stringify(json.body));
    // The referenced schema takes part in the check: total.cents may not become a string.
    const narrowed = await call('POST', '/compatibility/subjects/invoice-json/versions/latest', {
      schemaType: 'JSON',
      schema: JSON.stringify({
        ...invoice,
        properties: { total: { type: 'object', properties: { cents: { type: 'string' } } } },
      }),
    });
    assert.deepEqual(narrowed.body, { is_compatible: false });

    const moneyProto = 'syntax = "proto3";\npackage shop;\nmessage Money { int64 cents = 1; }\n';
    await call('POST', '/subjects/money-proto/versions', {
      schemaType: 'PROTOBUF',
      schema: moneyProto,
    });
    const orderProto = [
      'syntax = "proto3";',
      'package shop;',
      'import "shop/money.proto";',
      'message Order { string id = 1; Money total = 2; }',
    ].join('\n');
    const withoutReference = await call('POST', '/subjects/order-proto/versions', {
      schemaType: 'PROTOBUF',
      schema: orderProto,
    });
    assertError(withoutReference, 422, 42201);
    const proto = await call('POST', '/subjects/order-proto/versions', {
      schemaType: 'PROTOBUF',
      schema: orderProto,
      references: [{ name: 'shop/money.proto', subject: 'money-proto', version: 1 }],
    });
    assert.equal(proto.status, 200, JSON.stringify(proto.body));
    const id = (proto.body as { id: number }).id;
    const serialized = await call('GET', '/subjects/money-proto/versions/1?format=serialized');
    assert.match((serialized.body as { schema: string }).schema, /^[A-Za-z0-9+/]+={0,2}$/);
    const text = await call('GET', '/subjects/money-proto/versions/1');
    assert.match((text.body as { schema: string }).schema, /message Money/);
    assert.deepEqual((await call('GET', '/subjects/money-proto/versions/1/referencedby')).body, [
      id,
    ]);
  });

  it('keeps config and mode per subject and globally', async () => {
    assert.deepEqual((await call('GET', '/config')).body, { compatibilityLevel: 'BACKWARD' });
    assertError(await call('GET', '/config/address'), 404, 40408);
    const defaulted = await call('GET', '/config/address?defaultToGlobal=true');
    assert.deepEqual(defaulted.body, { compatibilityLevel: 'BACKWARD' });
    assert.deepEqual((await call('PUT', '/config/address', { compatibility: 'none' })).body, {
      compatibility: 'NONE',
    });
    assert.deepEqual((await call('GET', '/config/address')).body, { compatibilityLevel: 'NONE' });
    const unrelated = JSON.stringify({ type: 'enum', name: 'E', symbols: ['A'] });
    assert.equal(
      (await call('POST', '/subjects/address/versions', { schema: unrelated })).status,
      200,
    );
    assert.deepEqual((await call('DELETE', '/config/address')).body, {
      compatibilityLevel: 'NONE',
    });
    assert.deepEqual((await call('GET', '/mode')).body, { mode: 'READWRITE' });
    await call('PUT', '/mode/address', { mode: 'READONLY' });
    const refused = await call('POST', '/subjects/address/versions', { schema: '"string"' });
    assertError(refused, 422, 42205);
    assert.deepEqual((await call('DELETE', '/mode/address')).body, { mode: 'READONLY' });
    assertError(await call('GET', '/mode/address'), 404, 40409);
  });

  it('lists, gets, registers and checks schemas with tributary schemas', async () => {
    const dir = await tempDir('schemas-cli');
    try {
      const file = join(dir.path, 'payment.avsc');
      const schema = { type: 'record', name: 'Payment', fields: [{ name: 'cents', type: 'long' }] };
      await writeFile(file, JSON.stringify(schema));
      const cli = (...args: string[]) =>
        runCommand(
          process.execPath,
          [cliMainPath, 'schemas', ...args, '--registry', running.registryUrl],
          {
            timeoutMs: 60_000,
          },
        );
      const registered = await cli('register', 'payments-value', file);
      assert.equal(registered.code, 0, registered.stderr);
      assert.match(registered.stdout, /registered payments-value version 1 as schema id \d+/);
      const listed = await cli('list');
      assert.match(listed.stdout, /^SUBJECT\s+LATEST-VERSION\s+SCHEMA-ID\s+TYPE$/m);
      assert.match(listed.stdout, /^payments-value\s+1\s+\d+\s+AVRO$/m);
      const got = await cli('get', 'payments-value');
      assert.equal((JSON.parse(got.stdout) as { version: number }).version, 1);
      const breaking = join(dir.path, 'breaking.avsc');
      await writeFile(
        breaking,
        JSON.stringify({ ...schema, fields: [...schema.fields, { name: 'n', type: 'int' }] }),
      );
      const check = await cli('check', 'payments-value', breaking);
      assert.equal(check.code, 1);
      assert.match(check.stdout, /incompatible with payments-value version latest/);
      const fine = await cli('check', 'payments-value', file);
      assert.equal(fine.code, 0, fine.stdout);
      const missing = await cli('get', 'nobody');
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /error_code 40401/);
      const usage = await cli('register', 'only-a-subject');
      assert.equal(usage.code, 2);
      const help = await cli('--help');
      assert.match(help.stdout, /tributary schemas check SUBJECT FILE/);
    } finally {
      await dir.remove();
    }
  });

  it("counts requests, registrations and refusals on the broker's /metrics", async () => {
    const text = await (await fetch(running.metricsUrl)).text();
    const value = (name: string): number => metricValue(text, name) ?? -1;
    assert.ok(value('tributary_schema_registry_requests_total') > 20, text);
    assert.ok(value('tributary_schema_registry_request_errors_total') >= 10);
    assert.ok(value('tributary_schema_registry_versions_registered_total') >= 8);
    assert.equal(value('tributary_schema_registry_incompatible_refused_total'), 0);
  });

  it('keeps every schema across a broker restart on the same data directory', async () => {
    const listed = await call('GET', '/schemas?deleted=true');
    await running.stop();
    running = await startRegistryBroker(running.dataDir);
    const afterRestart = await call('GET', '/schemas?deleted=true');
    assert.deepEqual(afterRestart.body, listed.body);
    assert.ok((afterRestart.body as unknown[]).length >= 3);
  });
});
