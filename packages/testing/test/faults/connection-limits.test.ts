/**
 * max.connections.per.ip and max.connections.per.ip.overrides (Kafka's names and semantics): a
 * new connection from an address that already has its limit open is closed at once, the ones
 * already open keep working, a closed one frees its slot, and the refusal is logged (at most
 * every 10 s) naming the setting. 127.0.0.2 is a second client address on Linux loopback.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { startBroker, type Logger, type RunningBroker } from '@tributary/broker';
import { requestFrame } from './kafka-wire.ts';

const API_VERSIONS = 18;
const replyTimeoutMs = 5_000;
const reconnectAttempts = 50;

const sockets: Socket[] = [];
let broker: RunningBroker | undefined;
after(async () => {
  for (const socket of sockets) socket.destroy();
  await broker?.close();
});

const warnings: string[] = [];
const logger: Logger = {
  info: () => undefined,
  warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields ?? {})}`),
  error: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields ?? {})}`),
};

/** Connects from `localAddress`, sends ApiVersions v0: the socket if answered, else undefined. */
async function usable(port: number, localAddress: string): Promise<Socket | undefined> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => undefined);
  const answered = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), replyTimeoutMs);
    socket.once('data', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
    socket.once('connect', () => socket.write(apiVersions()));
  });
  if (!answered) {
    socket.destroy();
    return undefined;
  }
  sockets.push(socket);
  return socket;
}

let correlationId = 0;
function apiVersions(): Buffer {
  correlationId += 1;
  return requestFrame({
    apiKey: API_VERSIONS,
    apiVersion: 0,
    correlationId,
    flexibleHeader: false,
    body: Buffer.alloc(0),
  });
}

/** A connection that was answered once still answers. */
function stillAnswers(socket: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), replyTimeoutMs);
    socket.once('data', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.write(apiVersions());
  });
}

async function open(port: number, localAddress: string, count: number): Promise<Socket[]> {
  const opened: Socket[] = [];
  for (let i = 0; i < count; i++) {
    const socket = await usable(port, localAddress);
    assert.ok(socket !== undefined, `connection ${i + 1} from ${localAddress} fits the limit`);
    opened.push(socket);
  }
  return opened;
}

test('max.connections.per.ip closes connections past the limit per address', async () => {
  broker = await startBroker({
    host: '127.0.0.1',
    port: 0,
    inMemory: true,
    logger,
    settings: new Map([
      ['max.connections.per.ip', { value: '2', origin: 'test' }],
      ['max.connections.per.ip.overrides', { value: '127.0.0.2:3', origin: 'test' }],
    ]),
  });
  const { port } = broker;
  const [first, second] = await open(port, '127.0.0.1', 2);
  assert.equal(await usable(port, '127.0.0.1'), undefined, 'a third from 127.0.0.1 is closed');
  assert.ok(
    warnings.some((line) => line.includes('max.connections.per.ip reached')),
    `the refusal is logged: ${warnings.join('\n')}`,
  );

  const overridden = await open(port, '127.0.0.2', 3);
  assert.equal(await usable(port, '127.0.0.2'), undefined, 'a fourth from 127.0.0.2 is closed');

  assert.ok(first !== undefined && second !== undefined);
  assert.ok(await stillAnswers(first), 'connections already open keep working');
  assert.ok(await stillAnswers(second));
  for (const socket of overridden) assert.ok(await stillAnswers(socket));

  first.destroy();
  let replacement: Socket | undefined;
  for (let attempt = 0; attempt < reconnectAttempts && replacement === undefined; attempt++) {
    replacement = await usable(port, '127.0.0.1');
    if (replacement === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(replacement !== undefined, 'a closed connection frees its slot');
});
