/**
 * RabbitMQ stream queues over AMQP 0-9-1 (amqplib) for the peer runs: one durable stream queue
 * `bench`, publishes on a confirm channel (the confirm comes once the message is written to the
 * stream's segment file, no fsync: streams rely on replication, one node here), and consumers
 * that read from an offset with a prefetch window and ack in batches. Over AMQP a stream
 * consumer's ack only returns prefetch credit; no offset is stored on the server.
 */
import { connect, type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { LaneAcks, OpenedLane, PacedLane } from './peer-paced.ts';
import {
  readTally,
  untilDoneOrTimeout,
  type PeerReadOptions,
  type PeerReadResult,
} from './peer-read.ts';

export const rabbitQueue = 'bench';

export function rabbitConnect(port: number): Promise<ChannelModel> {
  // The private node's built-in account, which RabbitMQ allows from loopback only.
  return connect(`amqp://guest:guest@127.0.0.1:${port}`);
}

export async function assertRabbitStream(channel: Channel): Promise<void> {
  await channel.assertQueue(rabbitQueue, {
    durable: true,
    arguments: { 'x-queue-type': 'stream' },
  });
}

/** A paced lane publishing persistent messages on `channel`; each confirm is the ack. */
export function rabbitConfirmLane(channel: ConfirmChannel, acks: LaneAcks): PacedLane {
  return {
    send: (items) => {
      for (const item of items) {
        channel.sendToQueue(
          rabbitQueue,
          Buffer.from(item.payload),
          { persistent: true },
          (error: unknown) => {
            if (error === null || error === undefined) acks.acked(item.seq);
            else acks.failed();
          },
        );
      }
    },
  };
}

const prefetch = 1000;
const ackEvery = 250;

/**
 * Reads the stream from `offset` ('first' for everything, 'next' for new messages only) on its
 * own connection, acking every `ackEvery` deliveries (multiple) to keep credit flowing.
 */
export async function readRabbitStream(
  port: number,
  offset: 'first' | 'next',
  options: PeerReadOptions,
  onConsuming?: () => void,
): Promise<PeerReadResult> {
  const connection = await rabbitConnect(port);
  try {
    const channel = await connection.createChannel();
    await assertRabbitStream(channel);
    await channel.prefetch(prefetch);
    const tally = readTally(options);
    return await untilDoneOrTimeout(tally, options.timeoutMs, (done, fail) => {
      channel
        .consume(
          rabbitQueue,
          (message) => {
            if (message === null) return;
            const complete = tally.add(message.content.toString('utf8'));
            if (complete || tally.result.count % ackEvery === 0) channel.ack(message, true);
            if (complete) done();
          },
          { noAck: false, consumerTag: options.group, arguments: { 'x-stream-offset': offset } },
        )
        .then(() => onConsuming?.(), fail);
    });
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** A paced publish lane: its own connection and confirm channel. */
export async function openRabbitLane(port: number): Promise<OpenedLane> {
  const connection = await rabbitConnect(port);
  const channel = await connection.createConfirmChannel();
  await assertRabbitStream(channel);
  return {
    make: (acks) => rabbitConfirmLane(channel, acks),
    close: () => connection.close().catch(() => undefined),
  };
}
