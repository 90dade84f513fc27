import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { SchemaRegistryClient, SchemaRegistryError } from './schema-registry-client.ts';

let server: Server;
let url: string;
before(async () => {
  server = createServer((request, response) => {
    if (request.url === '/schemas/ids/1') {
      response.writeHead(502, { 'content-type': 'text/html' });
      response.end('<html><body>502 Bad Gateway</body></html>');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
    response.end(JSON.stringify({ schema: '{"type":"string"}' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

test('a registry answer that is not JSON is a registry error, not a SyntaxError', async () => {
  const client = new SchemaRegistryClient(url);
  await assert.rejects(client.schemaById(1), (error: unknown) => {
    assert.ok(error instanceof SchemaRegistryError, String(error));
    assert.equal(error.status, 502);
    assert.match(error.message, /502 with a body that is not JSON \("<html>/);
    return true;
  });
  // Not cached: the next lookup asks again.
  assert.equal((await client.schemaById(2)).schema, '{"type":"string"}');
  await assert.rejects(client.schemaById(1), SchemaRegistryError);
});
