import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNats, type NatsMessage } from './peer-nats.ts';

test('parseNats reads MSG with and without reply, HMSG status, PING, and keeps partials', () => {
  const messages: NatsMessage[] = [];
  let pings = 0;
  const status = 'NATS/1.0 408 Request Timeout\r\n\r\n';
  const wire =
    'INFO {}\r\nMSG bench.x 4 $JS.ACK.BENCH.g0.1.1.1.1.0 3\r\nabc\r\nPING\r\n' +
    `HMSG _INBOX.pull.g0 4 ${status.length} ${status.length}\r\n${status}\r\n` +
    'MSG _INBOX.b.7 2 5\r\nhel';
  const rest = parseNats(
    Buffer.from(wire),
    (message) => messages.push(message),
    () => (pings += 1),
  );
  assert.equal(pings, 1);
  assert.deepEqual(messages, [
    { subject: 'bench.x', reply: '$JS.ACK.BENCH.g0.1.1.1.1.0', payload: 'abc', status: '' },
    { subject: '_INBOX.pull.g0', reply: '', payload: '', status: '408' },
  ]);
  assert.equal(rest.toString(), 'MSG _INBOX.b.7 2 5\r\nhel');
  parseNats(
    Buffer.concat([rest, Buffer.from('lo\r\n')]),
    (message) => messages.push(message),
    () => undefined,
  );
  assert.deepEqual(messages.at(-1), {
    subject: '_INBOX.b.7',
    reply: '',
    payload: 'hello',
    status: '',
  });
});
