/**
 * Runs the TransactionCoordinator against real time and durable storage, in the shape of the
 * GroupRuntime: every command is applied, the records it produced are appended to the internal
 * compacted topic `__transaction_state` (one partition, one batch per command), and the answer is
 * released only once that append and every earlier one is durable.
 *
 * Completing a transaction (after its PrepareCommit/PrepareAbort record is durable): a COMMIT or
 * ABORT control batch with the producer's id and epoch is appended to every partition of the
 * transaction and, for a commit, its group offsets are applied through the group runtime; then a
 * `complete` command moves it to CompleteCommit/CompleteAbort. EndTxn is answered after that.
 * A crash anywhere in between leaves the Prepare record, and `start()` finishes it after replay,
 * so a transaction whose commit was decided becomes wholly visible, and one that never reached
 * PrepareCommit stays invisible until it is aborted (timeout or a new InitProducerId). Writing a
 * marker twice is harmless: the second finds no open transaction of that producer.
 *
 * A failed completion step is retried after `completionRetryMs` for as long as the runtime runs;
 * the transaction stays in its Prepare state (CONCURRENT_TRANSACTIONS) meanwhile.
 */
import { ErrorCode, buildControlBatch } from '@tributary/protocol';
import type { BrokerStorage, PartitionLog } from '@tributary/storage';
import type { GroupRuntime } from '../groups/group-runtime.ts';
import {
  OrderedAppender,
  loadUntilDone,
  openInternalLog,
  replayKeyedRecords,
  type KeyedRecord,
} from '../internal-log.ts';
import type { Logger } from '../logger.ts';
import { txnFieldsOf, txnIndexOf } from './partition-txn-index.ts';
import {
  TransactionCoordinator,
  type TransactionCommand,
  type TransactionCompletion,
  type TransactionResult,
} from './transaction-coordinator.ts';
import {
  decodeTransactionRecord,
  encodeTransactionRecordKey,
  encodeTransactionRecordValue,
  type TopicPartition,
  type TransactionRecord,
} from './transaction-records.ts';

export const transactionStateTopic = '__transaction_state';

export interface TransactionSettings {
  /** transaction.max.timeout.ms (Kafka's default, 15 minutes). */
  readonly maxTimeoutMs: number;
  /** transactional.id.expiration.ms (Kafka's default, 7 days). */
  readonly idExpirationMs: number;
  /** How often transaction timeouts are checked (Kafka: 10 s; shorter keeps tests fast). */
  readonly tickIntervalMs: number;
  /** Wait before retrying a failed completion step. */
  readonly completionRetryMs: number;
}

export const defaultTransactionSettings: TransactionSettings = {
  maxTimeoutMs: 900_000,
  idExpirationMs: 604_800_000,
  tickIntervalMs: 1_000,
  completionRetryMs: 1_000,
};

export interface TransactionRuntimeOptions extends TransactionSettings {
  readonly storage: BrokerStorage;
  readonly groups: GroupRuntime;
  readonly log: Logger;
  now(): number;
  /** Decompression cap when replaying batches. */
  readonly decompressedBatchMaxBytes: number;
  /** Cluster mode, without the `__transaction_state` lease: commands get NOT_COORDINATOR. */
  readonly standby?: boolean;
  /** Cluster mode: markers for partitions led by other brokers go through these. */
  readonly remoteMarkers?: RemoteMarkers;
}

/** How the coordinator reaches partitions led elsewhere (cluster mode). */
export interface RemoteMarkers {
  /**
   * The node leading the partition when it is another broker; undefined when this broker does.
   * Throws while the partition has no live leader (the completion is retried).
   */
  remoteLeaderOf(topic: string, partition: number): number | undefined;
  /** WriteTxnMarkers to `nodeId` for `partitions`; rejects unless every marker was written. */
  send(nodeId: number, marker: TxnMarker, partitions: readonly TopicPartition[]): Promise<void>;
}

/** What a COMMIT or ABORT marker says. */
export interface TxnMarker {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly result: 'commit' | 'abort';
}

/** Thrown by submit when no answer can be given; `errorCode` is what the client gets. */
export class TransactionUnavailableError extends Error {
  readonly errorCode: number;

  constructor(errorCode: number, message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'TransactionUnavailableError';
    this.errorCode = errorCode;
  }
}

const coordinatorCaller = { apiVersion: 0, clientId: 'transaction-coordinator', clientHost: '' };

export class TransactionRuntime {
  readonly #options: TransactionRuntimeOptions;
  #coordinator: TransactionCoordinator;
  /** The running completion per transactional id; resolves when it is durable. */
  readonly #running = new Map<string, Promise<void>>();
  #log: PartitionLog | undefined;
  readonly #appender = new OrderedAppender();
  #loading: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #closing = new AbortController();

  constructor(options: TransactionRuntimeOptions) {
    this.#options = options;
    this.#coordinator = this.#newCoordinator();
  }

  #newCoordinator(): TransactionCoordinator {
    return new TransactionCoordinator({
      maxTimeoutMs: this.#options.maxTimeoutMs,
      idExpirationMs: this.#options.idExpirationMs,
    });
  }

  get coordinator(): TransactionCoordinator {
    return this.#coordinator;
  }

  get loaded(): boolean {
    return this.#log !== undefined;
  }

  /** Cluster mode, on a broker that does not hold the `__transaction_state` lease. */
  get standby(): boolean {
    return this.#options.standby === true;
  }

  /** Loads the transactions in the background; commands are refused meanwhile. */
  start(): Promise<void> {
    if (this.#options.standby === true) return Promise.resolve();
    this.#loading ??= loadUntilDone(() => this.#load(), {
      signal: this.#closing.signal,
      log: this.#options.log,
      what: 'transactions',
    });
    return this.#loading;
  }

  /**
   * Applies a command; resolves once its records are durable (and, for an EndTxn that started
   * or retried a completion, once that completion is durable). Rejects with
   * TransactionUnavailableError while loading or when persisting fails.
   */
  async submit(command: TransactionCommand): Promise<TransactionResult> {
    const log = this.#log;
    if (this.#options.standby === true || this.#closed) {
      throw new TransactionUnavailableError(
        ErrorCode.NOT_COORDINATOR,
        'this broker is not the transaction coordinator',
      );
    }
    if (log === undefined) {
      throw new TransactionUnavailableError(
        ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        'transactions are loading',
      );
    }
    const now = this.#options.now();
    const result = this.#coordinator.apply(command, now);
    await this.#persist(log, result, now);
    this.#startCompletions(result.completions);
    if (result.awaitCompletion && 'transactionalId' in command) {
      await this.#running.get(command.transactionalId);
    }
    return result;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#closing.abort();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#loading;
    await this.#appender.settled();
  }

  #persist(log: PartitionLog, result: TransactionResult, now: number): Promise<unknown> {
    const ready = this.#appender.append(log, result.records.map(keyedRecordOf), now);
    return ready.catch((error: unknown) => {
      this.#options.log.error('persisting transaction records failed', { error: String(error) });
      throw new TransactionUnavailableError(
        ErrorCode.COORDINATOR_NOT_AVAILABLE,
        'transaction state could not be persisted',
        { cause: error },
      );
    });
  }

  #startCompletions(completions: readonly TransactionCompletion[]): void {
    for (const completion of completions) {
      const previous = this.#running.get(completion.transactionalId) ?? Promise.resolve();
      const running = previous.then(() => this.#completeUntilDone(completion));
      this.#running.set(completion.transactionalId, running);
      void running.finally(() => {
        if (this.#running.get(completion.transactionalId) === running) {
          this.#running.delete(completion.transactionalId);
        }
      });
    }
  }

  async #completeUntilDone(completion: TransactionCompletion): Promise<void> {
    while (!this.#closed) {
      try {
        await this.#complete(completion);
        return;
      } catch (error: unknown) {
        this.#options.log.error('completing a transaction failed; retrying', {
          transactionalId: completion.transactionalId,
          error: String(error),
        });
        await new Promise((resolve) => {
          setTimeout(resolve, this.#options.completionRetryMs).unref();
        });
      }
    }
  }

  async #complete(completion: TransactionCompletion): Promise<void> {
    const { storage, remoteMarkers } = this.#options;
    const remote = new Map<number, TopicPartition[]>();
    const local: TopicPartition[] = [];
    for (const target of completion.partitions) {
      const nodeId = remoteMarkers?.remoteLeaderOf(target.topic, target.partition);
      if (nodeId === undefined) local.push(target);
      else remote.set(nodeId, [...(remote.get(nodeId) ?? []), target]);
    }
    await Promise.all([
      ...local.map(async ({ topic, partition }) => {
        const record = storage.getTopic(topic);
        const log = record === undefined ? undefined : storage.partition(record.topicId, partition);
        if (log !== undefined) await writeMarker(log, completion, this.#options.now());
      }),
      ...[...remote].map(([nodeId, targets]) => remoteMarkers?.send(nodeId, completion, targets)),
    ]);
    if (completion.offsets.length > 0) {
      await this.#options.groups.submit(coordinatorCaller, (caller) => ({
        kind: 'txnOffsetApply',
        caller,
        offsets: completion.offsets,
      }));
    }
    const log = this.#log;
    if (log === undefined) throw new Error('transaction state is not loaded');
    const now = this.#options.now();
    const result = this.#coordinator.apply(
      {
        kind: 'complete',
        transactionalId: completion.transactionalId,
        producerId: completion.producerId,
        producerEpoch: completion.producerEpoch,
      },
      now,
    );
    await this.#persist(log, result, now);
  }

  /** Rebuilds the transactions into a new coordinator, kept only if the whole load works. */
  async #load(): Promise<void> {
    const log = await openInternalLog(this.#options.storage, transactionStateTopic);
    const coordinator = this.#newCoordinator();
    const count = await replayKeyedRecords(
      log,
      this.#options.decompressedBatchMaxBytes,
      (key, value) => coordinator.replay(decodeTransactionRecord(key, value)),
    );
    await this.#loadOpenPartitions(coordinator);
    if (this.#closed) return;
    this.#coordinator = coordinator;
    this.#log = log;
    this.#startCompletions(this.#coordinator.pendingCompletions());
    this.#timer = setInterval(() => this.#tick(), this.#options.tickIntervalMs);
    this.#timer.unref();
    this.#options.log.info('transactions loaded', {
      records: count,
      transactions: this.#coordinator.transactions.size,
    });
  }

  #tick(): void {
    const log = this.#log;
    if (log === undefined || this.#closed) return;
    const now = this.#options.now();
    const result = this.#coordinator.apply({ kind: 'tick' }, now);
    if (result.records.length === 0) return;
    this.#persist(log, result, now).then(
      () => this.#startCompletions(result.completions),
      () => undefined,
    );
  }

  /** Builds the LSO index of every partition in an open transaction before produce needs it. */
  async #loadOpenPartitions(coordinator: TransactionCoordinator): Promise<void> {
    const { storage } = this.#options;
    for (const txn of coordinator.transactions.values()) {
      for (const { topic, partition } of txn.partitions) {
        const record = storage.getTopic(topic);
        const log = record === undefined ? undefined : storage.partition(record.topicId, partition);
        if (log !== undefined) await txnIndexOf(log);
      }
    }
  }
}

/** Appends the COMMIT/ABORT marker and, once durable, closes the transaction in the LSO index. */
export async function writeMarker(
  log: PartitionLog,
  completion: TxnMarker,
  now: number,
): Promise<void> {
  const index = await txnIndexOf(log);
  const timestamp = BigInt(now);
  const { producerId, producerEpoch } = completion;
  const batch = buildControlBatch({
    producerId,
    producerEpoch,
    baseOffset: 0n,
    timestamp,
    type: completion.result,
    coordinatorEpoch: 0,
    partitionLeaderEpoch: 0,
  });
  const { baseOffset } = await log.append(batch, {
    lastOffsetDelta: 0,
    maxTimestamp: timestamp,
    recordCount: 1,
    // Base sequence -1 marks a control batch for the idempotent-producer rebuild.
    producer: { producerId, producerEpoch, baseSequence: -1 },
    // Lets the transaction index be rebuilt after a restart without reading this batch.
    txn: txnFieldsOf(true, completion.result),
  });
  index.end(producerId, baseOffset, completion.result);
  // The append woke waiting fetches before the index moved the last stable offset: wake them
  // again, or a read_committed fetch (session or long poll) waits for the next append.
  log.wakeReaders();
}

function keyedRecordOf(record: TransactionRecord): KeyedRecord {
  return { key: encodeTransactionRecordKey(record), value: encodeTransactionRecordValue(record) };
}
