/**
 * stablePort: a free loopback port for a listener that must get the same port back after a
 * kill and restart (a test cluster's brokers, the shop's registries, a PostgreSQL server that
 * `restart`s). A port the kernel hands
 * out for `listen(0)` lies in Linux's ephemeral range, the same range every outgoing
 * connection's local port comes from: while the listener is down, a client's reconnect can
 * take that very port, and the restart then fails with EADDRINUSE. So the port is drawn from
 * below the ephemeral range (read from /proc) and checked free by listening on it once.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Ports below the ephemeral range that a draw picks from. */
const drawSpan = 10_000;
/** Draws tried before giving up. */
const drawAttempts = 100;
/** Linux's default when /proc cannot be read. */
const defaultEphemeralLow = 32_768;

export async function stablePort(): Promise<number> {
  const high = ephemeralLow() - 1;
  const low = Math.max(1024, high - drawSpan);
  for (let attempt = 0; attempt < drawAttempts; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free loopback port in ${low}-${high} after ${drawAttempts} tries`);
}

function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/);
    const value = Number(low);
    return Number.isInteger(value) && value > 2048 ? value : defaultEphemeralLow;
  } catch {
    return defaultEphemeralLow;
  }
}

function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
