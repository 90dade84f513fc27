/**
 * The headers a failed record carries on its way through the retry tiers and into the
 * dead-letter topic. Dead letters use the `tributary.dlq.` prefix and the `<topic>.dlq` topic of
 * the broker's own record validation (docs/adr/0020-record-validation.md), so one command
 * (`tributary dlq`) reads both. A retried record keeps every original header (the CloudEvent's,
 * the trace) and adds `tributary.retry.*`; the original topic, partition and offset are the
 * first failure's, kept through every tier.
 */
import { createHash } from 'node:crypto';
import type { KafkaRecord } from './cloud-event.ts';

export const retryHeaders = {
  /** The group whose handler failed: other groups' retry consumers skip the record. */
  group: 'tributary.retry.group',
  /** The attempt the record is due for (2 on the first retry tier). */
  attempt: 'tributary.retry.attempt',
  /** Epoch milliseconds before which the tier's consumer does not hand it to the handler. */
  notBefore: 'tributary.retry.not-before',
  error: 'tributary.retry.error',
} as const;

export const deadLetterHeaders = {
  /** The error's message (the broker writes its validation reason here). */
  reason: 'tributary.dlq.reason',
  errorName: 'tributary.dlq.error',
  /** sha256 of the stack without its message, first 16 hex digits: groups the same bug. */
  stackDigest: 'tributary.dlq.stack-digest',
  attempts: 'tributary.dlq.attempts',
  group: 'tributary.dlq.group',
  topic: 'tributary.dlq.topic',
  partition: 'tributary.dlq.partition',
  offset: 'tributary.dlq.offset',
  time: 'tributary.dlq.time',
} as const;

/** The first failure's place, carried by retried records. */
export const originHeaders = {
  topic: 'tributary.origin.topic',
  partition: 'tributary.origin.partition',
  offset: 'tributary.origin.offset',
} as const;

export interface RecordOrigin {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

export function retryTopic(topic: string, tier: number): string {
  return `${topic}.retry.${tier}`;
}

export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** Digest of where an error was thrown, not of its message, so ids in messages do not split it. */
export function stackDigest(error: unknown): string {
  const stack = error instanceof Error ? (error.stack ?? error.name) : String(error);
  const frames = stack
    .split('\n')
    .filter((line) => line.trimStart().startsWith('at '))
    .map((line) => line.trim().replace(/:\d+:\d+\)?$/, ''));
  const name = error instanceof Error ? error.name : typeof error;
  return createHash('sha256')
    .update([name, ...frames].join('\n'))
    .digest('hex')
    .slice(0, 16);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function headerText(record: KafkaRecord, name: string): string | undefined {
  return record.headers.get(name)?.toString('utf8');
}

/** Where the record first failed: its origin headers, else the place it was read from. */
export function originOf(record: KafkaRecord, readFrom: RecordOrigin): RecordOrigin {
  const topic = headerText(record, originHeaders.topic);
  const partition = headerText(record, originHeaders.partition);
  const offset = headerText(record, originHeaders.offset);
  if (topic === undefined || partition === undefined || offset === undefined) return readFrom;
  return { topic, partition: Number(partition), offset: BigInt(offset) };
}

/** `record`'s headers without any earlier retry or dead-letter bookkeeping, plus `extra`. */
export function withHeaders(
  record: KafkaRecord,
  extra: Readonly<Record<string, string>>,
): Map<string, Buffer> {
  const headers = new Map<string, Buffer>();
  for (const [name, value] of record.headers) {
    if (name.startsWith('tributary.retry.') || name.startsWith('tributary.dlq.')) continue;
    headers.set(name, value);
  }
  for (const [name, value] of Object.entries(extra)) headers.set(name, Buffer.from(value));
  return headers;
}
