import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEndpoint } from './endpoint.ts';

test('parses host:port, [v6]:port and :port', () => {
  assert.deepEqual(parseEndpoint('127.0.0.1:9092'), { host: '127.0.0.1', port: 9092 });
  assert.deepEqual(parseEndpoint('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseEndpoint(':19092'), { host: 'localhost', port: 19092 });
  assert.deepEqual(parseEndpoint('localhost:9092'), { host: 'localhost', port: 9092 });
});

test('refuses text that is not an endpoint', () => {
  assert.throws(() => parseEndpoint('localhost'), /HOST:PORT/);
  assert.throws(() => parseEndpoint('h:99999'), /HOST:PORT/);
});
