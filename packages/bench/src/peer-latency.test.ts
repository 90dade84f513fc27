import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  parseResp,
  payloadStamp,
  percentiles,
  respCommand,
  stampedPayload,
  xreadEntries,
} from './peer-latency.ts';

test('stampedPayload keeps the record size and round-trips the intended time', () => {
  const payload = stampedPayload(12345.678, 1024);
  assert.equal(payload.length, 1024);
  assert.equal(payloadStamp(payload), 12345.678);
});

test('parseResp reads nested XREAD replies and waits for incomplete ones', () => {
  const reply =
    '*1\r\n*2\r\n$5\r\nbench\r\n*2\r\n' +
    '*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nv\r\n$3\r\nabc\r\n' +
    '*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nv\r\n$3\r\ndef\r\n';
  const buffer = Buffer.from(reply);
  const parsed = parseResp(buffer, 0);
  assert.equal(parsed?.end, buffer.length);
  assert.deepEqual(xreadEntries(parsed?.value ?? null), [
    { id: '1-0', value: 'abc' },
    { id: '2-0', value: 'def' },
  ]);
  assert.equal(parseResp(buffer.subarray(0, buffer.length - 3), 0), undefined);
  assert.deepEqual(parseResp(Buffer.from('*-1\r\n'), 0), { value: null, end: 5 });
  assert.deepEqual(xreadEntries(null), []);
  assert.deepEqual(parseResp(Buffer.from('-ERR no\r\n'), 0)?.value, { error: 'ERR no' });
});

test('respCommand encodes bulk strings with byte lengths', () => {
  assert.equal(respCommand(['XADD', 'é']).toString(), '*2\r\n$4\r\nXADD\r\n$2\r\né\r\n');
});

test('percentiles include p99.9 and max', () => {
  const samples = Array.from({ length: 1000 }, (_, index) => index + 1);
  const summary = percentiles(samples);
  assert.equal(summary.samples, 1000);
  assert.equal(summary.p50, 501);
  assert.equal(summary.p999, 999);
  assert.equal(summary.max, 1000);
});
