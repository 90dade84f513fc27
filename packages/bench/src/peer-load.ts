/**
 * Minimal pipelined load generators for the peers, speaking their wire protocols directly
 * (Debian has no python3-redis/python3-nats on this machine and the suite avoids extra
 * dependencies): Redis XADD over RESP, and NATS JetStream publish-with-ack. Both keep `window`
 * requests in flight on one connection, the same shape as a Kafka producer's pipelining, and
 * count only acknowledged messages. A run ends at its duration or after `maxRecords` acks.
 */
import type { Socket } from 'node:net';
import { summarizeMs, type LatencySummary } from './latency-summary.ts';
import { natsPublisher, natsPublishProtocol } from './peer-nats.ts';
import type { PipelineProtocol } from './peer-paced.ts';
import { assertRabbitStream, rabbitConnect, rabbitQueue } from './peer-rabbit.ts';
import { redisXaddProtocol } from './peer-redis.ts';
import { openSocket } from './peer-servers.ts';

/** 1 KiB values, as every workload uses. */
const valueBytes = 1024;

/** How long a load runs, how many requests it keeps unacknowledged, and when it stops early. */
export interface PipelinedLimits {
  durationMs: number;
  window: number;
  maxRecords: number;
}

export interface PipelinedResult {
  acked: number;
  errors: number;
  seconds: number;
  ackLatency: LatencySummary;
}

async function runPipelined(
  socket: Socket,
  protocol: PipelineProtocol,
  limits: PipelinedLimits,
): Promise<PipelinedResult> {
  const payload = 'v'.repeat(valueBytes);
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let nextSeq = 0;
  let acked = 0;
  let errors = 0;
  let buffer: Buffer = Buffer.alloc(0);
  const start = performance.now();
  const deadline = start + limits.durationMs;
  const sendMore = (): void => {
    const chunks: Buffer[] = [];
    while (
      sentAt.size < limits.window &&
      nextSeq < limits.maxRecords &&
      performance.now() < deadline
    ) {
      sentAt.set(nextSeq, performance.now());
      chunks.push(protocol.request(nextSeq, payload));
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
      if (sentAt.size === 0) {
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

export async function redisXaddLoad(
  port: number,
  limits: PipelinedLimits,
): Promise<PipelinedResult> {
  const socket = await openSocket(port);
  try {
    return await runPipelined(socket, redisXaddProtocol(), limits);
  } finally {
    socket.destroy();
  }
}

export async function natsJetStreamLoad(
  port: number,
  limits: PipelinedLimits,
): Promise<PipelinedResult> {
  const inbox = '_INBOX.b';
  const socket = await natsPublisher(port, inbox);
  try {
    return await runPipelined(socket, natsPublishProtocol(socket, inbox), limits);
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
  limits: PipelinedLimits,
): Promise<PipelinedResult> {
  const { durationMs, window, maxRecords } = limits;
  const connection = await rabbitConnect(port);
  try {
    const channel = await connection.createConfirmChannel();
    await assertRabbitStream(channel);
    const value = Buffer.alloc(valueBytes, 0x76);
    const latencies: number[] = [];
    let acked = 0;
    let errors = 0;
    let started = 0;
    const start = performance.now();
    const deadline = start + durationMs;
    const lane = async (): Promise<void> => {
      while (performance.now() < deadline && started < maxRecords) {
        started += 1;
        const sent = performance.now();
        await new Promise<void>((done) => {
          channel.sendToQueue(rabbitQueue, value, { persistent: true }, (error: unknown) => {
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
