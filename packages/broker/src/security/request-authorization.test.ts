import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostOf } from './request-authorization.ts';

test('an ACL host is matched against the peer address without its port, as Java prints it', () => {
  assert.equal(hostOf('10.1.2.3:49152'), '10.1.2.3');
  assert.equal(hostOf('::1:49152'), '::1');
  assert.equal(hostOf('fe80::1:2:49152'), 'fe80::1:2');
  // IPv4 on a dual-stack socket: Java's InetAddress gives the IPv4 form.
  assert.equal(hostOf('::ffff:127.0.0.1:49152'), '127.0.0.1');
  // The console's in-process calls have no port.
  assert.equal(hostOf('console'), 'console');
});
