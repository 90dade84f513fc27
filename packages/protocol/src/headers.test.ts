import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiKey } from './generated/apis.ts';
import { readRequestHeader, writeRequestHeader } from './generated/request-header.ts';
import { readResponseHeader, writeResponseHeader } from './generated/response-header.ts';
import { requestHeaderVersion, responseHeaderVersion } from './headers.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

test('header versions follow flexibility, with Kafka exceptions', () => {
  assert.equal(requestHeaderVersion(ApiKey.Produce, 8), 1);
  assert.equal(requestHeaderVersion(ApiKey.Produce, 9), 2);
  assert.equal(responseHeaderVersion(ApiKey.Produce, 8), 0);
  assert.equal(responseHeaderVersion(ApiKey.Produce, 9), 1);
  assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
  assert.equal(responseHeaderVersion(ApiKey.ApiVersions, 3), 0);
  assert.equal(requestHeaderVersion(7, 0), 0);
  assert.equal(requestHeaderVersion(ApiKey.Metadata, 12), 2);
});

test('request header v2 keeps a classic client id string and adds tagged fields', () => {
  const bytes = Buffer.from('0003000c0000002a000361626300', 'hex');
  const header = readRequestHeader(new Reader(bytes), 2);
  assert.deepEqual(header, {
    requestApiKey: 3,
    requestApiVersion: 12,
    correlationId: 42,
    clientId: 'abc',
  });
  const writer = new Writer();
  writeRequestHeader(writer, 2, header);
  assert.deepEqual(writer.toBuffer(), bytes);
  assert.equal(
    readRequestHeader(new Reader(Buffer.from('0000000100000007', 'hex')), 0).clientId,
    null,
  );
});

test('response headers', () => {
  const writer = new Writer();
  writeResponseHeader(writer, 1, { correlationId: 9 });
  assert.equal(writer.toBuffer().toString('hex'), '0000000900');
  assert.equal(readResponseHeader(new Reader(Buffer.from('00000009', 'hex')), 0).correlationId, 9);
});
