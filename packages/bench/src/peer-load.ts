/**
 * Minimal pipelined load generators for the peers, speaking their wire protocols directly
 * (Debian has no python3-redis/python3-nats on this machine and the suite avoids extra
 * dependencies): Redis XADD over RESP, and NATS JetStream publish-with-ack. Both keep `window`
 * requests in flight on one connection, the same shape as a Kafka producer's pipelining, and
 * count only acknowledged messages.
 */
import { connect as amqpConnect } from 'amqplib';
import { connect, type Socket } from 'node:net';
import { summarizeMs, type LatencySummary } from './latency-summary.ts';

export interface PipelinedResult {
  acked: number;
  errors: number;
  seconds: number;
  ackLatency: LatencySummary;
}

interface Protocol {
  /** Bytes of one request for message number `seq`. */
  request(seq: number): Buffer;
  /** Consumes complete replies from `buffer`; returns [seqs acked (in order), errors, rest]. */
  parse(buffer: Buffer): { acked: number[]; errors: number; rest: Buffer };
}

export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolvePromise(socket));
    socket.once('error', reject);
    socket.setNoDelay(true);
  });
}

async function runPipelined(
  socket: Socket,
  protocol: Protocol,
  durationMs: number,
  window: number,
): Promise<PipelinedResult> {
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let nextSeq = 0;
  let acked = 0;
  let errors = 0;
  let buffer: Buffer = Buffer.alloc(0);
  const start = performance.now();
  const deadline = start + durationMs;
  const sendMore = (): void => {
    const chunks: Buffer[] = [];
    while (sentAt.size < window && performance.now() < deadline) {
      sentAt.set(nextSeq, performance.now());
      chunks.push(protocol.request(nextSeq));
      nextSeq += 1;
    }
    if (chunks.length > 0) socket.write(Buffer.concat(chunks));
  };
  return new Promise((resolvePromise, reject) => {
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      const parsed = protocol.parse(buffer);
      buffer = parsed.rest;
      errors += parsed.errors;
      const now = performance.now();
      for (const seq of parsed.acked) {
        const sent = sentAt.get(seq);
        sentAt.delete(seq);
        if (sent !== undefined) latencies.push(now - sent);
        acked += 1;
      }
      if (parsed.errors > 0) sentAt.clear();
      sendMore();
      if (sentAt.size === 0 && performance.now() >= deadline) {
        resolvePromise({
          acked,
          errors,
          seconds: (performance.now() - start) / 1000,
          ackLatency: summarizeMs(latencies),
        });
      }
    });
    sendMore();
  });
}

/** Parses one RESP reply at `offset`; returns its end, or -1 if incomplete. Errors flagged. */
export function respReplyEnd(buffer: Buffer, offset: number): { end: number; error: boolean } {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return { end: -1, error: false };
  const kind = String.fromCharCode(buffer[offset] ?? 0);
  if (kind !== '$') return { end: lineEnd + 2, error: kind === '-' };
  const length = Number(buffer.toString('latin1', offset + 1, lineEnd));
  if (length < 0) return { end: lineEnd + 2, error: false };
  const end = lineEnd + 2 + length + 2;
  return { end: end <= buffer.length ? end : -1, error: false };
}

export async function redisXaddLoad(
  port: number,
  valueBytes: number,
  durationMs: number,
  window: number,
): Promise<PipelinedResult> {
  const socket = await openSocket(port);
  const value = 'v'.repeat(valueBytes);
  const command = Buffer.from(
    `*5\r\n$4\r\nXADD\r\n$5\r\nbench\r\n$1\r\n*\r\n$1\r\nv\r\n$${valueBytes}\r\n${value}\r\n`,
  );
  let ackedSeq = 0;
  const protocol: Protocol = {
    request: () => command,
    parse: (buffer) => {
      const acked: number[] = [];
      let errors = 0;
      let offset = 0;
      for (;;) {
        const reply = respReplyEnd(buffer, offset);
        if (reply.end < 0) break;
        if (reply.error) errors += 1;
        else acked.push(ackedSeq);
        ackedSeq += 1;
        offset = reply.end;
      }
      return { acked, errors, rest: buffer.subarray(offset) };
    },
  };
  try {
    return await runPipelined(socket, protocol, durationMs, window);
  } finally {
    socket.destroy();
  }
}

/** Splits NATS protocol lines; MSG payloads are skipped by their declared size. */
export function parseNats(
  buffer: Buffer,
  onMsg: (subject: string, payload: string) => void,
  onPing: () => void,
) {
  let offset = 0;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const line = buffer.toString('latin1', offset, lineEnd);
    if (line.startsWith('MSG ')) {
      const parts = line.split(' ');
      const size = Number(parts.at(-1));
      const end = lineEnd + 2 + size + 2;
      if (end > buffer.length) break;
      onMsg(parts[1] ?? '', buffer.toString('utf8', lineEnd + 2, lineEnd + 2 + size));
      offset = end;
      continue;
    }
    if (line === 'PING') onPing();
    offset = lineEnd + 2;
  }
  return buffer.subarray(offset);
}

export async function natsJetStreamLoad(
  port: number,
  valueBytes: number,
  durationMs: number,
  window: number,
): Promise<PipelinedResult> {
  const socket = await openSocket(port);
  socket.write('CONNECT {"verbose":false,"pedantic":false,"lang":"bench"}\r\nSUB _INBOX.b.> 1\r\n');
  const config = JSON.stringify({ name: 'BENCH', subjects: ['bench.>'], storage: 'file' });
  socket.write(`PUB $JS.API.STREAM.CREATE.BENCH _INBOX.b.create ${config.length}\r\n${config}\r\n`);
  await new Promise<void>((resolvePromise, reject) => {
    let buffer: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffer = parseNats(
        Buffer.concat([buffer, chunk]),
        (subject, payload) => {
          if (subject !== '_INBOX.b.create') return;
          socket.off('data', onData);
          if (payload.includes('"error"')) reject(new Error(`JetStream stream create: ${payload}`));
          else resolvePromise();
        },
        () => socket.write('PONG\r\n'),
      );
    };
    socket.on('data', onData);
  });
  const payload = 'v'.repeat(valueBytes);
  const protocol: Protocol = {
    request: (seq) => Buffer.from(`PUB bench.x _INBOX.b.${seq} ${valueBytes}\r\n${payload}\r\n`),
    parse: (buffer) => {
      const acked: number[] = [];
      let errors = 0;
      const rest = parseNats(
        buffer,
        (subject, reply) => {
          if (reply.includes('"error"')) errors += 1;
          else acked.push(Number(subject.slice('_INBOX.b.'.length)));
        },
        () => socket.write('PONG\r\n'),
      );
      return { acked, errors, rest };
    },
  };
  try {
    return await runPipelined(socket, protocol, durationMs, window);
  } finally {
    socket.destroy();
  }
}

/**
 * RabbitMQ stream queue over AMQP 0-9-1 (amqplib) with publisher confirms: `window`
 * persistent 1 KiB publishes unconfirmed at a time on one confirm channel.
 */
export async function rabbitStreamLoad(
  port: number,
  valueBytes: number,
  durationMs: number,
  window: number,
): Promise<PipelinedResult> {
  // The private node's built-in account, which RabbitMQ allows from loopback only.
  const connection = await amqpConnect(`amqp://guest:guest@127.0.0.1:${port}`);
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue('bench', { durable: true, arguments: { 'x-queue-type': 'stream' } });
    const value = Buffer.alloc(valueBytes, 0x76);
    const latencies: number[] = [];
    let acked = 0;
    let errors = 0;
    const start = performance.now();
    const deadline = start + durationMs;
    const lane = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const sent = performance.now();
        await new Promise<void>((done) => {
          channel.sendToQueue('bench', value, { persistent: true }, (error: unknown) => {
            if (error === null || error === undefined) {
              acked += 1;
              latencies.push(performance.now() - sent);
            } else errors += 1;
            done();
          });
        });
      }
    };
    await Promise.all(Array.from({ length: window }, lane));
    return {
      acked,
      errors,
      seconds: (performance.now() - start) / 1000,
      ackLatency: summarizeMs(latencies),
    };
  } finally {
    await connection.close().catch(() => undefined);
  }
}
