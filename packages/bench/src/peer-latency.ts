/**
 * Workload 2 for the peers: a paced producer and a consumer on separate connections of one
 * Node process (so both read the same monotonic clock). Every message carries its INTENDED
 * send time; the producer sends whatever is due on each ~1 ms tick, so falling behind schedule
 * shows up as latency (no coordinated omission). Redis: XADD, read with XREAD BLOCK on a second
 * connection. NATS JetStream: PUB with reply inbox (the JetStream ack), read by an ephemeral
 * push consumer (ack policy none) on the stream.
 */
import type { Socket } from 'node:net';
import { openSocket, parseNats, respReplyEnd } from './peer-load.ts';
import { percentile } from './latency-summary.ts';

export interface Percentiles {
  samples: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export interface PeerLatencyResult {
  sent: number;
  acked: number;
  errors: number;
  delivered: number;
  /** Producer ack time measured from the intended send time. */
  ackMs: Percentiles;
  /** Delivery to the consumer measured from the intended send time. */
  e2eMs: Percentiles;
}

export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = samples.toSorted((a, b) => a - b);
  return {
    samples: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted.at(-1) ?? 0,
  };
}

const stampChars = 16;

/** A `valueBytes` payload starting with the intended send time (ms, fixed width). */
export function stampedPayload(intendedMs: number, valueBytes: number): string {
  const stamp = intendedMs.toFixed(3).padStart(stampChars, '0');
  return stamp + 'v'.repeat(Math.max(0, valueBytes - stampChars));
}

export function payloadStamp(payload: string): number {
  return Number(payload.slice(0, stampChars));
}

export type RespValue = string | number | null | RespValue[] | { error: string };

/** Parses one complete RESP2 value at `offset`, or returns undefined if it is incomplete. */
export function parseResp(
  buffer: Buffer,
  offset: number,
): { value: RespValue; end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const kind = String.fromCharCode(buffer[offset] ?? 0);
  const line = buffer.toString('latin1', offset + 1, lineEnd);
  if (kind === '+') return { value: line, end: lineEnd + 2 };
  if (kind === '-') return { value: { error: line }, end: lineEnd + 2 };
  if (kind === ':') return { value: Number(line), end: lineEnd + 2 };
  const length = Number(line);
  if (length < 0) return { value: null, end: lineEnd + 2 };
  if (kind === '$') {
    const end = lineEnd + 2 + length + 2;
    if (end > buffer.length) return undefined;
    return { value: buffer.toString('utf8', lineEnd + 2, lineEnd + 2 + length), end };
  }
  const items: RespValue[] = [];
  let next = lineEnd + 2;
  for (let index = 0; index < length; index += 1) {
    const item = parseResp(buffer, next);
    if (item === undefined) return undefined;
    items.push(item.value);
    next = item.end;
  }
  return { value: items, end: next };
}

/** The (id, first field value) entries of an XREAD reply for one stream; [] for a timeout. */
export function xreadEntries(reply: RespValue): Array<{ id: string; value: string }> {
  if (!Array.isArray(reply)) return [];
  const stream = reply[0];
  const entries = Array.isArray(stream) ? stream[1] : undefined;
  if (!Array.isArray(entries)) return [];
  const out: Array<{ id: string; value: string }> = [];
  for (const entry of entries) {
    if (!Array.isArray(entry)) continue;
    const [id, fields] = entry;
    const value = Array.isArray(fields) ? fields[1] : undefined;
    if (typeof id === 'string' && typeof value === 'string') out.push({ id, value });
  }
  return out;
}

export function respCommand(words: readonly string[]): Buffer {
  const parts = words.map((word) => `$${Buffer.byteLength(word)}\r\n${word}\r\n`);
  return Buffer.from(`*${words.length}\r\n${parts.join('')}`);
}

interface PacedProducer {
  /** Bytes of message `seq` carrying `payload`. */
  request(seq: number, payload: string): Buffer;
  /** Consumes complete replies; returns the seqs acked, errors, and the unparsed rest. */
  parse(buffer: Buffer): { acked: number[]; errors: number; rest: Buffer };
}

/** Sends `rate`/s for `seconds` on `socket`; resolves when every message is answered. */
function runPaced(
  socket: Socket,
  producer: PacedProducer,
  options: { rate: number; seconds: number; valueBytes: number },
): Promise<{ sent: number; acked: number; errors: number; ackMs: Percentiles }> {
  const total = options.rate * options.seconds;
  const intended = new Float64Array(total);
  const ackLatencies: number[] = [];
  let sent = 0;
  let answered = 0;
  let errors = 0;
  let buffer: Buffer = Buffer.alloc(0);
  const start = performance.now() + 5;
  return new Promise((resolvePromise, reject) => {
    const finishIfDone = (): void => {
      if (sent < total || answered < sent) return;
      resolvePromise({
        sent,
        acked: ackLatencies.length,
        errors,
        ackMs: percentiles(ackLatencies),
      });
    };
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      const parsed = producer.parse(buffer);
      buffer = parsed.rest;
      errors += parsed.errors;
      answered += parsed.errors + parsed.acked.length;
      const now = performance.now();
      for (const seq of parsed.acked) ackLatencies.push(now - (intended[seq] ?? now));
      finishIfDone();
    });
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * options.rate) / 1000));
      const chunks: Buffer[] = [];
      for (; sent < due; sent += 1) {
        const at = start + (sent * 1000) / options.rate;
        intended[sent] = at;
        chunks.push(producer.request(sent, stampedPayload(at, options.valueBytes)));
      }
      if (chunks.length > 0) socket.write(Buffer.concat(chunks));
      if (sent < total) setTimeout(tick, 1);
      else finishIfDone();
    };
    setTimeout(tick, 5);
  });
}

export interface PacedLatencyOptions {
  port: number;
  valueBytes: number;
  rate: number;
  seconds: number;
}

/** Reads with XREAD BLOCK until everything arrived or `giveUp()` says to stop. */
function redisReader(socket: Socket, expect: number, giveUp: () => boolean): Promise<number[]> {
  const latencies: number[] = [];
  let lastId = '$';
  let buffer: Buffer = Buffer.alloc(0);
  const issue = (): void => {
    socket.write(
      respCommand(['XREAD', 'BLOCK', '500', 'COUNT', '1000', 'STREAMS', 'bench', lastId]),
    );
  };
  return new Promise((resolvePromise, reject) => {
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      const parsed = parseResp(buffer, 0);
      if (parsed === undefined) return;
      buffer = buffer.subarray(parsed.end);
      const now = performance.now();
      for (const entry of xreadEntries(parsed.value)) {
        lastId = entry.id;
        latencies.push(now - payloadStamp(entry.value));
      }
      if (latencies.length >= expect || giveUp()) resolvePromise(latencies);
      else issue();
    });
    issue();
  });
}

export async function redisPacedLatency(options: PacedLatencyOptions): Promise<PeerLatencyResult> {
  const producerSocket = await openSocket(options.port);
  const readerSocket = await openSocket(options.port);
  try {
    let giveUpAt = Number.POSITIVE_INFINITY;
    const expect = options.rate * options.seconds;
    const reading = redisReader(readerSocket, expect, () => performance.now() > giveUpAt);
    // Let the first XREAD (from `$`) block on the server before the first XADD.
    await new Promise((done) => setTimeout(done, 200));
    let ackedSeq = 0;
    const produced = await runPaced(
      producerSocket,
      {
        request: (_seq, payload) => respCommand(['XADD', 'bench', '*', 'v', payload]),
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
      },
      { rate: options.rate, seconds: options.seconds, valueBytes: options.valueBytes },
    );
    giveUpAt = performance.now() + 5000;
    const e2e = await reading;
    return { ...produced, delivered: e2e.length, e2eMs: percentiles(e2e) };
  } finally {
    producerSocket.destroy();
    readerSocket.destroy();
  }
}

/** Sends a NATS request on `socket` and resolves with the reply payload (JSON API calls). */
function natsRequest(socket: Socket, sid: number, subject: string, body: string): Promise<string> {
  const inbox = `_INBOX.req.${sid}`;
  return new Promise((resolvePromise, reject) => {
    let buffer: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffer = parseNats(
        Buffer.concat([buffer, chunk]),
        (replySubject, payload) => {
          if (replySubject !== inbox) return;
          socket.off('data', onData);
          if (payload.includes('"error"')) reject(new Error(`${subject}: ${payload}`));
          else resolvePromise(payload);
        },
        () => socket.write('PONG\r\n'),
      );
    };
    socket.on('data', onData);
    socket.write(`SUB ${inbox} ${sid}\r\nPUB ${subject} ${inbox} ${Buffer.byteLength(body)}\r\n`);
    socket.write(`${body}\r\n`);
  });
}

async function natsConnect(port: number): Promise<Socket> {
  const socket = await openSocket(port);
  socket.write('CONNECT {"verbose":false,"pedantic":false,"lang":"bench"}\r\n');
  return socket;
}

/** Collects push-consumer deliveries on `subject` until everything arrived or `giveUp()`. */
function natsReader(
  socket: Socket,
  streamPrefix: string,
  expect: number,
  giveUp: () => boolean,
): Promise<number[]> {
  const latencies: number[] = [];
  let buffer: Buffer = Buffer.alloc(0);
  return new Promise((resolvePromise, reject) => {
    const timer = setInterval(() => {
      if (giveUp()) finish();
    }, 100);
    const finish = (): void => {
      clearInterval(timer);
      resolvePromise(latencies);
    };
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffer = parseNats(
        buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]),
        (messageSubject, payload) => {
          // Push deliveries keep the stream subject (bench.x), not the deliver subject.
          if (messageSubject.startsWith(streamPrefix))
            latencies.push(performance.now() - payloadStamp(payload));
        },
        () => socket.write('PONG\r\n'),
      );
      if (latencies.length >= expect) finish();
    });
  });
}

export async function natsPacedLatency(options: PacedLatencyOptions): Promise<PeerLatencyResult> {
  const producerSocket = await natsConnect(options.port);
  const readerSocket = await natsConnect(options.port);
  try {
    const stream = JSON.stringify({ name: 'BENCH', subjects: ['bench.>'], storage: 'file' });
    await natsRequest(producerSocket, 1, '$JS.API.STREAM.CREATE.BENCH', stream);
    producerSocket.write('SUB _INBOX.l.> 3\r\n');
    const deliver = 'deliver.bench';
    const consumer = JSON.stringify({
      stream_name: 'BENCH',
      config: { deliver_subject: deliver, deliver_policy: 'all', ack_policy: 'none' },
    });
    readerSocket.write(`SUB ${deliver} 9\r\n`);
    await natsRequest(readerSocket, 2, '$JS.API.CONSUMER.CREATE.BENCH', consumer);
    let giveUpAt = Number.POSITIVE_INFINITY;
    const expect = options.rate * options.seconds;
    const reading = natsReader(readerSocket, 'bench.', expect, () => performance.now() > giveUpAt);
    const produced = await runPaced(
      producerSocket,
      {
        request: (seq, payload) =>
          Buffer.from(
            `PUB bench.x _INBOX.l.${seq} ${Buffer.byteLength(payload)}\r\n${payload}\r\n`,
          ),
        parse: (buffer) => {
          const acked: number[] = [];
          let errors = 0;
          const rest = parseNats(
            buffer,
            (subject, reply) => {
              if (!subject.startsWith('_INBOX.l.')) return;
              if (reply.includes('"error"')) errors += 1;
              else acked.push(Number(subject.slice('_INBOX.l.'.length)));
            },
            () => producerSocket.write('PONG\r\n'),
          );
          return { acked, errors, rest };
        },
      },
      { rate: options.rate, seconds: options.seconds, valueBytes: options.valueBytes },
    );
    giveUpAt = performance.now() + 5000;
    const e2e = await reading;
    return { ...produced, delivered: e2e.length, e2eMs: percentiles(e2e) };
  } finally {
    producerSocket.destroy();
    readerSocket.destroy();
  }
}
