/**
 * Runs the GroupCoordinator state machine against real time and durable storage. Every command
 * goes through `submit`: the coordinator applies it, the records it produced are appended to the
 * internal compacted topic `__consumer_offsets` (one batch per command), and only once that
 * append (and every earlier one) is durable are the answers released, in order. So a committed
 * offset is on disk before the client hears "committed", and replay after a crash sees at least
 * everything any client was told.
 *
 * Startup: `start()` creates the topic if missing and replays its one partition from the log
 * start to the high watermark; until that finishes every command is refused with
 * COORDINATOR_LOAD_IN_PROGRESS. A timer ticks the coordinator to expire sessions and end
 * rebalances. A failed append fails every answer waiting on it (COORDINATOR_NOT_AVAILABLE): the
 * in-memory state may then be ahead of the log, which only a restart (replay) repairs.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '@tributary/protocol';
import type { BrokerStorage, PartitionLog } from '@tributary/storage';
import {
  OrderedAppender,
  loadUntilDone,
  openInternalLog,
  replayKeyedRecords,
  type KeyedRecord,
} from '../internal-log.ts';
import type { Logger } from '../logger.ts';
import type { GroupResponse } from './group-apply-context.ts';
import {
  GroupCoordinator,
  type Caller,
  type GroupCommand,
  type GroupCoordinatorOptions,
} from './group-coordinator.ts';
import {
  decodeGroupRecord,
  encodeGroupRecordKey,
  encodeGroupRecordValue,
  type GroupRecord,
} from './group-records.ts';

export const consumerOffsetsTopic = '__consumer_offsets';

/** Who sent a group request; the runtime adds the request id. */
export interface CallerInfo {
  readonly apiVersion: number;
  readonly clientId: string;
  readonly clientHost: string;
}

export interface GroupSettings {
  /** group.initial.rebalance.delay.ms; docs/adr/0003-initial-rebalance-delay.md explains 250. */
  readonly initialRebalanceDelayMs: number;
  /** group.min.session.timeout.ms and group.max.session.timeout.ms (Kafka's defaults). */
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  /** How often sessions and rebalance deadlines are checked. */
  readonly tickIntervalMs: number;
  /** offsets.retention.minutes (Kafka's default, 7 days), in milliseconds. */
  readonly offsetsRetentionMs: number;
  /** group.consumer.session.timeout.ms: KIP-848 members are fenced after this silence. */
  readonly consumerSessionTimeoutMs: number;
  /** group.consumer.heartbeat.interval.ms: how often KIP-848 members are told to heartbeat. */
  readonly consumerHeartbeatIntervalMs: number;
}

export const defaultGroupSettings: GroupSettings = {
  initialRebalanceDelayMs: 250,
  minSessionTimeoutMs: 6_000,
  maxSessionTimeoutMs: 1_800_000,
  tickIntervalMs: 100,
  offsetsRetentionMs: 604_800_000,
  consumerSessionTimeoutMs: 45_000,
  consumerHeartbeatIntervalMs: 5_000,
};

export interface GroupRuntimeOptions extends GroupSettings {
  readonly storage: BrokerStorage;
  readonly log: Logger;
  now(): number;
  /** Decompression cap when replaying batches. */
  readonly decompressedBatchMaxBytes: number;
  /**
   * Cluster mode, on a broker that does not hold the `__consumer_offsets` lease: every command
   * is refused with NOT_COORDINATOR, so clients ask FindCoordinator again.
   */
  readonly standby?: boolean;
}

/** Thrown by submit when the answer cannot be given; `errorCode` is what the client gets. */
export class GroupUnavailableError extends Error {
  readonly errorCode: number;

  constructor(errorCode: number, message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'GroupUnavailableError';
    this.errorCode = errorCode;
  }
}

interface Waiter {
  resolve(response: GroupResponse): void;
  reject(error: unknown): void;
}

export class GroupRuntime {
  readonly #options: GroupRuntimeOptions;
  readonly #coordinatorOptions: GroupCoordinatorOptions;
  #coordinator: GroupCoordinator;
  readonly #waiters = new Map<number, Waiter>();
  #nextRequestId = 1;
  #log: PartitionLog | undefined;
  readonly #appender = new OrderedAppender();
  #loading: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #closing = new AbortController();

  constructor(options: GroupRuntimeOptions) {
    this.#options = options;
    const coordinatorOptions: GroupCoordinatorOptions = {
      initialRebalanceDelayMs: options.initialRebalanceDelayMs,
      minSessionTimeoutMs: options.minSessionTimeoutMs,
      maxSessionTimeoutMs: options.maxSessionTimeoutMs,
      newMemberId: (clientId) => `${clientId}-${randomUUID()}`,
      offsetsRetentionMs: options.offsetsRetentionMs,
      consumerSessionTimeoutMs: options.consumerSessionTimeoutMs,
      consumerHeartbeatIntervalMs: options.consumerHeartbeatIntervalMs,
    };
    this.#coordinatorOptions = coordinatorOptions;
    this.#coordinator = new GroupCoordinator(coordinatorOptions);
  }

  get coordinator(): GroupCoordinator {
    return this.#coordinator;
  }

  get loaded(): boolean {
    return this.#log !== undefined;
  }

  /** Loads the groups in the background; commands wait for nothing, they are refused meanwhile. */
  start(): Promise<void> {
    if (this.#options.standby === true) return Promise.resolve();
    this.#loading ??= loadUntilDone(() => this.#load(), {
      signal: this.#closing.signal,
      log: this.#options.log,
      what: 'consumer groups',
    });
    return this.#loading;
  }

  /**
   * Applies a command and resolves with its answer once the records behind it are durable.
   * Rejects with GroupUnavailableError while loading or when persisting fails.
   */
  submit(info: CallerInfo, make: (caller: Caller) => GroupCommand): Promise<GroupResponse> {
    if (this.#options.standby === true || this.#closed) {
      const error = new GroupUnavailableError(
        ErrorCode.NOT_COORDINATOR,
        'this broker is not the group coordinator',
      );
      return Promise.reject(error);
    }
    if (this.#log === undefined) {
      const error = new GroupUnavailableError(
        ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        'consumer groups are loading',
      );
      return Promise.reject(error);
    }
    const requestId = this.#nextRequestId++;
    const answer = new Promise<GroupResponse>((resolve, reject) => {
      this.#waiters.set(requestId, { resolve, reject });
    });
    this.#run(make({ ...info, requestId }));
    return answer;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#closing.abort();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#loading;
    await this.#appender.settled();
  }

  #run(command: GroupCommand): void {
    const log = this.#log;
    if (log === undefined) return;
    const now = this.#options.now();
    const result = this.#coordinator.apply(command, now);
    const ready = this.#appender.append(log, result.records.map(keyedRecordOf), now);
    if (result.completions.length === 0) return;
    const waiters = result.completions.map((completion) => {
      const waiter = this.#waiters.get(completion.requestId);
      this.#waiters.delete(completion.requestId);
      return { waiter, response: completion.response };
    });
    ready.then(
      () => {
        for (const { waiter, response } of waiters) waiter?.resolve(response);
      },
      (error: unknown) => {
        this.#options.log.error('persisting group records failed', { error: String(error) });
        const failure = new GroupUnavailableError(
          ErrorCode.COORDINATOR_NOT_AVAILABLE,
          'group state could not be persisted',
          { cause: error },
        );
        for (const { waiter } of waiters) waiter?.reject(failure);
      },
    );
  }

  /** Rebuilds the groups from the partition into a new coordinator, kept only if it all works. */
  async #load(): Promise<void> {
    const log = await openInternalLog(this.#options.storage, consumerOffsetsTopic);
    const coordinator = new GroupCoordinator(this.#coordinatorOptions);
    const count = await replayKeyedRecords(
      log,
      this.#options.decompressedBatchMaxBytes,
      (key, value) => coordinator.replay(decodeGroupRecord(key, value)),
    );
    if (this.#closed) return;
    this.#coordinator = coordinator;
    this.#log = log;
    this.#timer = setInterval(() => this.#run({ kind: 'tick' }), this.#options.tickIntervalMs);
    this.#timer.unref();
    this.#options.log.info('consumer groups loaded', {
      records: count,
      groups: this.#coordinator.groups.size,
    });
  }
}

function keyedRecordOf(record: GroupRecord): KeyedRecord {
  return { key: encodeGroupRecordKey(record), value: encodeGroupRecordValue(record) };
}
