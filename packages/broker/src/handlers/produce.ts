/**
 * Produce (key 0), v3-11 (v0-2 are advertised for librdkafka's feature checks and refused per
 * batch: they carry message formats 0 and 1).
 *
 * Each partition's records stay the producer's bytes: they are split into batches and checked
 * (magic, CRC32C, sizes, timestamps) without decoding records, then appended; the log rewrites the
 * base offset in place. The answer waits for the WAL fsync that covers the batch (acks=1 and
 * acks=all mean the same on one broker). acks=0 gets no response at all.
 *
 * Idempotent producers: batches with a producer id are checked against the partition's
 * producer state (producers/partition-producer-state.ts, Kafka's sequence rules) and recorded in
 * it in the same synchronous step that starts their append, so requests pipelined on any number
 * of connections are checked against the batches still in flight. A retry of one of a producer's
 * last five batches is answered with the original base offset once that batch is durable, and is
 * not stored again. The producer numbers go to storage with the batch (BatchMeta.producer), which
 * is how the state is rebuilt after a restart.
 *
 * Transactional batches (KIP-890 part 1): accepted only from a producer whose transaction is
 * Ongoing with the batch's epoch and includes the partition (AddPartitionsToTxn), else
 * INVALID_TXN_STATE (INVALID_PRODUCER_EPOCH for an older epoch). The first one of a transaction
 * on a partition opens it in the partition's LSO index, in the same synchronous step. From v12
 * (KIP-890 part 2) the produce adds the partition to the transaction itself first
 * (transactions/implicit-add.ts); produces to a partition wait behind an add in flight there.
 *
 * Internal topics (the coordinators' logs) are written by the broker only: a client's produce
 * there is INVALID_TOPIC_EXCEPTION, as in Kafka.
 *
 * Records are decoded in two cases only: compacted topics refuse a record without a key with
 * INVALID_RECORD and per-record errors (compacted-key-check.ts), as Kafka's LogValidator does;
 * topics with record validation on (schema ids, CloudEvents) are checked and handled by their
 * policy (record-validation.ts, produce-validation.ts).
 */
import { LeaderHints } from '../cluster/leader-hints.ts';
import { forwardPartition } from '../cluster/zone-forwarding.ts';
import {
  clientZoneOf,
  forwardTargetOf,
  leaderCheck,
  leadershipOf,
} from '../cluster/partition-routing.ts';
import assert from 'node:assert/strict';
import {
  ErrorCode,
  produceApi,
  readBatchHeader,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  splitBatches,
  type BatchHeader,
  type ProduceRequest,
} from '@tributary/protocol';
import { hasCleanupPolicy, type PartitionLog, type TopicRecord } from '@tributary/storage';
import type { BrokerRuntime } from '../broker-runtime.ts';
import { defineHandler, noResponse, type RequestContext } from '../handler.ts';
import { compactedKeyProblem } from '../compacted-key-check.ts';
import { AclOperation } from '../security/acl-codes.ts';
import {
  authorized,
  topicResource,
  transactionalIdResource,
} from '../security/request-authorization.ts';
import { batchMetaOf, failure, type PartitionAnswer } from './produce-answer.ts';
import { isInternalTopic } from '../internal-topics.ts';
import { validationRulesOf } from '../record-validation.ts';
import { produceValidated } from './produce-validation.ts';
import { quotaThrottleMs } from '../security/request-quotas.ts';
import { toKafkaError } from '../kafka-errors.ts';
import type {
  BatchHandle,
  PartitionProducerState,
  SequencedBatch,
} from '../producers/partition-producer-state.ts';
import { producerStateOf } from '../producers/producer-state-registry.ts';
import { topicConfigOf } from '../topic-config-cache.ts';
import {
  addImplicitly,
  gateOf,
  implicitAddProduceVersion,
  needingImplicitAdd,
} from '../transactions/implicit-add.ts';
import { loadedTxnIndex } from '../transactions/partition-txn-index.ts';
import type { TopicPartition } from '../transactions/transaction-records.ts';

type PartitionData = ProduceRequest['topicData'][number]['partitionData'][number];

const VALID_ACKS = new Set([-1, 0, 1]);

export const produceHandler = defineHandler(produceApi, async (context, request) => {
  const { runtime } = context;
  const txnRefused = produceTxnRefused(context, request.transactionalId);
  const responses = await Promise.all(
    request.topicData.map(async (topicData) => {
      const topic = runtime.storage.getTopic(topicData.name);
      const refusal = txnRefused
        ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        : produceTopicRefusal(context, topicData.name);
      const answers = topicData.partitionData.map((data) =>
        refusal !== undefined
          ? Promise.resolve(failure(data, refusal))
          : VALID_ACKS.has(request.acks)
            ? producePartition(context, topic, data, request.transactionalId)
            : Promise.resolve(
                failure(data, ErrorCode.INVALID_REQUIRED_ACKS, 'acks must be -1, 0 or 1'),
              ),
      );
      return { name: topicData.name, partitionResponses: await Promise.all(answers) };
    }),
  );
  let bytes = 0;
  for (const topicData of request.topicData) {
    for (const data of topicData.partitionData) bytes += data.records?.length ?? 0;
  }
  const throttleTimeMs = quotaThrottleMs(context, 'producer_byte_rate', bytes);
  if (request.acks === 0) return noResponse;
  if (context.apiVersion < 10) return { responses, throttleTimeMs };
  // KIP-951: partitions that moved name their new leader; the response lists its endpoint.
  const hints = new LeaderHints(runtime, clientZoneOf(context.clientId));
  for (const topicResponse of responses) {
    const topic = runtime.storage.getTopic(topicResponse.name);
    for (const answer of topicResponse.partitionResponses) {
      if (topic === undefined || answer.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER) continue;
      const leader = hints.leaderOf(topic.topicId, answer.index);
      if (leader !== undefined) answer.currentLeader = leader;
    }
  }
  return { responses, throttleTimeMs, nodeEndpoints: hints.endpoints() };
});

/** Kafka: a transactional produce needs WRITE on its transactional id (else all partitions). */
function produceTxnRefused(context: RequestContext, transactionalId: string | null): boolean {
  if (transactionalId === null) return false;
  return !authorized(context, AclOperation.WRITE, transactionalIdResource(transactionalId));
}

/** Kafka: WRITE on the topic, checked before whether it exists. */
function produceTopicRefusal(context: RequestContext, name: string): number | undefined {
  const allowed = authorized(context, AclOperation.WRITE, topicResource(name));
  return allowed ? undefined : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
}

/**
 * Validates every batch of one partition, then appends them all. Appends start synchronously (no
 * await before `append`), so requests pipelined on one connection keep their order in the log.
 */
function producePartition(
  context: RequestContext,
  topic: TopicRecord | undefined,
  data: PartitionData,
  transactionalId: string | null,
): Promise<PartitionAnswer> {
  const { runtime, apiVersion } = context;
  const log =
    topic === undefined ? undefined : runtime.storage.partition(topic.topicId, data.index);
  if (topic === undefined || log === undefined) {
    return Promise.resolve(failure(data, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
  }
  const forwardTo = forwardTargetOf(runtime, context.clientId, topic.topicId, data.index);
  const notLeader =
    forwardTo === undefined ? leaderCheck(runtime, topic.topicId, data.index) : undefined;
  if (notLeader !== undefined) {
    return Promise.resolve(failure(data, notLeader.errorCode, notLeader.message));
  }
  if (isInternalTopic(topic.name)) {
    return Promise.resolve(
      failure(data, ErrorCode.INVALID_TOPIC_EXCEPTION, 'cannot append to an internal topic'),
    );
  }
  if (apiVersion < 3) {
    return Promise.resolve(
      failure(
        data,
        ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
        'message formats 0 and 1 are not stored',
      ),
    );
  }
  if (data.records === null || data.records.length === 0) {
    return Promise.resolve(failure(data, ErrorCode.CORRUPT_MESSAGE, 'no records'));
  }
  countCrossZone(context, data.records.length);
  runtime.topicTraffic?.produced(topic.name, data.records.length);
  const split = splitBatches(data.records);
  if ('error' in split)
    return Promise.resolve(failure(data, split.error.code, split.error.message));
  const config = topicConfigOf(topic, context.runtime.storage.topicConfigDefaults);
  const maxMessageBytes = Number(config['max.message.bytes']);
  const logAppendTime = config['message.timestamp.type'] === 'LogAppendTime';
  const now = BigInt(runtime.now());
  // Parsed once: the in-place edits below touch only the leader epoch (outside the header fields
  // read here) and, for LogAppendTime, the timestamps, which batchMetaOf takes from `now`.
  const headers = split.batches.map(readBatchHeader);
  for (const [i, batch] of split.batches.entries()) {
    const header = headers[i];
    assert.ok(header !== undefined);
    const problem = batchProblem(batch, header, { maxMessageBytes, logAppendTime, now, config });
    if (problem !== undefined) return Promise.resolve(failure(data, problem.code, problem.message));
  }
  const keyRefusal = compactedKeyRefusal(runtime, topic.name, config, data, split.batches);
  if (keyRefusal !== undefined) return Promise.resolve(keyRefusal);
  const appendTime = logAppendTime ? now : null;
  const start = (batches: readonly Buffer[], parsed: readonly BatchHeader[]) =>
    startAppend(
      context,
      { topic, log, data, transactionalId, appendTime, forwardTo },
      batches,
      parsed,
    );
  const rules = validationRulesOf(config);
  if (rules === undefined) return start(split.batches, headers);
  return produceValidated(runtime, {
    topic,
    log,
    data,
    batches: split.batches,
    rules,
    // The dead-letter policy may have rewritten batches: their headers are read again.
    start: (batches) =>
      start(batches, batches === split.batches ? headers : batches.map(readBatchHeader)),
  });
}

interface AppendTarget {
  topic: TopicRecord;
  log: PartitionLog;
  data: PartitionData;
  transactionalId: string | null;
  appendTime: bigint | null;
  /** Cluster zone routing: the leader this broker stores the batches for, if any. */
  forwardTo: number | undefined;
}

/** Stamps the leader epoch (and LogAppendTime), then appends here or for the leader. */
function startAppend(
  context: RequestContext,
  target: AppendTarget,
  batches: readonly Buffer[],
  headers: readonly BatchHeader[],
): Promise<PartitionAnswer> {
  const { topic, log, data, transactionalId, appendTime, forwardTo } = target;
  const { leaderEpoch } = leadershipOf(context.runtime, topic.topicId, data.index);
  for (const batch of batches) {
    setPartitionLeaderEpoch(batch, Math.max(0, leaderEpoch));
    if (appendTime !== null) setLogAppendTime(batch, appendTime);
  }
  if (forwardTo !== undefined) {
    return forwardPartition(context, {
      topic,
      data,
      batches,
      headers,
      transactionalId,
      appendTime,
      leaderNode: forwardTo,
    });
  }
  return appendChecked(context, {
    log,
    target: { topic: topic.name, partition: data.index },
    data,
    headers,
    transactionalId,
    produceVersion: context.apiVersion,
    appendTime,
    appendOne: (i) =>
      log.append(batches[i] as Buffer, batchMetaOf(headers[i] as BatchHeader, appendTime)),
  });
}

/** Produce record bytes from a client that said it is in another zone (ZoneTraffic). */
function countCrossZone(context: RequestContext, bytes: number): void {
  const rack = context.runtime.storage.cluster?.rack;
  const zone = clientZoneOf(context.clientId);
  if (rack !== undefined && zone !== undefined && zone !== rack) {
    context.runtime.zoneTraffic.dataBytesIn += bytes;
  }
}

/** What appendChecked needs: the partition, its validated batches' headers, how to append one. */
export interface CheckedAppend {
  log: PartitionLog;
  target: TopicPartition;
  data: Pick<PartitionData, 'index'>;
  headers: readonly BatchHeader[];
  transactionalId: string | null;
  /** The client's Produce version (v12+ adds transactional partitions implicitly). */
  produceVersion: number;
  appendTime: bigint | null;
  /** Starts the append of batch `i` (its bytes here, or stored by another broker). */
  appendOne(i: number): Promise<{ baseOffset: bigint }>;
}

/**
 * The leader's part of a produce, once the batches are valid: the implicit add to a transaction
 * (v12+) and the wait behind adds in flight, then the producer and transaction checks and the
 * appends (appendPartition). Used for the client's own produce and for batches another broker
 * stored for this leader (handlers/forward-append.ts).
 */
export function appendChecked(
  context: RequestContext,
  input: CheckedAppend,
): Promise<PartitionAnswer> {
  const { log, target, data, headers, transactionalId } = input;
  const adding =
    input.produceVersion >= implicitAddProduceVersion && transactionalId !== null
      ? needingImplicitAdd(context, transactionalId, headers, target)
      : undefined;
  const gate = gateOf(log);
  const append = () =>
    appendPartition(context.runtime, log, target, data, headers, input.appendOne, input.appendTime);
  if (adding === undefined && gate === undefined) return append();
  const ready = adding === undefined ? gate : addImplicitly(context, log, adding);
  return Promise.resolve(ready).then((errorCode) =>
    typeof errorCode === 'number' && errorCode !== ErrorCode.NONE
      ? failure(data, errorCode, 'partition could not be added to the transaction')
      : append(),
  );
}

/** A compacted topic's refusal of keyless records (compacted-key-check.ts), or undefined. */
function compactedKeyRefusal(
  runtime: BrokerRuntime,
  topic: string,
  config: Readonly<Record<string, string>>,
  data: PartitionData,
  batches: readonly Buffer[],
): PartitionAnswer | undefined {
  if (!hasCleanupPolicy(config, 'compact')) return undefined;
  const maxDecompressedBytes = runtime.config.decompressedBatchMaxBytes;
  const keys = compactedKeyProblem(batches, { topic, partition: data.index, maxDecompressedBytes });
  if (keys === undefined) return undefined;
  return { ...failure(data, keys.errorCode, keys.errorMessage), recordErrors: keys.recordErrors };
}

/**
 * Checks the validated batches against the producer and transaction state and appends them, in
 * one synchronous step up to the appends.
 */
function appendPartition(
  runtime: BrokerRuntime,
  log: PartitionLog,
  target: TopicPartition,
  data: Pick<PartitionData, 'index'>,
  headers: readonly BatchHeader[],
  appendOne: (i: number) => Promise<{ baseOffset: bigint }>,
  /** The broker's clock for a LogAppendTime topic, else null. */
  appendTime: bigint | null,
): Promise<PartitionAnswer> {
  // Cluster mode with the coordinator elsewhere: no synchronous check is possible, the batch is
  // taken as Kafka did before KIP-890 (docs/cluster.md, what is not done).
  const coordinatorHere = runtime.coordinatorNode('transaction') === runtime.nodeId;
  const verify = (header: BatchHeader): number =>
    coordinatorHere
      ? runtime.transactions.coordinator.verifyPartition(
          header.producerId,
          header.producerEpoch,
          target,
        )
      : ErrorCode.NONE;
  const sequenced = sequenceBatches(log, headers, verify, runtime.now());
  if (sequenced.kind === 'error') {
    return Promise.resolve(failure(data, sequenced.errorCode, sequenced.message));
  }
  const appendTimeMs = appendTime ?? -1n;
  if (sequenced.kind === 'duplicate')
    return answerDuplicate(log, data, sequenced.batch, appendTimeMs);
  const appends = headers.map((_, i) => appendOne(i));
  trackAppends(sequenced.producers, sequenced.handles, appends);
  return settle(log, data, appends, appendTimeMs);
}

type Sequencing =
  | {
      kind: 'append';
      handles: (BatchHandle | undefined)[];
      /** The partition's producer state, if any batch has a producer id. */
      producers: PartitionProducerState | undefined;
    }
  | { kind: 'duplicate'; batch: SequencedBatch }
  | { kind: 'error'; errorCode: number; message: string };

/**
 * Checks the batches' producer sequences and records them as in flight, at the offsets the log
 * is about to give them (appends assign offsets synchronously, in call order). All or nothing:
 * on an error or a duplicate the batches recorded so far are rolled back. Synchronous: the
 * caller starts the appends right after, with no await in between.
 */
function sequenceBatches(
  log: PartitionLog,
  headers: readonly BatchHeader[],
  verifyTransactional: (header: BatchHeader) => number,
  nowMs: number,
): Sequencing {
  const handles: (BatchHandle | undefined)[] = [];
  // Looked up only for batches with a producer id: building it reads the partition's index.
  let producers: PartitionProducerState | undefined;
  const opened: { producerId: bigint; offset: bigint }[] = [];
  let baseOffset = log.logEndOffset;
  let outcome: Sequencing | undefined;
  for (const header of headers) {
    const offset = baseOffset;
    baseOffset += BigInt(header.lastOffsetDelta) + 1n;
    if (header.producerId < 0n) {
      handles.push(undefined);
      continue;
    }
    if (header.isTransactional) {
      const problem = transactionalProblem(log, header, verifyTransactional);
      if (problem !== undefined) {
        outcome = problem;
        break;
      }
      opened.push({ producerId: header.producerId, offset });
    }
    producers ??= producerStateOf(log, nowMs);
    const verdict = producers.check(header);
    if (verdict.kind !== 'append') {
      outcome = verdict;
      break;
    }
    handles.push(producers.begin(header, offset, nowMs));
  }
  if (outcome === undefined) {
    const index = loadedTxnIndex(log);
    for (const { producerId, offset } of opened) index?.begin(producerId, offset);
    return { kind: 'append', handles, producers };
  }
  for (const handle of handles.toReversed()) {
    if (handle !== undefined) producers?.abort(handle);
  }
  return outcome;
}

/** Why a transactional batch may not be appended, or undefined (KIP-890 part 1). */
function transactionalProblem(
  log: PartitionLog,
  header: BatchHeader,
  verifyTransactional: (header: BatchHeader) => number,
): { kind: 'error'; errorCode: number; message: string } | undefined {
  const errorCode = verifyTransactional(header);
  if (errorCode !== ErrorCode.NONE) {
    return { kind: 'error', errorCode, message: 'partition is not in an ongoing transaction' };
  }
  // AddPartitionsToTxn built the index; only a restart in between can leave it unbuilt.
  if (loadedTxnIndex(log) === undefined) {
    return {
      kind: 'error',
      errorCode: ErrorCode.NOT_ENOUGH_REPLICAS,
      message: 'transaction index is loading',
    };
  }
  return undefined;
}

/** Lets retries wait for in-flight batches, and rolls the state back if an append fails. */
function trackAppends(
  producers: PartitionProducerState | undefined,
  handles: readonly (BatchHandle | undefined)[],
  appends: readonly Promise<{ baseOffset: bigint }>[],
): void {
  for (const [i, handle] of handles.entries()) {
    const append = appends[i];
    if (handle === undefined || append === undefined) continue;
    const pending = append.then(
      ({ baseOffset }) => {
        assert.equal(baseOffset, handle.batch.baseOffset, 'append offset differs from prediction');
        handle.batch.pending = undefined;
      },
      (error: unknown) => {
        producers?.abort(handle);
        throw error;
      },
    );
    // Rejections are reported through `appends`; this copy only informs waiting retries.
    pending.catch(() => undefined);
    handle.batch.pending = pending;
  }
}

/** A retry of a recent batch: its original offset, once the original is durable. */
async function answerDuplicate(
  log: PartitionLog,
  data: Pick<PartitionData, 'index'>,
  batch: SequencedBatch,
  logAppendTimeMs: bigint,
): Promise<PartitionAnswer> {
  try {
    await batch.pending;
  } catch (error: unknown) {
    const { errorCode, errorMessage } = toKafkaError(error);
    return failure(data, errorCode, errorMessage);
  }
  return {
    index: data.index,
    errorCode: ErrorCode.NONE,
    baseOffset: batch.baseOffset,
    logAppendTimeMs,
    logStartOffset: log.logStartOffset,
  };
}

async function settle(
  log: PartitionLog,
  data: Pick<PartitionData, 'index'>,
  appends: Promise<{ baseOffset: bigint }>[],
  logAppendTimeMs: bigint,
): Promise<PartitionAnswer> {
  try {
    const results = await Promise.all(appends);
    return {
      index: data.index,
      errorCode: ErrorCode.NONE,
      baseOffset: results[0]?.baseOffset ?? -1n,
      logAppendTimeMs,
      logStartOffset: log.logStartOffset,
    };
  } catch (error: unknown) {
    const { errorCode, errorMessage } = toKafkaError(error);
    return failure(data, errorCode, errorMessage);
  }
}

interface BatchLimits {
  maxMessageBytes: number;
  logAppendTime: boolean;
  now: bigint;
  config: Readonly<Record<string, string>>;
}

function batchProblem(
  batch: Buffer,
  header: BatchHeader,
  limits: BatchLimits,
): { code: number; message: string } | undefined {
  if (batch.length > limits.maxMessageBytes) {
    return {
      code: ErrorCode.MESSAGE_TOO_LARGE,
      message: `batch of ${batch.length} bytes exceeds max.message.bytes ${limits.maxMessageBytes}`,
    };
  }
  if (header.isControl) {
    return { code: ErrorCode.INVALID_RECORD, message: 'clients may not write control batches' };
  }
  if (limits.logAppendTime) return undefined;
  const beforeMaxMs = BigInt(limits.config['message.timestamp.before.max.ms'] ?? '-1');
  const afterMaxMs = BigInt(limits.config['message.timestamp.after.max.ms'] ?? '-1');
  if (beforeMaxMs >= 0n && header.baseTimestamp < limits.now - beforeMaxMs) {
    return { code: ErrorCode.INVALID_TIMESTAMP, message: 'timestamp older than allowed' };
  }
  if (afterMaxMs >= 0n && header.maxTimestamp > limits.now + afterMaxMs) {
    return { code: ErrorCode.INVALID_TIMESTAMP, message: 'timestamp too far in the future' };
  }
  return undefined;
}
