import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogFields, Logger } from '../logger.ts';
import { SlowRequestLog } from './slow-request-log.ts';

function capture(): { log: Logger; lines: { message: string; fields?: LogFields | undefined }[] } {
  const lines: { message: string; fields?: LogFields | undefined }[] = [];
  const push = (message: string, fields?: LogFields) => lines.push({ message, fields });
  return { log: { info: push, warn: push, error: push }, lines };
}

test('a burst of slow requests logs the first ones one by one and sums up the rest', async () => {
  const { log, lines } = capture();
  const slow = new SlowRequestLog(log, { maxPerWindow: 3, windowMs: 50 });
  let named = 0;
  const id = (n: number) => () => {
    named += 1;
    return `peer#${n}`;
  };
  for (let i = 0; i < 1000; i++) slow.note(i % 4 === 0 ? 'Metadata' : 'Produce', 1000 + i, id(i));
  assert.equal(lines.length, 3);
  assert.equal(named, 3, 'request ids are only made for the lines written');
  assert.deepEqual(lines[0], {
    message: 'slow request',
    fields: { requestId: 'peer#0', api: 'Metadata', ms: 1000 },
  });
  await sleep(120);
  assert.equal(lines.length, 4);
  assert.deepEqual(lines[3], {
    message: 'slow requests not logged one by one',
    fields: { count: 997, apis: 'Produce=748,Metadata=249', slowestMs: 1999, windowMs: 50 },
  });
  slow.note('Produce', 1500, id(5000));
  assert.equal(lines.length, 5, 'a new window logs one by one again');
  assert.equal(lines[4]?.fields?.requestId, 'peer#5000');
});

test('a window with no request beyond the budget adds no summary line', async () => {
  const { log, lines } = capture();
  const slow = new SlowRequestLog(log, { maxPerWindow: 2, windowMs: 20 });
  slow.note('Produce', 1200, () => 'a');
  slow.note('Produce', 1300, () => 'b');
  await sleep(60);
  slow.note('Produce', 1400, () => 'c');
  assert.deepEqual(
    lines.map((line) => line.fields?.requestId),
    ['a', 'b', 'c'],
  );
});
