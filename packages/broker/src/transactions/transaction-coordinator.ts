/**
 * TransactionCoordinator: the state of every transactional id, as a pure state machine (no I/O,
 * no clock, no id allocation: time and fresh producer ids are passed in). It follows Kafka's
 * classic (transaction version 0/1) TransactionCoordinator:
 *
 *   Empty / CompleteCommit / CompleteAbort --AddPartitions|AddOffsets--> Ongoing
 *   Ongoing --EndTxn(commit)--> PrepareCommit --markers written--> CompleteCommit
 *   Ongoing --EndTxn(abort) | timeout | new InitProducerId--> PrepareAbort --> CompleteAbort
 *
 * `apply` returns the records to persist (the whole new state of the transactional id) and, on
 * entering a Prepare state, a `TransactionCompletion`: the markers the runtime must write to
 * every partition of the transaction and the group offsets to apply, after which it submits a
 * `complete` command. Invariants: a transactional id maps to one producer id at a time; the
 * epoch only grows for a producer id (a new session or a fencing abort bumps it, and an exhausted
 * epoch moves to a fresh producer id); while in a Prepare state no request may change the
 * transaction (CONCURRENT_TRANSACTIONS). Replay of the records rebuilds the same state; the
 * Prepare states left by a crash are finished by `pendingCompletions`.
 */
import { ErrorCode } from '@tributary/protocol';
import type {
  PendingOffset,
  TopicPartition,
  TransactionMetadata,
  TransactionRecord,
  TransactionState,
} from './transaction-records.ts';

/** Kafka's Short.MaxValue: the last epoch is never handed out, so fencing can still bump. */
const producerEpochMax = 0x7fff;

export interface TransactionCoordinatorOptions {
  /** transaction.max.timeout.ms: a producer asking for more gets INVALID_TRANSACTION_TIMEOUT. */
  readonly maxTimeoutMs: number;
}

interface Producer {
  readonly transactionalId: string;
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

export type TransactionCommand =
  | (Producer & {
      readonly kind: 'initProducerId';
      readonly timeoutMs: number;
      /** A never-used producer id, taken if the transactional id is new or its epoch ran out. */
      readonly freshProducerId: bigint;
    })
  | (Producer & { readonly kind: 'addPartitions'; readonly partitions: readonly TopicPartition[] })
  | (Producer & { readonly kind: 'addOffsets'; readonly groupId: string })
  | (Producer & {
      readonly kind: 'txnOffsetCommit';
      readonly groupId: string;
      readonly offsets: readonly Omit<PendingOffset, 'groupId'>[];
    })
  | (Producer & { readonly kind: 'endTxn'; readonly committed: boolean })
  /** Internal: the markers and offsets of a completion are durable. */
  | (Producer & { readonly kind: 'complete' })
  | { readonly kind: 'tick' };

/** What the runtime must do to finish a transaction that entered a Prepare state. */
export interface TransactionCompletion {
  readonly transactionalId: string;
  readonly producerId: bigint;
  /** The epoch the markers carry (the bumped one when the abort fenced the producer). */
  readonly producerEpoch: number;
  readonly result: 'commit' | 'abort';
  readonly partitions: readonly TopicPartition[];
  /** Offsets to apply to their groups (commit only). */
  readonly offsets: readonly PendingOffset[];
}

export interface TransactionResult {
  readonly errorCode: number;
  /** InitProducerId's answer. */
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly records: TransactionRecord[];
  readonly completions: TransactionCompletion[];
  /** EndTxn that started a completion: answer only when that completion is durable. */
  readonly awaitCompletion: boolean;
}

type Draft = { -readonly [K in keyof TransactionMetadata]: TransactionMetadata[K] };

export class TransactionCoordinator {
  readonly #transactions = new Map<string, TransactionMetadata>();
  readonly #byProducerId = new Map<bigint, string>();
  readonly #options: TransactionCoordinatorOptions;

  constructor(options: TransactionCoordinatorOptions) {
    this.#options = options;
  }

  /** Read-only view for tests, produce verification and the operator tools. */
  get transactions(): ReadonlyMap<string, TransactionMetadata> {
    return this.#transactions;
  }

  apply(command: TransactionCommand, now: number): TransactionResult {
    const result: MutableResult = {
      errorCode: ErrorCode.NONE,
      producerId: -1n,
      producerEpoch: -1,
      records: [],
      completions: [],
      awaitCompletion: false,
    };
    switch (command.kind) {
      case 'initProducerId':
        this.#initProducerId(result, command, now);
        break;
      case 'addPartitions':
      case 'addOffsets':
        this.#add(result, command, now);
        break;
      case 'txnOffsetCommit':
        this.#txnOffsetCommit(result, command, now);
        break;
      case 'endTxn':
        this.#endTxn(result, command, now);
        break;
      case 'complete':
        this.#complete(result, command, now);
        break;
      case 'tick':
        this.#expire(result, now);
        break;
    }
    return result;
  }

  /** Rebuilds state from one persisted record, in log order. */
  replay(record: TransactionRecord): void {
    const previous = this.#transactions.get(record.transactionalId);
    if (previous !== undefined) this.#byProducerId.delete(previous.producerId);
    if (record.value === null) {
      this.#transactions.delete(record.transactionalId);
      return;
    }
    this.#transactions.set(record.transactionalId, record.value);
    this.#byProducerId.set(record.value.producerId, record.transactionalId);
  }

  /** The completions of transactions left in a Prepare state (after replay). */
  pendingCompletions(): TransactionCompletion[] {
    const pending: TransactionCompletion[] = [];
    for (const txn of this.#transactions.values()) {
      if (txn.state === 'PrepareCommit' || txn.state === 'PrepareAbort') {
        pending.push(completionOf(txn));
      }
    }
    return pending;
  }

  /**
   * KIP-890 part 1: may this producer append transactional data to the partition? Only if its
   * transaction is Ongoing with this epoch and the partition was added to it.
   */
  verifyPartition(producerId: bigint, producerEpoch: number, target: TopicPartition): number {
    const id = this.#byProducerId.get(producerId);
    const txn = id === undefined ? undefined : this.#transactions.get(id);
    if (txn === undefined) return ErrorCode.INVALID_TXN_STATE;
    if (producerEpoch < txn.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    if (txn.state !== 'Ongoing' || producerEpoch !== txn.producerEpoch) {
      return ErrorCode.INVALID_TXN_STATE;
    }
    const added = txn.partitions.some(
      (p) => p.topic === target.topic && p.partition === target.partition,
    );
    return added ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
  }

  #initProducerId(
    result: MutableResult,
    command: Extract<TransactionCommand, { kind: 'initProducerId' }>,
    now: number,
  ): void {
    if (command.timeoutMs <= 0 || command.timeoutMs > this.#options.maxTimeoutMs) {
      result.errorCode = ErrorCode.INVALID_TRANSACTION_TIMEOUT;
      return;
    }
    const txn = this.#transactions.get(command.transactionalId);
    if (txn === undefined) {
      const created = emptyTransaction(command.transactionalId, command.freshProducerId, 0);
      this.#save(result, { ...created, timeoutMs: command.timeoutMs, lastUpdateTimestampMs: now });
      result.producerId = command.freshProducerId;
      result.producerEpoch = 0;
      return;
    }
    // KIP-360: a producer naming its current id and epoch may re-initialise; others are fenced.
    if (
      command.producerId >= 0n &&
      (command.producerId !== txn.producerId || command.producerEpoch !== txn.producerEpoch)
    ) {
      result.errorCode = ErrorCode.PRODUCER_FENCED;
      return;
    }
    if (txn.state === 'PrepareCommit' || txn.state === 'PrepareAbort') {
      result.errorCode = ErrorCode.CONCURRENT_TRANSACTIONS;
      return;
    }
    if (txn.state === 'Ongoing') {
      // Fence the old session and abort what it left open; the client retries and then gets
      // its new epoch (Kafka answers CONCURRENT_TRANSACTIONS the same way).
      this.#prepare(
        result,
        { ...txn, producerEpoch: bumpedEpoch(txn.producerEpoch) },
        'abort',
        now,
      );
      result.errorCode = ErrorCode.CONCURRENT_TRANSACTIONS;
      return;
    }
    const exhausted = txn.producerEpoch >= producerEpochMax - 1;
    const producerId = exhausted ? command.freshProducerId : txn.producerId;
    const producerEpoch = exhausted ? 0 : txn.producerEpoch + 1;
    const next = emptyTransaction(txn.transactionalId, producerId, producerEpoch);
    this.#save(result, { ...next, timeoutMs: command.timeoutMs, lastUpdateTimestampMs: now });
    result.producerId = producerId;
    result.producerEpoch = producerEpoch;
  }

  /** The checks every request of a running producer passes first; NONE if it may go on. */
  #producerError(txn: TransactionMetadata | undefined, command: Producer): number {
    if (txn === undefined || txn.producerId !== command.producerId) {
      return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    }
    if (txn.producerEpoch !== command.producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (txn.state === 'PrepareCommit' || txn.state === 'PrepareAbort') {
      return ErrorCode.CONCURRENT_TRANSACTIONS;
    }
    return ErrorCode.NONE;
  }

  #add(
    result: MutableResult,
    command: Extract<TransactionCommand, { kind: 'addPartitions' | 'addOffsets' }>,
    now: number,
  ): void {
    const txn = this.#transactions.get(command.transactionalId);
    result.errorCode = this.#producerError(txn, command);
    if (txn === undefined || result.errorCode !== ErrorCode.NONE) return;
    const draft: Draft = { ...txn, lastUpdateTimestampMs: now };
    if (txn.state !== 'Ongoing') {
      Object.assign(draft, { state: 'Ongoing', txnStartTimestampMs: now });
      Object.assign(draft, { partitions: [], groupIds: [], pendingOffsets: [] });
    }
    if (command.kind === 'addOffsets') {
      if (!draft.groupIds.includes(command.groupId)) {
        draft.groupIds = [...draft.groupIds, command.groupId];
      }
    } else {
      const partitions = [...draft.partitions];
      for (const wanted of command.partitions) {
        if (!partitions.some((p) => p.topic === wanted.topic && p.partition === wanted.partition)) {
          partitions.push({ topic: wanted.topic, partition: wanted.partition });
        }
      }
      draft.partitions = partitions;
    }
    this.#save(result, draft);
  }

  #txnOffsetCommit(
    result: MutableResult,
    command: Extract<TransactionCommand, { kind: 'txnOffsetCommit' }>,
    now: number,
  ): void {
    const txn = this.#transactions.get(command.transactionalId);
    result.errorCode = this.#producerError(txn, command);
    if (txn === undefined || result.errorCode !== ErrorCode.NONE) return;
    if (txn.state !== 'Ongoing' || !txn.groupIds.includes(command.groupId)) {
      result.errorCode = ErrorCode.INVALID_TXN_STATE;
      return;
    }
    const offsets = txn.pendingOffsets.filter(
      (held) =>
        held.groupId !== command.groupId ||
        !command.offsets.some((o) => o.topic === held.topic && o.partition === held.partition),
    );
    for (const offset of command.offsets) offsets.push({ ...offset, groupId: command.groupId });
    this.#save(result, { ...txn, pendingOffsets: offsets, lastUpdateTimestampMs: now });
  }

  #endTxn(
    result: MutableResult,
    command: Extract<TransactionCommand, { kind: 'endTxn' }>,
    now: number,
  ): void {
    const txn = this.#transactions.get(command.transactionalId);
    const error = this.#producerError(txn, command);
    const retryOfPrepared =
      error === ErrorCode.CONCURRENT_TRANSACTIONS &&
      txn?.state === (command.committed ? 'PrepareCommit' : 'PrepareAbort');
    if (txn === undefined || error !== ErrorCode.NONE) {
      // A retried EndTxn while its own completion runs waits for that completion.
      result.errorCode = retryOfPrepared ? ErrorCode.NONE : error;
      result.awaitCompletion = retryOfPrepared;
      return;
    }
    const done = command.committed ? 'CompleteCommit' : 'CompleteAbort';
    if (txn.state === done) return; // a retry after completion: same answer
    if (txn.state !== 'Ongoing') {
      result.errorCode = ErrorCode.INVALID_TXN_STATE;
      return;
    }
    this.#prepare(result, txn, command.committed ? 'commit' : 'abort', now);
    result.awaitCompletion = true;
  }

  #complete(
    result: MutableResult,
    command: Extract<TransactionCommand, { kind: 'complete' }>,
    now: number,
  ): void {
    const txn = this.#transactions.get(command.transactionalId);
    const preparing = txn?.state === 'PrepareCommit' || txn?.state === 'PrepareAbort';
    if (
      txn === undefined ||
      !preparing ||
      txn.producerId !== command.producerId ||
      txn.producerEpoch !== command.producerEpoch
    ) {
      result.errorCode = ErrorCode.INVALID_TXN_STATE;
      return;
    }
    const state: TransactionState =
      txn.state === 'PrepareCommit' ? 'CompleteCommit' : 'CompleteAbort';
    this.#save(result, {
      ...txn,
      state,
      partitions: [],
      groupIds: [],
      pendingOffsets: [],
      txnStartTimestampMs: -1,
      lastUpdateTimestampMs: now,
    });
  }

  /** transaction.timeout.ms: abort (and fence) transactions open for longer. */
  #expire(result: MutableResult, now: number): void {
    for (const txn of this.#transactions.values()) {
      if (txn.state !== 'Ongoing' || txn.txnStartTimestampMs + txn.timeoutMs > now) continue;
      this.#prepare(
        result,
        { ...txn, producerEpoch: bumpedEpoch(txn.producerEpoch) },
        'abort',
        now,
      );
    }
  }

  #prepare(
    result: MutableResult,
    txn: TransactionMetadata,
    outcome: 'commit' | 'abort',
    now: number,
  ): void {
    const state = outcome === 'commit' ? 'PrepareCommit' : 'PrepareAbort';
    const prepared: TransactionMetadata = { ...txn, state, lastUpdateTimestampMs: now };
    this.#save(result, prepared);
    result.completions.push(completionOf(prepared));
  }

  #save(result: MutableResult, txn: TransactionMetadata): void {
    const record = { transactionalId: txn.transactionalId, value: txn };
    this.replay(record);
    result.records.push(record);
  }
}

type MutableResult = { -readonly [K in keyof TransactionResult]: TransactionResult[K] };

function emptyTransaction(
  transactionalId: string,
  producerId: bigint,
  producerEpoch: number,
): TransactionMetadata {
  return {
    transactionalId,
    producerId,
    producerEpoch,
    timeoutMs: 60_000,
    state: 'Empty',
    partitions: [],
    groupIds: [],
    pendingOffsets: [],
    txnStartTimestampMs: -1,
    lastUpdateTimestampMs: -1,
  };
}

/** The fencing bump; at the last epoch Kafka keeps it (the next session gets a new id). */
function bumpedEpoch(epoch: number): number {
  return epoch < producerEpochMax ? epoch + 1 : epoch;
}

function completionOf(txn: TransactionMetadata): TransactionCompletion {
  const commit = txn.state === 'PrepareCommit';
  return {
    transactionalId: txn.transactionalId,
    producerId: txn.producerId,
    producerEpoch: txn.producerEpoch,
    result: commit ? 'commit' : 'abort',
    partitions: txn.partitions,
    offsets: commit ? txn.pendingOffsets : [],
  };
}
