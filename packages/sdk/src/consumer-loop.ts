/**
 * One Kafka consumer of a group and the loop that feeds its records to per-partition queues.
 * Offsets are committed after a record's task settles (the task has handled it, retried it or
 * dead-lettered it), so a crash redelivers at most what was in flight: at-least-once. Fetching
 * pauses while a partition has `maxQueuedPerPartition` records waiting, so memory stays bounded
 * while a slow handler works.
 *
 * `close` stops fetching, lets queued and running tasks finish, commits, and leaves the group.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaRecord } from './cloud-event.ts';
import {
  createConsumer,
  fromMessage,
  type KafkaConnection,
  type SdkConsumer,
  type SdkMessage,
} from './kafka-connection.ts';
import { PartitionQueues } from './partition-queues.ts';

export interface ConsumedRecord extends KafkaRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly timestamp: bigint;
}

export interface ConsumerLoopOptions {
  readonly connection: KafkaConnection;
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a partition without a committed offset starts. */
  readonly startFrom: 'earliest' | 'latest';
  readonly maxQueuedPerPartition: number;
  /** Handles one record; a rejection is logged and the record handled again after a pause. */
  readonly handle: (record: ConsumedRecord, source: RecordSource) => Promise<void>;
  /**
   * `after-handle` (default) commits each record's offset once handled; `transaction` leaves
   * it to the handler, which adds it to a Kafka transaction (exactly-once).
   */
  readonly commit?: 'after-handle' | 'transaction';
  readonly onError: (error: unknown) => void;
  readonly sessionTimeoutMs?: number;
}

const defaultSessionTimeoutMs = 10_000;
const heartbeatIntervalMs = 1_000;
const fetchMaxWaitMs = 500;
const handleRetryBaseMs = 200;
const handleRetryMaxMs = 10_000;
const commitWaitMaxMs = 30_000;

/** The client's own message and consumer, for adding an offset to a transaction. */
export interface RecordSource {
  readonly message: SdkMessage;
  readonly consumer: SdkConsumer;
}

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

export class ConsumerLoop {
  readonly #options: ConsumerLoopOptions;
  #consumer: SdkConsumer;
  readonly #queues = new PartitionQueues();
  #stream: Awaited<ReturnType<SdkConsumer['consume']>> | undefined;
  #paused = false;
  #closing = false;
  #recovery: Promise<void> | undefined;

  constructor(options: ConsumerLoopOptions) {
    this.#options = options;
    this.#consumer = this.#newConsumer();
  }

  /**
   * A consumer of the group whose own failures reach `onError`: the client emits `error` when
   * a rejoin it started from a heartbeat fails past its retries (the coordinator's broker gone),
   * and an emitter's unheard `error` would end the process. Such a member is out of the group,
   * so the loop joins again with a new one.
   */
  #newConsumer(): SdkConsumer {
    const consumer = createConsumer(this.#options.connection, this.#options.groupId);
    consumer.on('error', (error: unknown) => {
      if (this.#closing || consumer !== this.#consumer) return;
      this.#options.onError(error);
      void this.#recover();
    });
    return consumer;
  }

  get inFlight(): number {
    return this.#queues.pending;
  }

  /**
   * Joins the group and starts fetching. A broker that cannot be reached yet (down, restarting,
   * or the group's coordinator moving) is reported to `onError` and tried again after a growing
   * pause, as a running loop does, so a service does not die of an outage at start; an error no
   * retry can fix (authorization, an unsupported API, a bad option) rejects.
   */
  async start(): Promise<void> {
    try {
      await this.#consume();
    } catch (error: unknown) {
      if (this.#closing) throw error;
      if (!isTransient(error)) {
        await this.#consumer.close(true).catch(() => undefined);
        throw error;
      }
      this.#options.onError(error);
      await this.#recover();
    }
  }

  async #consume(): Promise<void> {
    const sessionTimeout = this.#options.sessionTimeoutMs ?? defaultSessionTimeoutMs;
    const owner = this.#consumer;
    const stream = await owner.consume({
      topics: [...this.#options.topics],
      mode: 'committed',
      fallbackMode: this.#options.startFrom,
      autocommit: false,
      sessionTimeout,
      rebalanceTimeout: sessionTimeout,
      heartbeatInterval: heartbeatIntervalMs,
      maxWaitTime: fetchMaxWaitMs,
      // Only committed transactions reach handlers (the outbox relay and EOS use them).
      isolationLevel: 1,
    });
    this.#stream = stream;
    this.#paused = false;
    // A replaced consumer's stream may still hand out what it had fetched; the new member
    // fetches those records again from the committed offsets, in order.
    stream.on('data', (message: SdkMessage) => {
      if (owner === this.#consumer) this.#accept(message, owner);
    });
    stream.on('error', (error: unknown) => {
      if (this.#closing || owner !== this.#consumer) return;
      this.#options.onError(error);
      void this.#recover();
    });
  }

  /**
   * The client destroys its stream when fetching fails past its retries (a broker gone for
   * longer than they last, as while a cluster moves a dead broker's partitions): the member
   * would stay in the group, heartbeating, and never fetch again. So the loop leaves with that
   * consumer and joins again with a new one, after a growing pause, until it consumes. Records
   * already queued still run; their commits may fail, and the partition's next owner gets them
   * again (with a pool, the processed-events table skips them).
   */
  #recover(): Promise<void> {
    // One rejoin at a time, whoever asks (start, the stream, the client's error): two would
    // each make a consumer, and the one not kept would stay in the group holding partitions.
    this.#recovery ??= this.#rejoin().finally(() => {
      this.#recovery = undefined;
    });
    return this.#recovery;
  }

  async #rejoin(): Promise<void> {
    for (let failures = 0; !this.#closing; failures++) {
      await sleep(Math.min(handleRetryMaxMs, handleRetryBaseMs * 2 ** failures));
      if (this.#closing) return;
      await this.#consumer.close(true).catch(() => undefined);
      this.#consumer = this.#newConsumer();
      try {
        await this.#consume();
        return;
      } catch (error: unknown) {
        this.#options.onError(error);
      }
    }
  }

  #accept(message: SdkMessage, consumer: SdkConsumer): void {
    const partition = `${message.topic}/${message.partition}`;
    const record: ConsumedRecord = {
      ...fromMessage(message),
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      timestamp: message.timestamp,
    };
    this.#queues.push(partition, async () => {
      // Closing, or fetched by a consumer #recover replaced: records not started yet are left
      // for the partition's next owner.
      if (this.#closing || consumer !== this.#consumer) return;
      if (!(await this.#handleUntilDone(record, message))) return;
      try {
        if (this.#options.commit !== 'transaction') await this.#commit(message, consumer);
      } catch (error: unknown) {
        // A rebalance took the partition: its new owner resumes from the last commit.
        if (!this.#closing) this.#options.onError(error);
      }
      if (this.#paused && this.#queues.maxSize() <= this.#options.maxQueuedPerPartition / 2) {
        this.#paused = false;
        this.#stream?.resume();
      }
    });
    if (!this.#paused && this.#queues.size(partition) >= this.#options.maxQueuedPerPartition) {
      this.#paused = true;
      this.#stream?.pause();
    }
  }

  /**
   * Commits `message`'s offset through the consumer that fetched it. The client keeps a commit
   * waiting while its consumer is not active (rejoining), and forever once that consumer was
   * replaced: no commit goes through a replaced consumer, and a wait is bounded, so a partition
   * never stops on a commit (a later commit covers the offset; else it is handled again).
   */
  async #commit(message: SdkMessage, consumer: SdkConsumer): Promise<void> {
    if (consumer !== this.#consumer) return;
    const gaveUp = new AbortController();
    const timeout = sleep(commitWaitMaxMs, undefined, { signal: gaveUp.signal }).then(() => {
      throw new Error(`commit of offset ${message.offset} did not settle in ${commitWaitMaxMs} ms`);
    });
    try {
      await Promise.race([message.commit(), timeout]);
    } finally {
      gaveUp.abort();
    }
  }

  /**
   * Runs the handler until it settles; a throw here is the SDK failing to route a failure (the
   * broker unreachable for the retry or dead-letter topic), so the partition waits and tries
   * again rather than commit past a record it could not place. False when closing cut it short.
   */
  async #handleUntilDone(record: ConsumedRecord, message: SdkMessage): Promise<boolean> {
    for (let failures = 0; ; failures++) {
      try {
        await this.#options.handle(record, { message, consumer: this.#consumer });
        return true;
      } catch (error: unknown) {
        if (this.#closing) return false;
        this.#options.onError(error);
        await sleep(Math.min(handleRetryMaxMs, handleRetryBaseMs * 2 ** failures));
        if (this.#closing) return false;
      }
    }
  }

  /**
   * The next offset this member will fetch on `topic`/`partition` when nothing of it is queued
   * or running, else undefined. It moves past transaction markers, which are never handed out
   * as records, so a read_committed consumer's position can reach the log end.
   */
  idlePosition(topic: string, partition: number): bigint | undefined {
    if (this.#queues.size(`${topic}/${partition}`) > 0) return undefined;
    // Records fetched but not handed out yet wait in the stream's buffer.
    if ((this.#stream?.readableLength ?? 0) > 0) return undefined;
    return this.#stream?.offsetsToFetch.get(`${topic}:${partition}`);
  }

  /** Records not yet read per assigned partition (log end minus committed). */
  async lag(): Promise<PartitionLag[]> {
    const lag = await this.#consumer.getLag({ topics: [...this.#options.topics] });
    const answer: PartitionLag[] = [];
    for (const [topic, partitions] of lag) {
      partitions.forEach((value, partition) => {
        if (value >= 0n) answer.push({ topic, partition, lag: Number(value) });
      });
    }
    return answer;
  }

  isActive(): boolean {
    return this.#consumer.isActive();
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#stream?.pause();
    await this.#queues.drained();
    await this.#stream?.close().catch(() => undefined);
    await this.#consumer.close();
  }
}

/**
 * Whether `error` is one a later attempt can get past: every error it carries (the client nests
 * them, one per attempt) is a network failure or timeout, or a Kafka error code the client marks
 * retriable (a coordinator loading or moving, a rebalance).
 */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.every((inner: unknown) => isTransient(inner));
  }
  const { code, canRetry } = error as { code?: unknown; canRetry?: unknown };
  if (code === 'PLT_KFK_NETWORK') return true;
  return code === 'PLT_KFK_PROTOCOL' && canRetry === true;
}
