/**
 * Reading and re-driving a dead-letter topic (`<topic>.dlq`): the records the SDK's consumers
 * gave up on and those the broker's record validation refused (docs/adr/0020), both described
 * by `tributary.dlq.*` headers. `readDeadLetters` reads from the start to the end offsets seen
 * when it began, without committing anything. `redriveDeadLetters` sends records back to their
 * original topic without the bookkeeping headers (same key, value and CloudEvents headers, so
 * the same event id: consumers that already handled it skip it) and, when redriving all,
 * remembers how far it got in the group `tributary.dlq.redrive`, so a second run sends only
 * newer dead letters.
 */
import { randomUUID } from 'node:crypto';
import { deadLetterHeaders, headerText, withHeaders } from './failure-headers.ts';
import {
  createConsumer,
  fromMessage,
  type KafkaConnection,
  type SdkMessage,
} from './kafka-connection.ts';
import type { ConsumedRecord } from './consumer-loop.ts';
import { EventProducer } from './event-producer.ts';

export interface DeadLetter extends ConsumedRecord {
  readonly reason: string | undefined;
  readonly errorName: string | undefined;
  readonly stackDigest: string | undefined;
  readonly attempts: number | undefined;
  readonly group: string | undefined;
  readonly originalTopic: string | undefined;
  readonly originalPartition: number | undefined;
  readonly originalOffset: bigint | undefined;
  readonly eventId: string | undefined;
  readonly eventType: string | undefined;
}

export const redriveGroup = 'tributary.dlq.redrive';
const readToEndCheckMs = 100;

function toDeadLetter(record: ConsumedRecord): DeadLetter {
  const text = (name: string) => headerText(record, name);
  const number = (name: string) => (text(name) === undefined ? undefined : Number(text(name)));
  const offset = text(deadLetterHeaders.offset);
  return {
    ...record,
    reason: text(deadLetterHeaders.reason),
    errorName: text(deadLetterHeaders.errorName),
    stackDigest: text(deadLetterHeaders.stackDigest),
    attempts: number(deadLetterHeaders.attempts),
    group: text(deadLetterHeaders.group),
    originalTopic: text(deadLetterHeaders.topic),
    originalPartition: number(deadLetterHeaders.partition),
    originalOffset: offset === undefined ? undefined : BigInt(offset),
    eventId: text('ce_id'),
    eventType: text('ce_type'),
  };
}

/**
 * Consumes `topic` as `groupId` up to the end offsets listed at the start, calling `visit` per
 * record in partition order; commits only when `commit` is set.
 */
async function readToEnd(
  connection: KafkaConnection,
  topic: string,
  options: { groupId: string; commit: boolean; visit: (message: SdkMessage) => Promise<void> },
): Promise<void> {
  const consumer = createConsumer(connection, options.groupId);
  try {
    const ends =
      (await consumer.listOffsets({ topics: [topic], isolationLevel: 1 })).get(topic) ?? [];
    const committed = await consumer.listCommittedOffsets({
      topics: [{ topic, partitions: ends.map((_, index) => index) }],
    });
    const starts = committed.get(topic) ?? [];
    const remaining = new Set<number>();
    ends.forEach((end, partition) => {
      if (end > (starts[partition] ?? -1n) && end > 0n) remaining.add(partition);
    });
    if (remaining.size === 0) return;
    const stream = await consumer.consume({
      topics: [topic],
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: false,
      maxWaitTime: 200,
      isolationLevel: 1,
    });
    // Transaction markers are never handed out as records, so a partition is also done when
    // the stream's fetch position has passed the end with nothing of it left to visit.
    const reached = (partition: number) =>
      (stream.offsetsToFetch.get(`${topic}:${partition}`) ?? -1n) >= (ends[partition] ?? 0n);
    try {
      await new Promise<void>((resolve, reject) => {
        let busy = false;
        const check = (): void => {
          // Records already fetched may still wait in the stream's buffer.
          if (busy || stream.readableLength > 0) return;
          for (const partition of remaining) if (reached(partition)) remaining.delete(partition);
          if (remaining.size > 0) return;
          clearInterval(watch);
          resolve();
        };
        const watch = setInterval(check, readToEndCheckMs);
        const fail = (error: unknown): void => {
          clearInterval(watch);
          reject(error);
        };
        stream.on('error', fail);
        // A rejoin the client started from a heartbeat and could not finish.
        consumer.on('error', fail);
        stream.on('data', (message: SdkMessage) => {
          if (message.offset >= (ends[message.partition] ?? 0n) || remaining.size === 0) return;
          busy = true;
          stream.pause();
          void (async () => {
            await options.visit(message);
            if (options.commit) await message.commit();
          })().then(() => {
            busy = false;
            check();
            stream.resume();
          }, fail);
        });
      });
    } finally {
      await stream.close();
    }
  } finally {
    await consumer.close();
  }
}

/** Every dead letter in `topic` (a `.dlq` topic) up to its current end. */
export async function readDeadLetters(
  connection: KafkaConnection,
  topic: string,
): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  await readToEnd(connection, topic, {
    groupId: `tributary.dlq.reader.${randomUUID()}`,
    commit: false,
    visit: async (message) => {
      letters.push(
        toDeadLetter({
          ...fromMessage(message),
          topic: message.topic,
          partition: message.partition,
          offset: message.offset,
          timestamp: message.timestamp,
        }),
      );
    },
  });
  return letters.toSorted((a, b) => a.partition - b.partition || Number(a.offset - b.offset));
}

export interface RedriveOptions {
  /** Only these records (`partition:offset`); default every one not redriven before. */
  readonly only?: readonly string[];
}

/** Sends dead letters back to their original topics; returns what was sent. */
export async function redriveDeadLetters(
  connection: KafkaConnection,
  topic: string,
  options: RedriveOptions = {},
): Promise<DeadLetter[]> {
  const only = options.only === undefined ? undefined : new Set(options.only);
  const letters =
    only === undefined
      ? undefined
      : (await readDeadLetters(connection, topic)).filter((letter) =>
          only.has(`${letter.partition}:${letter.offset}`),
        );
  const producer = new EventProducer({ ...connection, source: 'tributary-dlq' });
  const sent: DeadLetter[] = [];
  const send = async (letter: DeadLetter): Promise<void> => {
    const target = letter.originalTopic ?? topic.replace(/\.dlq$/, '');
    await producer.send([{ ...letter, topic: target, headers: withHeaders(letter, {}) }]);
    sent.push(letter);
  };
  try {
    if (letters !== undefined) {
      for (const letter of letters) await send(letter);
      return sent;
    }
    await readToEnd(connection, topic, {
      groupId: redriveGroup,
      commit: true,
      visit: (message) =>
        send(
          toDeadLetter({
            ...fromMessage(message),
            topic: message.topic,
            partition: message.partition,
            offset: message.offset,
            timestamp: message.timestamp,
          }),
        ),
    });
    return sent;
  } finally {
    await producer.close();
  }
}
