/**
 * Redis Streams over raw RESP2 for the peer runs (Debian has no python3-redis here and the suite
 * avoids extra dependencies): XADD as a pipelined protocol, and a consumer-group reader that
 * reads with XREADGROUP and acknowledges each batch with XACK pipelined with the next read.
 * Every run uses the one stream key `bench`.
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

export const redisStream = 'bench';

export type RespValue = string | number | null | RespValue[] | { error: string };

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

/** The (id, first field value) entries of an XREAD(GROUP) reply for one stream; [] if none. */
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

/** XADD to `bench`, one reply per request in order (the ack: an entry id, or an error). */
export function redisXaddProtocol(): PipelineProtocol {
  let answered = 0;
  return {
    request: (_seq, payload) => respCommand(['XADD', redisStream, '*', 'v', payload]),
    parse: (buffer) => {
      const acked: number[] = [];
      let errors = 0;
      let offset = 0;
      for (;;) {
        const reply = respReplyEnd(buffer, offset);
        if (reply.end < 0) break;
        if (reply.error) errors += 1;
        else acked.push(answered);
        answered += 1;
        offset = reply.end;
      }
      return { acked, errors, rest: buffer.subarray(offset) };
    },
  };
}

/** Sends one command and resolves with its reply; the socket must have nothing else pending. */
export function redisCall(socket: Socket, words: readonly string[]): Promise<RespValue> {
  return new Promise((resolvePromise, reject) => {
    let buffer: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      const parsed = parseResp(buffer, 0);
      if (parsed === undefined) return;
      socket.off('data', onData);
      const value = parsed.value;
      if (value !== null && typeof value === 'object' && 'error' in value) {
        reject(new Error(`${words[0] ?? ''}: ${value.error}`));
      } else resolvePromise(value);
    };
    socket.on('data', onData);
    socket.write(respCommand(words));
  });
}

/** Creates consumer group `group` on `bench` (and the stream), reading from its first entry. */
export async function createRedisGroup(port: number, group: string): Promise<void> {
  const socket = await openSocket(port);
  try {
    await redisCall(socket, ['XGROUP', 'CREATE', redisStream, group, '0', 'MKSTREAM']);
  } finally {
    socket.destroy();
  }
}

const readCount = '500';

/**
 * Reads group `group` (which must exist) on its own connection: XREADGROUP ... > with BLOCK,
 * and each batch's XACK pipelined with the next read. With appendfsync always, both the read
 * (it moves the group's cursor and fills its pending list) and the XACK are in the AOF fsync'd
 * before the replies.
 */
export async function readRedisGroup(
  port: number,
  options: PeerReadOptions,
): Promise<PeerReadResult> {
  const socket = await openSocket(port);
  const tally = readTally(options);
  const read = respCommand([
    'XREADGROUP',
    'GROUP',
    options.group,
    'reader',
    'COUNT',
    readCount,
    'BLOCK',
    '100',
    'STREAMS',
    redisStream,
    '>',
  ]);
  let buffer: Buffer = Buffer.alloc(0);
  try {
    return await untilDoneOrTimeout(tally, options.timeoutMs, (done, fail) => {
      socket.on('data', (chunk: Buffer) => {
        buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
        for (;;) {
          const parsed = parseResp(buffer, 0);
          if (parsed === undefined) break;
          buffer = buffer.subarray(parsed.end);
          // XACK answers with an integer; the reads answer with entries or null (timeout).
          if (typeof parsed.value === 'number') continue;
          const value = parsed.value;
          if (value !== null && typeof value === 'object' && 'error' in value) {
            fail(new Error(`XREADGROUP: ${value.error}`));
            return;
          }
          const ids: string[] = [];
          let complete = false;
          for (const entry of xreadEntries(parsed.value)) {
            ids.push(entry.id);
            complete = tally.add(entry.value) || complete;
          }
          const ack =
            ids.length > 0 ? [respCommand(['XACK', redisStream, options.group, ...ids])] : [];
          socket.write(Buffer.concat(complete ? ack : [...ack, read]));
          if (complete) done();
        }
      });
      socket.write(read);
    });
  } finally {
    socket.destroy();
  }
}

/** A paced XADD lane on its own connection. */
export async function openRedisLane(port: number): Promise<OpenedLane> {
  const socket = await openSocket(port);
  return {
    make: (acks) => socketLane(socket, redisXaddProtocol(), acks),
    close: async () => {
      socket.destroy();
    },
  };
}
