/**
 * Workload 2 for the peers: a paced producer and a consumer on separate connections of one
 * Node process (so both read the same monotonic clock). Every message carries its INTENDED
 * send time (peer-paced.ts), so falling behind schedule shows up as latency. Redis: XADD, read
 * with XREAD BLOCK on a second connection. NATS JetStream: PUB with reply inbox (the JetStream
 * ack), read by an ephemeral push consumer (ack policy none). RabbitMQ stream queue: publish on
 * a confirm channel, read by a stream consumer from offset `next` (prefetch 1000, batched acks).
 */
import type { Socket } from 'node:net';
import {
  natsConnect,
  createNatsStream,
  natsRequest,
  natsStream,
  openNatsLane,
  parseNats,
} from './peer-nats.ts';
import {
  payloadStamp,
  percentiles,
  runPacedLanes,
  type OpenedLane,
  type Percentiles,
} from './peer-paced.ts';
import { openRabbitLane, readRabbitStream } from './peer-rabbit.ts';
import {
  readTally,
  untilDoneOrTimeout,
  type PeerReadOptions,
  type PeerReadResult,
} from './peer-read.ts';
import { openRedisLane, parseResp, redisStream, respCommand, xreadEntries } from './peer-redis.ts';
import { openSocket } from './peer-servers.ts';

export type { Percentiles } from './peer-paced.ts';

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

export interface PacedLatencyOptions {
  port: number;
  valueBytes: number;
  rate: number;
  seconds: number;
}

/** A reader in place; `done` settles when it has read everything or timed out. */
interface StartedReader {
  done: Promise<PeerReadResult>;
}

/** Starts a reader of new messages; resolves once it is in place. */
type StartReader = (port: number, options: PeerReadOptions) => Promise<StartedReader>;

async function pacedLatency(
  options: PacedLatencyOptions,
  startReader: StartReader,
  openLane: (port: number) => Promise<OpenedLane>,
): Promise<PeerLatencyResult> {
  const e2e: number[] = [];
  const reading = await startReader(options.port, {
    group: 'latency',
    expect: options.rate * options.seconds,
    timeoutMs: options.seconds * 1000 + 10_000,
    onRecord: (payload) => e2e.push(performance.now() - payloadStamp(payload)),
  });
  const lane = await openLane(options.port);
  try {
    const produced = await runPacedLanes([lane.make], {
      ratePerLane: options.rate,
      seconds: options.seconds,
      valueBytes: options.valueBytes,
    });
    const read = await reading.done;
    return {
      sent: produced.sent,
      acked: produced.acked,
      errors: produced.errors,
      ackMs: produced.ackMs,
      delivered: read.count,
      e2eMs: percentiles(e2e),
    };
  } finally {
    await lane.close();
  }
}

/** XREAD BLOCK from `$` on its own connection until everything arrived or the timeout. */
async function startRedisReader(port: number, options: PeerReadOptions): Promise<StartedReader> {
  const socket = await openSocket(port);
  const tally = readTally(options);
  let lastId = '$';
  let buffer: Buffer = Buffer.alloc(0);
  const issue = (): void => {
    socket.write(
      respCommand(['XREAD', 'BLOCK', '500', 'COUNT', '1000', 'STREAMS', redisStream, lastId]),
    );
  };
  const reading = untilDoneOrTimeout(tally, options.timeoutMs, (done) => {
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      const parsed = parseResp(buffer, 0);
      if (parsed === undefined) return;
      buffer = buffer.subarray(parsed.end);
      let complete = false;
      for (const entry of xreadEntries(parsed.value)) {
        lastId = entry.id;
        complete = tally.add(entry.value) || complete;
      }
      if (complete) done();
      else issue();
    });
    issue();
  }).finally(() => socket.destroy());
  // Let the first XREAD (from `$`) block on the server before the first XADD.
  await new Promise((done) => setTimeout(done, 200));
  return { done: reading };
}

export function redisPacedLatency(options: PacedLatencyOptions): Promise<PeerLatencyResult> {
  return pacedLatency(options, startRedisReader, openRedisLane);
}

/** Ephemeral push consumer (deliver all, ack none) read on its own connection. */
async function startNatsReader(port: number, options: PeerReadOptions): Promise<StartedReader> {
  const socket: Socket = await natsConnect(port);
  await createNatsStream(socket);
  const deliver = 'deliver.bench';
  const consumer = JSON.stringify({
    stream_name: natsStream,
    config: { deliver_subject: deliver, deliver_policy: 'all', ack_policy: 'none' },
  });
  socket.write(`SUB ${deliver} 9\r\n`);
  await natsRequest(socket, 2, `$JS.API.CONSUMER.CREATE.${natsStream}`, consumer);
  const tally = readTally(options);
  let buffer: Buffer = Buffer.alloc(0);
  const reading = untilDoneOrTimeout(tally, options.timeoutMs, (done) => {
    socket.on('data', (chunk: Buffer) => {
      buffer = parseNats(
        buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]),
        (message) => {
          // Push deliveries keep the stream subject (bench.x), not the deliver subject.
          if (message.subject.startsWith('bench.') && tally.add(message.payload)) done();
        },
        () => socket.write('PONG\r\n'),
      );
    });
  }).finally(() => socket.destroy());
  return { done: reading };
}

export function natsPacedLatency(options: PacedLatencyOptions): Promise<PeerLatencyResult> {
  return pacedLatency(options, startNatsReader, openNatsLane);
}

/** Stream consumer from offset `next`, in place once the server confirmed the consume. */
function startRabbitReader(port: number, options: PeerReadOptions): Promise<StartedReader> {
  return new Promise((resolvePromise, reject) => {
    const reading = readRabbitStream(port, 'next', options, () =>
      resolvePromise({ done: reading }),
    );
    reading.catch(reject);
  });
}

export function rabbitPacedLatency(options: PacedLatencyOptions): Promise<PeerLatencyResult> {
  return pacedLatency(options, startRabbitReader, openRabbitLane);
}
