/**
 * TransactionCoordinator: the state of every transactional id, as a pure state machine (no I/O,
 * no clock, no id allocation: time and fresh producer ids are passed in). It follows Kafka's
 * TransactionCoordinator:
 *
 *   Empty / CompleteCommit / CompleteAbort --AddPartitions|AddOffsets--> Ongoing
 *   Ongoing --EndTxn(commit)--> PrepareCommit --markers written--> CompleteCommit
 *   Ongoing --EndTxn(abort) | timeout | new InitProducerId--> PrepareAbort --> CompleteAbort
 *
 * Transaction version 2 (KIP-890 part 2) is served beside the classic protocol: a transaction is
 * started implicitly by the client's first transactional Produce (v12) or TxnOffsetCommit (v5),
 * and every EndTxn v5 bumps the producer epoch (its markers carry the bumped epoch, which the
 * client continues with; an exhausted epoch moves to a fresh producer id). A retried EndTxn v5
 * is recognised by its epoch being the one before the bump.
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
  /**
   * transactional.id.expiration.ms: a transactional id with no transaction open and no request
   * for this long is forgotten (a tombstone), as Kafka does; its next InitProducerId starts over.
   */
  readonly idExpirationMs: number;
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
  | (Producer & {
      readonly kind: 'addPartitions';
      readonly partitions: readonly TopicPartition[];
      /** 2 when a Produce v12 adds the partition implicitly (KIP-890 part 2). */
      readonly transactionVersion?: number;
    })
  | (Producer & { readonly kind: 'addOffsets'; readonly groupId: string })
  | (Producer & {
      readonly kind: 'txnOffsetCommit';
      readonly groupId: string;
      readonly offsets: readonly Omit<PendingOffset, 'groupId'>[];
      /** TxnOffsetCommit v5 adds the group itself (KIP-890 part 2: no AddOffsetsToTxn). */
      readonly implicitAdd: boolean;
    })
  | (Producer & {
      readonly kind: 'endTxn';
      readonly committed: boolean;
      /** 2 for EndTxn v5: bump the epoch. */
      readonly transactionVersion: number;
      /** A never-used producer id, for a version-2 EndTxn whose epoch is exhausted; else -1. */
      readonly freshProducerId: bigint;
    })
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
  /** InitProducerId's answer, and EndTxn v5's: the id and epoch the producer continues with. */
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

  /** Does this producer's EndTxn v5 need a fresh producer id (its epoch is exhausted)? */
  endNeedsFreshProducerId(transactionalId: string): boolean {
    const txn = this.#transactions.get(transactionalId);
    return txn !== undefined && txn.state === 'Ongoing' && epochExhausted(txn.producerEpoch);
  }

  /** Is the partition in this producer's Ongoing transaction already (no implicit add needed)? */
  isInTransaction(producerId: bigint, producerEpoch: number, target: TopicPartition): boolean {
    return this.verifyPartition(producerId, producerEpoch, target) === ErrorCode.NONE;
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
        this.#add(result, command, now, command.transactionVersion ?? 0);
        break;
      case 'addOffsets':
        this.#add(result, command, now, 0);
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
      this.#prepare(result, { ...txn, producerEpoch: fencedEpoch(txn) }, 'abort', now);
      result.errorCode = ErrorCode.CONCURRENT_TRANSACTIONS;
      return;
    }
    const exhausted = epochExhausted(txn.producerEpoch);
    const producerId = exhausted ? command.freshProducerId : txn.producerId;
    const producerEpoch = exhausted ? 0 : txn.producerEpoch + 1;
    const next = emptyTransaction(txn.transactionalId, producerId, producerEpoch);
    this.#save(result, {
      ...next,
      timeoutMs: command.timeoutMs,
      lastUpdateTimestampMs: now,
      previousProducerId: exhausted ? txn.producerId : -1n,
    });
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
    /** The protocol of a transaction this starts. */
    transactionVersion: number,
  ): void {
    const txn = this.#transactions.get(command.transactionalId);
    result.errorCode = this.#producerError(txn, command);
    if (txn === undefined || result.errorCode !== ErrorCode.NONE) return;
    const draft: Draft = { ...txn, lastUpdateTimestampMs: now };
    if (txn.state !== 'Ongoing') {
      Object.assign(draft, { state: 'Ongoing', txnStartTimestampMs: now });
      Object.assign(draft, { partitions: [], groupIds: [], pendingOffsets: [] });
      draft.transactionVersion = transactionVersion;
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
    let txn = this.#transactions.get(command.transactionalId);
    result.errorCode = this.#producerError(txn, command);
    if (txn === undefined || result.errorCode !== ErrorCode.NONE) return;
    if (
      command.implicitAdd &&
      (txn.state !== 'Ongoing' || !txn.groupIds.includes(command.groupId))
    ) {
      this.#add(result, { ...command, kind: 'addOffsets' }, now, 2);
      txn = this.#transactions.get(command.transactionalId);
      if (txn === undefined) return;
    }
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
    const preparing = command.committed ? 'PrepareCommit' : 'PrepareAbort';
    const done = command.committed ? 'CompleteCommit' : 'CompleteAbort';
    if (txn !== undefined && isRetriedEndTxnV2(txn, command)) {
      if (txn.state === preparing || txn.state === done) {
        Object.assign(result, continuingProducer(txn));
        result.awaitCompletion = txn.state === preparing;
      } else {
        result.errorCode = ErrorCode.INVALID_TXN_STATE;
      }
      return;
    }
    const error = this.#producerError(txn, command);
    const retryOfPrepared = error === ErrorCode.CONCURRENT_TRANSACTIONS && txn?.state === preparing;
    if (txn === undefined || error !== ErrorCode.NONE) {
      // A retried EndTxn while its own completion runs waits for that completion.
      result.errorCode = retryOfPrepared ? ErrorCode.NONE : error;
      result.awaitCompletion = retryOfPrepared;
      return;
    }
    // A classic retry after completion gets the same answer; after a version-2 completion the
    // epoch moved on, so the current epoch ending again names no transaction.
    if (txn.state === done && txn.transactionVersion !== 2) return;
    if (txn.state !== 'Ongoing') {
      result.errorCode = ErrorCode.INVALID_TXN_STATE;
      return;
    }
    let ending: TransactionMetadata = txn;
    if (command.transactionVersion === 2) {
      const exhausted = epochExhausted(txn.producerEpoch);
      if (exhausted && command.freshProducerId < 0n) {
        result.errorCode = ErrorCode.CONCURRENT_TRANSACTIONS;
        return;
      }
      ending = {
        ...txn,
        transactionVersion: 2,
        producerEpoch: txn.producerEpoch + 1,
        nextProducerId: exhausted ? command.freshProducerId : -1n,
      };
    }
    this.#prepare(result, ending, command.committed ? 'commit' : 'abort', now);
    Object.assign(result, continuingProducer(ending));
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
    const moved = txn.nextProducerId >= 0n;
    this.#save(result, {
      ...txn,
      ...continuingProducer(txn),
      nextProducerId: -1n,
      previousProducerId: moved ? txn.producerId : txn.previousProducerId,
      state,
      partitions: [],
      groupIds: [],
      pendingOffsets: [],
      txnStartTimestampMs: -1,
      lastUpdateTimestampMs: now,
    });
  }

  /**
   * transaction.timeout.ms: abort (and fence) transactions open for longer; forget idle
   * transactional ids after transactional.id.expiration.ms.
   */
  #expire(result: MutableResult, now: number): void {
    for (const txn of this.#transactions.values()) {
      if (isIdle(txn) && txn.lastUpdateTimestampMs + this.#options.idExpirationMs <= now) {
        const tombstone = { transactionalId: txn.transactionalId, value: null };
        this.replay(tombstone);
        result.records.push(tombstone);
        continue;
      }
      if (txn.state !== 'Ongoing' || txn.txnStartTimestampMs + txn.timeoutMs > now) continue;
      this.#prepare(result, { ...txn, producerEpoch: fencedEpoch(txn) }, 'abort', now);
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
    transactionVersion: 0,
    nextProducerId: -1n,
    previousProducerId: -1n,
  };
}

/** No transaction open or completing: the id may expire. */
function isIdle(txn: TransactionMetadata): boolean {
  return txn.state === 'Empty' || txn.state === 'CompleteCommit' || txn.state === 'CompleteAbort';
}

/** Kafka never hands out the last epoch, so a fencing bump is always possible. */
function epochExhausted(epoch: number): boolean {
  return epoch >= producerEpochMax - 1;
}

/** The fencing bump; at the last epoch Kafka keeps it (the next session gets a new id). */
function bumpedEpoch(epoch: number): number {
  return epoch < producerEpochMax ? epoch + 1 : epoch;
}

/**
 * The epoch a fencing abort (timeout, new session) writes its markers with. A version-2
 * transaction is bumped twice, as Kafka does, so the fenced client's EndTxn, one epoch behind,
 * is not taken for the retry of a completed EndTxn v5.
 */
function fencedEpoch(txn: TransactionMetadata): number {
  const once = bumpedEpoch(txn.producerEpoch);
  return txn.transactionVersion === 2 ? bumpedEpoch(once) : once;
}

/** The id and epoch the producer goes on with once `txn`'s completion is durable. */
function continuingProducer(txn: TransactionMetadata): {
  producerId: bigint;
  producerEpoch: number;
} {
  return txn.nextProducerId >= 0n
    ? { producerId: txn.nextProducerId, producerEpoch: 0 }
    : { producerId: txn.producerId, producerEpoch: txn.producerEpoch };
}

/**
 * Is this EndTxn the retry of one that completed (or is completing) a version-2 transaction? Its
 * epoch is the one before the bump, or, when the bump ran out of epochs, the last epoch of the
 * producer id the transaction moved away from.
 */
function isRetriedEndTxnV2(txn: TransactionMetadata, command: Producer): boolean {
  if (txn.transactionVersion !== 2 || txn.state === 'Ongoing' || txn.state === 'Empty') {
    return false;
  }
  const bumped =
    txn.producerId === command.producerId && txn.producerEpoch === command.producerEpoch + 1;
  const overflowed =
    txn.previousProducerId === command.producerId &&
    command.producerEpoch === producerEpochMax - 1 &&
    txn.producerEpoch === 0;
  return bumped || overflowed;
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
