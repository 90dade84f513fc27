/**
 * Consumer handlers for typed events: `on(contract, handler)` then `start()`. A group's records
 * are handled partition by partition: one partition's records one at a time in offset order
 * (so one aggregate's events in order), partitions concurrently. With a `pg.Pool`, each handler
 * runs inside a database transaction that first records the event id
 * (processed-events.ts): a redelivered event is skipped, and the handler's writes commit with
 * the id or not at all.
 *
 * Failures never block a partition: a record whose handler throws is re-published to
 * `<topic>.retry.<n>` (tier n waits `retryDelaysMs[n-1]` before handing it back, in its own
 * consumer group) and after the last tier to `<topic>.dlq` with headers saying why
 * (failure-headers.ts); then the offset moves on. A record that cannot be decoded (not a
 * CloudEvent, data not matching the contract) goes to the dead-letter topic at once: retrying
 * cannot fix it. Records of an event type with no handler are skipped.
 */
import type pg from 'pg';
import { CloudEventFormatError, type CloudEvent } from './cloud-event.ts';
import type { EventContract } from './event-contract.ts';
import { EventValidationError } from './event-contract.ts';
import { EventProducer } from './event-producer.ts';
import {
  deadLetterHeaders,
  deadLetterTopic,
  errorMessage,
  headerText,
  originHeaders,
  originOf,
  retryHeaders,
  retryTopic,
  stackDigest,
  withHeaders,
} from './failure-headers.ts';
import { ensureTopics, type KafkaConnection } from './kafka-connection.ts';
import { ConsumerLoop, type ConsumedRecord, type PartitionLag } from './consumer-loop.ts';
import { createProcessedEventsTable, processOnce } from './processed-events.ts';
import {
  endAndCommitted,
  seedGroupOffsets,
  type PartitionProgress,
  type ReplayProgress,
} from './replay.ts';
import { contextFromTraceHeaders, inSpan } from './trace-context.ts';
import { ensureContextManager } from './trace-context.ts';
import { setTimeout as sleep } from 'node:timers/promises';

export interface HandlerContext {
  /** The transaction the event id is recorded in (with a `pool`): write side effects here. */
  readonly db: pg.PoolClient | undefined;
  /** 1 on first delivery, n on the (n-1)th retry tier. */
  readonly attempt: number;
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

export type EventHandler<T> = (event: CloudEvent<T>, context: HandlerContext) => Promise<void>;

export interface EventConsumerOptions extends KafkaConnection {
  readonly groupId: string;
  /** Needed to read values framed with a schema id. */
  readonly schemaRegistryUrl?: string;
  /** Handlers run in a transaction that records the event id (idempotent consumption). */
  readonly pool?: pg.Pool;
  /** Delay of each retry tier; `[]` sends failures straight to the dead-letter topic. */
  readonly retryDelaysMs?: readonly number[];
  /**
   * Where partitions without a committed offset start: `earliest` (default), `latest`, or a
   * time (the first record at or after it, by the log's timestamps): a replay into a new read
   * model uses a new group and `earliest` or a time.
   */
  readonly startFrom?: 'earliest' | 'latest' | Date;
  /** Records read ahead per partition before fetching pauses. Default 256. */
  readonly maxQueuedPerPartition?: number;
  /** Partitions of the retry and dead-letter topics created on start. Default 1. */
  readonly failureTopicPartitions?: number;
  /** How long the group waits for a silent member (a crashed process). Default 10,000. */
  readonly sessionTimeoutMs?: number;
  /** Errors of the consumer itself (not handler failures). Default: written to stderr. */
  readonly onError?: (error: unknown) => void;
}

export type ConsumerStatus = 'idle' | 'running' | 'stopping' | 'stopped';

export interface ConsumerHealth {
  readonly status: ConsumerStatus;
  readonly groupId: string;
  /** Whether every consumer of the group (main and retry tiers) is in the group. */
  readonly healthy: boolean;
  readonly lag: readonly PartitionLag[];
  readonly totalLag: number;
  readonly inFlight: number;
  readonly counts: Readonly<ConsumerCounts>;
}

export interface ConsumerCounts {
  handled: number;
  duplicates: number;
  retried: number;
  deadLettered: number;
  skipped: number;
}

const defaultRetryDelaysMs = [1_000, 10_000, 60_000];
const defaultMaxQueuedPerPartition = 256;

interface Registration {
  readonly contract: EventContract<unknown>;
  readonly handler: EventHandler<unknown>;
}

export class EventConsumer {
  readonly #options: EventConsumerOptions;
  readonly #handlers = new Map<string, Registration>();
  readonly #loops: ConsumerLoop[] = [];
  readonly #counts: ConsumerCounts = {
    handled: 0,
    duplicates: 0,
    retried: 0,
    deadLettered: 0,
    skipped: 0,
  };
  /** Next offset to handle per `topic/partition` of the main group, for replay progress. */
  readonly #positions = new Map<string, bigint>();
  /** The first offset handled per partition since start: where a replay's progress counts from. */
  readonly #firstOffsets = new Map<string, bigint>();
  #producer: EventProducer | undefined;
  #status: ConsumerStatus = 'idle';
  readonly #stopping = new AbortController();

  constructor(options: EventConsumerOptions) {
    ensureContextManager();
    this.#options = options;
  }

  /** Registers the handler of `contract`'s event type (one per type); before `start`. */
  on<T>(contract: EventContract<T>, handler: EventHandler<T>): this {
    if (this.#status !== 'idle') throw new Error('register handlers before start()');
    if (this.#handlers.has(contract.type)) throw new Error(`${contract.type}: handled twice`);
    this.#handlers.set(contract.type, {
      contract: contract as EventContract<unknown>,
      handler: handler as EventHandler<unknown>,
    });
    return this;
  }

  get #retryDelaysMs(): readonly number[] {
    return this.#options.retryDelaysMs ?? defaultRetryDelaysMs;
  }

  get #topics(): string[] {
    return [...new Set([...this.#handlers.values()].map(({ contract }) => contract.topic))];
  }

  /** Creates the failure topics and the processed-events table, then joins the groups. */
  async start(): Promise<void> {
    if (this.#status !== 'idle') throw new Error('start() called twice');
    if (this.#handlers.size === 0) throw new Error('no handler registered');
    this.#status = 'running';
    const topics = this.#topics;
    const tiers = this.#retryDelaysMs.map((_, index) => index + 1);
    await ensureTopics(
      this.#options,
      topics.flatMap((topic) => [
        deadLetterTopic(topic),
        ...tiers.map((n) => retryTopic(topic, n)),
      ]),
      { partitions: this.#options.failureTopicPartitions ?? 1 },
    );
    if (this.#options.pool !== undefined) await createProcessedEventsTable(this.#options.pool);
    const startFrom = this.#options.startFrom;
    if (startFrom instanceof Date) {
      await seedGroupOffsets(this.#options, this.#options.groupId, topics, startFrom);
    }
    this.#producer = new EventProducer({ ...this.#options, source: 'tributary-sdk' });
    const loops = [this.#loop(this.#options.groupId, topics, 0)];
    for (const tier of tiers) {
      const tierTopics = topics.map((topic) => retryTopic(topic, tier));
      loops.push(this.#loop(`${this.#options.groupId}.retry.${tier}`, tierTopics, tier));
    }
    this.#loops.push(...loops);
    await Promise.all(loops.map((loop) => loop.start()));
  }

  #loop(groupId: string, topics: string[], tier: number): ConsumerLoop {
    return new ConsumerLoop({
      connection: this.#options,
      groupId,
      topics,
      startFrom: tier === 0 && this.#options.startFrom === 'latest' ? 'latest' : 'earliest',
      maxQueuedPerPartition: this.#options.maxQueuedPerPartition ?? defaultMaxQueuedPerPartition,
      handle: (record) => this.#handle(record, tier),
      ...(this.#options.sessionTimeoutMs === undefined
        ? {}
        : { sessionTimeoutMs: this.#options.sessionTimeoutMs }),
      onError: this.#options.onError ?? ((error) => console.error('tributary-sdk:', error)),
    });
  }

  async #handle(record: ConsumedRecord, tier: number): Promise<void> {
    await this.#handleRecord(record, tier);
    if (tier !== 0) return;
    const key = `${record.topic}/${record.partition}`;
    if (!this.#firstOffsets.has(key)) this.#firstOffsets.set(key, record.offset);
    this.#positions.set(key, record.offset + 1n);
  }

  async #handleRecord(record: ConsumedRecord, tier: number): Promise<void> {
    if (tier > 0) {
      if (headerText(record, retryHeaders.group) !== this.#options.groupId) return;
      const notBefore = Number(headerText(record, retryHeaders.notBefore) ?? 0);
      const waitMs = notBefore - Date.now();
      if (waitMs > 0) await sleep(waitMs, undefined, { signal: this.#stopping.signal });
    }
    const attempt = Number(headerText(record, retryHeaders.attempt) ?? 1);
    const origin = originOf(record, record);
    const codec = this.#producer?.codec;
    if (codec === undefined) throw new Error('consumer not started');
    const type = codec.typeOf(record);
    const registration = type === undefined ? undefined : this.#handlers.get(type);
    if (type !== undefined && registration === undefined) {
      this.#counts.skipped += 1;
      return;
    }
    let event: CloudEvent<unknown>;
    try {
      if (registration === undefined) throw new CloudEventFormatError('not a CloudEvent');
      event = await codec.decode(registration.contract, record);
    } catch (error: unknown) {
      if (!isPoison(error)) throw error;
      await this.#deadLetter(record, origin, error, attempt);
      return;
    }
    try {
      await this.#runHandler(registration, event, { ...origin, attempt, record });
    } catch (error: unknown) {
      if (attempt <= this.#retryDelaysMs.length) await this.#retry(record, origin, error, attempt);
      else await this.#deadLetter(record, origin, error, attempt);
    }
  }

  async #runHandler(
    registration: Registration,
    event: CloudEvent<unknown>,
    place: {
      topic: string;
      partition: number;
      offset: bigint;
      attempt: number;
      record: ConsumedRecord;
    },
  ): Promise<void> {
    const parent = contextFromTraceHeaders(event);
    const pool = this.#options.pool;
    const context = (db: pg.PoolClient | undefined): HandlerContext => ({
      db,
      attempt: place.attempt,
      topic: place.topic,
      partition: place.partition,
      offset: place.offset,
    });
    await inSpan(
      `process ${event.type}`,
      { kind: 'consumer', parent, attributes: { 'messaging.destination.name': place.topic } },
      async () => {
        if (pool === undefined) {
          await registration.handler(event, context(undefined));
          this.#counts.handled += 1;
          return;
        }
        const group = this.#options.groupId;
        const fresh = await processOnce(pool, { group, id: event.id, type: event.type }, (db) =>
          registration.handler(event, context(db)),
        );
        if (fresh) this.#counts.handled += 1;
        else this.#counts.duplicates += 1;
      },
    );
  }

  async #retry(
    record: ConsumedRecord,
    origin: { topic: string; partition: number; offset: bigint },
    error: unknown,
    attempt: number,
  ): Promise<void> {
    const delayMs = this.#retryDelaysMs[attempt - 1] ?? 0;
    const headers = withHeaders(record, {
      [retryHeaders.group]: this.#options.groupId,
      [retryHeaders.attempt]: String(attempt + 1),
      [retryHeaders.notBefore]: String(Date.now() + delayMs),
      [retryHeaders.error]: errorMessage(error).slice(0, 1_000),
      [originHeaders.topic]: origin.topic,
      [originHeaders.partition]: String(origin.partition),
      [originHeaders.offset]: String(origin.offset),
    });
    await this.#send(retryTopic(origin.topic, attempt), record, headers);
    this.#counts.retried += 1;
  }

  async #deadLetter(
    record: ConsumedRecord,
    origin: { topic: string; partition: number; offset: bigint },
    error: unknown,
    attempts: number,
  ): Promise<void> {
    const headers = withHeaders(record, {
      [deadLetterHeaders.reason]: errorMessage(error).slice(0, 1_000),
      [deadLetterHeaders.errorName]: error instanceof Error ? error.name : typeof error,
      [deadLetterHeaders.stackDigest]: stackDigest(error),
      [deadLetterHeaders.attempts]: String(attempts),
      [deadLetterHeaders.group]: this.#options.groupId,
      [deadLetterHeaders.topic]: origin.topic,
      [deadLetterHeaders.partition]: String(origin.partition),
      [deadLetterHeaders.offset]: String(origin.offset),
      [deadLetterHeaders.time]: new Date().toISOString(),
    });
    for (const name of Object.values(originHeaders)) headers.delete(name);
    await this.#send(deadLetterTopic(origin.topic), record, headers);
    this.#counts.deadLettered += 1;
  }

  async #send(topic: string, record: ConsumedRecord, headers: Map<string, Buffer>): Promise<void> {
    if (this.#producer === undefined) throw new Error('consumer not started');
    await this.#producer.send([{ topic, key: record.key, value: record.value, headers }]);
  }

  /** State, lag per partition and counts, for the service's `/healthz`. */
  async health(): Promise<ConsumerHealth> {
    const main = this.#loops[0];
    const lag = main === undefined ? [] : await main.lag().catch(() => []);
    return {
      status: this.#status,
      groupId: this.#options.groupId,
      healthy: this.#status === 'running' && this.#loops.every((loop) => loop.isActive()),
      lag,
      totalLag: lag.reduce((sum, entry) => sum + entry.lag, 0),
      inFlight: this.#loops.reduce((sum, loop) => sum + loop.inFlight, 0),
      counts: { ...this.#counts },
    };
  }

  /**
   * Resolves once the group has handled every record up to the log end offsets of the moment
   * it is called (a replay has caught up with history; live records keep coming after);
   * progress counts from the first offset this consumer handled per partition. Calls
   * `onProgress` every `intervalMs` (default 1,000) and at the end.
   */
  async caughtUp(
    options: { onProgress?: (progress: ReplayProgress) => void; intervalMs?: number } = {},
  ): Promise<ReplayProgress> {
    const topics = this.#topics;
    const { ends } = await endAndCommitted(this.#options, this.#options.groupId, topics);
    const starts = new Map<string, bigint>();
    for (;;) {
      // Committed offsets cover partitions other members of the group handle.
      const { committed } = await endAndCommitted(this.#options, this.#options.groupId, topics);
      const partitions: PartitionProgress[] = [];
      for (const topic of topics) {
        (ends.get(topic) ?? []).forEach((end, partition) => {
          const handled = this.#positions.get(`${topic}/${partition}`) ?? 0n;
          const idle = this.#loops[0]?.idlePosition(topic, partition) ?? 0n;
          const local = idle > handled ? idle : handled;
          const known = committed.get(topic)?.[partition] ?? -1n;
          const position = local > known ? local : known >= 0n ? known : 0n;
          const key = `${topic}/${partition}`;
          if (!starts.has(key)) {
            const first = this.#firstOffsets.get(key) ?? position;
            starts.set(key, first < end ? first : end);
          }
          partitions.push({ topic, partition, position, end });
        });
      }
      const progress = replayProgress(partitions, starts);
      options.onProgress?.(progress);
      if (progress.done) return progress;
      if (this.#status !== 'running') throw new Error(`consumer ${this.#status} before caught up`);
      await sleep(options.intervalMs ?? 1_000);
    }
  }

  /**
   * Graceful shutdown: stops fetching, lets in-flight handlers finish (retry waits are cut
   * short: their records are redelivered from the last commit), commits, leaves the groups.
   */
  async close(): Promise<void> {
    if (this.#status === 'stopped' || this.#status === 'stopping') return;
    this.#status = 'stopping';
    this.#stopping.abort();
    await Promise.allSettled(this.#loops.map((loop) => loop.close()));
    await this.#producer?.close();
    this.#status = 'stopped';
  }
}

function replayProgress(
  partitions: PartitionProgress[],
  starts: ReadonlyMap<string, bigint>,
): ReplayProgress {
  let handled = 0;
  let total = 0;
  for (const entry of partitions) {
    const start = starts.get(`${entry.topic}/${entry.partition}`) ?? 0n;
    const reached = entry.position < entry.end ? entry.position : entry.end;
    total += Number(entry.end - start);
    handled += Number(reached > start ? reached - start : 0n);
  }
  const done = partitions.every((entry) => entry.position >= entry.end);
  return { partitions, handled, total, done };
}

function isPoison(error: unknown): boolean {
  return (
    error instanceof CloudEventFormatError ||
    error instanceof EventValidationError ||
    error instanceof SyntaxError
  );
}
