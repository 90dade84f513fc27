import assert from 'node:assert/strict';
import { test } from 'node:test';
import { respReplyEnd } from './peer-load.ts';

test('respReplyEnd finds complete RESP replies and waits for partial bulk strings', () => {
  const buffer = Buffer.from('$15\r\n1700000000000-0\r\n-ERR x\r\n$15\r\n17000');
  const first = respReplyEnd(buffer, 0);
  assert.deepEqual(first, { end: 22, error: false });
  const second = respReplyEnd(buffer, first.end);
  assert.deepEqual(second, { end: 30, error: true });
  assert.equal(respReplyEnd(buffer, second.end).end, -1);
  assert.deepEqual(respReplyEnd(Buffer.from('+OK\r\n'), 0), { end: 5, error: false });
});
