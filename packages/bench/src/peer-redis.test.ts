import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  parseResp,
  redisXaddProtocol,
  respCommand,
  respReplyEnd,
  xreadEntries,
} from './peer-redis.ts';

test('respReplyEnd finds complete RESP replies and waits for partial bulk strings', () => {
  const buffer = Buffer.from('$15\r\n1700000000000-0\r\n-ERR x\r\n$15\r\n17000');
  const first = respReplyEnd(buffer, 0);
  assert.deepEqual(first, { end: 22, error: false });
  const second = respReplyEnd(buffer, first.end);
  assert.deepEqual(second, { end: 30, error: true });
  assert.equal(respReplyEnd(buffer, second.end).end, -1);
  assert.deepEqual(respReplyEnd(Buffer.from('+OK\r\n'), 0), { end: 5, error: false });
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

test('redisXaddProtocol numbers replies in order across partial reads', () => {
  const protocol = redisXaddProtocol();
  const first = protocol.parse(Buffer.from('$3\r\n1-0\r\n-ERR full\r\n$3\r\n2-'));
  assert.deepEqual(first.acked, [0]);
  assert.equal(first.errors, 1);
  const second = protocol.parse(Buffer.concat([first.rest, Buffer.from('0\r\n')]));
  assert.deepEqual(second.acked, [2]);
  assert.equal(second.rest.length, 0);
});
