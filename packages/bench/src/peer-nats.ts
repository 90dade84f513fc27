/**
 * NATS JetStream over the raw NATS protocol for the peer runs: message parsing (MSG and HMSG),
 * API requests, one file-storage stream `BENCH` on `bench.>`, publish-with-ack as a pipelined
 * protocol, and a durable pull consumer read in batches. The JetStream publish ack means the
 * message is written to the stream's block file (2.9: no fsync per message).
 */
import type { Socket } from 'node:net';
import { socketLane, type OpenedLane, type PipelineProtocol } from './peer-paced.ts';
import {
  readTally,
  untilDoneOrTimeout,
  type PeerReadOptions,
  type PeerReadResult,
} from './peer-read.ts';
import { openSocket } from './peer-servers.ts';

export interface NatsMessage {
  subject: string;
  /** Reply subject: the ack subject of a JetStream delivery; '' if none. */
  reply: string;
  payload: string;
  /** Status code of a header-only status message (e.g. 408 when a pull request expires). */
  status: string;
}

/** Splits NATS protocol lines; MSG and HMSG payloads are taken by their declared size. */
export function parseNats(
  buffer: Buffer,
  onMsg: (message: NatsMessage) => void,
  onPing: () => void,
): Buffer {
  let offset = 0;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const line = buffer.toString('latin1', offset, lineEnd);
    const headers = line.startsWith('HMSG ');
    if (headers || line.startsWith('MSG ')) {
      // MSG subject sid [reply] size; HMSG subject sid [reply] header-size total-size.
      const parts = line.split(' ');
      const size = Number(parts.at(-1));
      const headerSize = headers ? Number(parts.at(-2)) : 0;
      const end = lineEnd + 2 + size + 2;
      if (end > buffer.length) break;
      const fields = parts.length - (headers ? 2 : 1);
      const headerText = buffer.toString('latin1', lineEnd + 2, lineEnd + 2 + headerSize);
      onMsg({
        subject: parts[1] ?? '',
        reply: fields === 4 ? (parts[3] ?? '') : '',
        payload: buffer.toString('utf8', lineEnd + 2 + headerSize, lineEnd + 2 + size),
        status: /^NATS\/1\.0 (\d{3})/.exec(headerText)?.[1] ?? '',
      });
      offset = end;
      continue;
    }
    if (line === 'PING') onPing();
    offset = lineEnd + 2;
  }
  return buffer.subarray(offset);
}

/** Connects and says CONNECT; headers on, so pull requests can end with a status message. */
export async function natsConnect(port: number): Promise<Socket> {
  const socket = await openSocket(port);
  socket.write(
    'CONNECT {"verbose":false,"pedantic":false,"lang":"bench","headers":true,' +
      '"no_responders":true}\r\n',
  );
  return socket;
}

let requestsSent = 0;

/** Sends a NATS request on `socket` and resolves with the reply payload (JSON API calls). */
export function natsRequest(
  socket: Socket,
  sid: number,
  subject: string,
  body: string,
): Promise<string> {
  requestsSent += 1;
  // Unique across connections: subjects are server-wide.
  const inbox = `_INBOX.req.${requestsSent}`;
  return new Promise((resolvePromise, reject) => {
    let buffer: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffer = parseNats(
        Buffer.concat([buffer, chunk]),
        (message) => {
          if (message.subject !== inbox) return;
          socket.off('data', onData);
          socket.write(`UNSUB ${sid}\r\n`);
          if (message.payload.includes('"error"') || message.status !== '') {
            reject(new Error(`${subject}: ${message.status} ${message.payload}`));
          } else resolvePromise(message.payload);
        },
        () => socket.write('PONG\r\n'),
      );
    };
    socket.on('data', onData);
    socket.write(`SUB ${inbox} ${sid}\r\nPUB ${subject} ${inbox} ${Buffer.byteLength(body)}\r\n`);
    socket.write(`${body}\r\n`);
  });
}

export const natsStream = 'BENCH';
export const natsSubject = 'bench.x';

/** Creates the file-storage stream (idempotent: the same config again is accepted). */
export async function createNatsStream(socket: Socket): Promise<void> {
  const config = JSON.stringify({ name: natsStream, subjects: ['bench.>'], storage: 'file' });
  await natsRequest(socket, 1, `$JS.API.STREAM.CREATE.${natsStream}`, config);
}

/**
 * JetStream publish with a per-message reply inbox `${inbox}.<seq>`; the caller must have
 * subscribed to `${inbox}.>`. The ack is the JetStream PubAck (or an error JSON).
 */
export function natsPublishProtocol(socket: Socket, inbox: string): PipelineProtocol {
  return {
    request: (seq, payload) =>
      Buffer.from(
        `PUB ${natsSubject} ${inbox}.${seq} ${Buffer.byteLength(payload)}\r\n${payload}\r\n`,
      ),
    parse: (buffer) => {
      const acked: number[] = [];
      let errors = 0;
      const rest = parseNats(
        buffer,
        (message) => {
          if (!message.subject.startsWith(`${inbox}.`)) return;
          if (message.status !== '' || message.payload.includes('"error"')) errors += 1;
          else acked.push(Number(message.subject.slice(inbox.length + 1)));
        },
        () => socket.write('PONG\r\n'),
      );
      return { acked, errors, rest };
    },
  };
}

/** Connects, creates the stream and subscribes to `${inbox}.>` for publish acks. */
export async function natsPublisher(port: number, inbox: string): Promise<Socket> {
  const socket = await natsConnect(port);
  await createNatsStream(socket);
  socket.write(`SUB ${inbox}.> 2\r\n`);
  return socket;
}

/**
 * Creates durable pull consumer `name` from the first message, ack policy `all` (acking a
 * message acknowledges every earlier one: the JetStream form of a committed offset).
 */
export async function createNatsPullConsumer(port: number, name: string): Promise<void> {
  const socket = await natsConnect(port);
  try {
    await createNatsStream(socket);
    const config = JSON.stringify({
      stream_name: natsStream,
      config: {
        durable_name: name,
        deliver_policy: 'all',
        ack_policy: 'all',
        max_ack_pending: 20_000,
      },
    });
    await natsRequest(socket, 3, `$JS.API.CONSUMER.DURABLE.CREATE.${natsStream}.${name}`, config);
  } finally {
    socket.destroy();
  }
}

const pullBatch = 500;

/**
 * Reads durable pull consumer `group` (which must exist) on its own connection: one pull
 * request of `pullBatch` at a time; when it is filled or expires, the last message delivered
 * is acked (ack policy all) and the next pull is sent with it.
 */
export async function readNatsPull(
  port: number,
  options: PeerReadOptions,
): Promise<PeerReadResult> {
  const socket = await natsConnect(port);
  const tally = readTally(options);
  const inbox = `_INBOX.pull.${options.group}`;
  const pullBody = JSON.stringify({ batch: pullBatch, expires: 1_000_000_000 });
  const pull = `PUB $JS.API.CONSUMER.MSG.NEXT.${natsStream}.${options.group} ${inbox} ${pullBody.length}\r\n${pullBody}\r\n`;
  let inBatch = 0;
  let lastReply = '';
  let buffer: Buffer = Buffer.alloc(0);
  const nextPull = (complete: boolean): void => {
    const ack = lastReply === '' ? '' : `PUB ${lastReply} 0\r\n\r\n`;
    socket.write(complete ? ack : ack + pull);
    inBatch = 0;
    lastReply = '';
  };
  try {
    return await untilDoneOrTimeout(tally, options.timeoutMs, (done, fail) => {
      socket.on('data', (chunk: Buffer) => {
        buffer = parseNats(
          buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]),
          (message) => {
            if (message.subject === inbox && message.status === '503') {
              fail(new Error(`pull from ${options.group}: no responders (consumer missing)`));
            } else if (message.subject === inbox && message.status !== '') {
              // 408: the pull expired before the batch filled; pull again.
              nextPull(false);
            }
            if (message.subject === inbox) return;
            lastReply = message.reply;
            inBatch += 1;
            const complete = tally.add(message.payload);
            if (complete || inBatch === pullBatch) nextPull(complete);
            if (complete) done();
          },
          () => socket.write('PONG\r\n'),
        );
      });
      socket.write(`SUB ${inbox} 4\r\n${pull}`);
    });
  } finally {
    socket.destroy();
  }
}

let lanesOpened = 0;

/** A paced JetStream publish lane on its own connection, with its own reply inbox. */
export async function openNatsLane(port: number): Promise<OpenedLane> {
  lanesOpened += 1;
  // Subjects are server-wide: a shared inbox would send every lane every lane's acks.
  const inbox = `_INBOX.p${lanesOpened}`;
  const socket = await natsPublisher(port, inbox);
  return {
    make: (acks) => socketLane(socket, natsPublishProtocol(socket, inbox), acks),
    close: async () => {
      socket.destroy();
    },
  };
}
