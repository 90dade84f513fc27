import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { stablePort } from './stable-port.ts';

test('stablePort draws distinct listenable ports below the ephemeral range', async () => {
  const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
  const ports = new Set<number>();
  for (let draw = 0; draw < 5; draw++) {
    const port = await stablePort();
    assert.ok(port >= 1024 && port < Number(low), `port ${port} below ${low}`);
    ports.add(port);
  }
  assert.ok(ports.size > 1, 'drawn at random, not one fixed port');
  const [port] = ports;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  await new Promise((resolve) => server.close(resolve));
});
