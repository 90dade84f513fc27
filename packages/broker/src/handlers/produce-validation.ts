/**
 * The produce side of record validation (record-validation.ts, docs/adr/0020): checks one
 * partition's batches, then applies the topic's policy before the append starts.
 *
 * Order: validation awaits (the registry may read the metadata store), so a partition's
 * validated produces pass one at a time through a per-partition gate, and each starts its
 * append before the next one is checked: pipelined requests keep their order in the log, as on
 * the undecoded path.
 *
 * Dead letters (`dlq`): the invalid records are appended to `<topic>.dlq` (created on first use
 * with the topic's partition count; same partition index) with their key, value, timestamp and
 * headers plus `tributary.dlq.reason`, `tributary.dlq.topic` and `tributary.dlq.partition`.
 * Then the batch is stored without them, as compaction rewrites a batch: same producer id,
 * sequence and last offset delta, so idempotence and transactions see the batch they sent, and
 * the invalid records' offsets are gaps. The dead letters are written first: a failure there
 * fails the produce and stores nothing in the topic (a client retry may dead-letter them twice).
 */
import {
  ErrorCode,
  buildRecordBatch,
  readBatchHeader,
  retainRecords,
  setPartitionLeaderEpoch,
} from '@tributary/protocol';
import type { PartitionLog, TopicRecord } from '@tributary/storage';
import type { BrokerRuntime } from '../broker-runtime.ts';
import { leaderCheck, leadershipOf } from '../cluster/partition-routing.ts';
import { recordErrorsMaxCount } from '../compacted-key-check.ts';
import { toKafkaError } from '../kafka-errors.ts';
import { type InvalidRecord, type ValidationRules, invalidRecords } from '../record-validation.ts';
import { batchMetaOf, failure, type PartitionAnswer } from './produce-answer.ts';

/** Suffix of a topic's dead-letter topic. */
export const deadLetterSuffix = '.dlq';
/** Invalid records named in one partition's error message (the count covers all). */
const shownReasons = 3;
/** At most one warning per topic in this interval under the `warn` policy. */
const warnIntervalMs = 60_000;

export interface ValidatedProduce {
  topic: TopicRecord;
  log: PartitionLog;
  data: { index: number };
  batches: readonly Buffer[];
  rules: ValidationRules;
  /** Starts the append of `batches` (synchronously) and answers when it is durable. */
  start(batches: readonly Buffer[]): Promise<PartitionAnswer>;
}

const gates = new WeakMap<PartitionLog, Promise<void>>();
const lastWarnMs = new Map<string, number>();

/** Validates, applies the policy and starts the append, in the partition's produce order. */
export function produceValidated(
  runtime: BrokerRuntime,
  input: ValidatedProduce,
): Promise<PartitionAnswer> {
  const previous = gates.get(input.log) ?? Promise.resolve();
  const started = previous.then(() => validateThenStart(runtime, input));
  const gate = started.then(
    () => undefined,
    () => undefined,
  );
  gates.set(input.log, gate);
  void gate.then(() => {
    if (gates.get(input.log) === gate) gates.delete(input.log);
  });
  return started.then((step) => step.answer);
}

async function validateThenStart(
  runtime: BrokerRuntime,
  input: ValidatedProduce,
): Promise<{ answer: Promise<PartitionAnswer> }> {
  const { data, rules } = input;
  let invalid: InvalidRecord[];
  try {
    const maxBytes = runtime.config.decompressedBatchMaxBytes;
    const { batches, topic } = input;
    invalid = await invalidRecords(topic.name, batches, rules, runtime.schemaRegistry, maxBytes);
  } catch (error: unknown) {
    const { errorCode, errorMessage } = toKafkaError(error);
    return { answer: Promise.resolve(failure(data, errorCode, errorMessage)) };
  }
  if (invalid.length === 0) return { answer: input.start(input.batches) };
  const stats = runtime.recordValidation;
  stats.invalidRecords += invalid.length;
  switch (rules.policy) {
    case 'warn':
      stats.warned += invalid.length;
      warnOnce(runtime, input, invalid);
      return { answer: input.start(input.batches) };
    case 'dlq': {
      const problem = await deadLetter(runtime, input, invalid);
      if (problem !== undefined) return { answer: Promise.resolve(problem) };
      stats.deadLettered += invalid.length;
      return { answer: input.start(withoutInvalid(input.batches, invalid, runtime)) };
    }
    case 'reject':
      stats.rejected += invalid.length;
      return { answer: Promise.resolve(rejection(input, invalid)) };
  }
}

/** INVALID_RECORD with one RecordError per invalid record (KIP-467), nothing stored. */
function rejection(input: ValidatedProduce, invalid: readonly InvalidRecord[]): PartitionAnswer {
  const target = `${input.topic.name}-${input.data.index}`;
  const shown = invalid
    .slice(0, shownReasons)
    .map((bad) => `record ${bad.index}: ${bad.reason}`)
    .join('; ');
  const message = `${invalid.length} invalid record(s) for ${target}: ${shown}`;
  return {
    ...failure(input.data, ErrorCode.INVALID_RECORD, message),
    recordErrors: invalid.slice(0, recordErrorsMaxCount).map((bad) => ({
      batchIndex: bad.index,
      batchIndexErrorMessage: bad.reason,
    })),
  };
}

function warnOnce(
  runtime: BrokerRuntime,
  input: ValidatedProduce,
  invalid: readonly InvalidRecord[],
): void {
  const now = runtime.now();
  const last = lastWarnMs.get(input.topic.name);
  if (last !== undefined && now - last < warnIntervalMs) return;
  lastWarnMs.set(input.topic.name, now);
  const first = invalid[0] as InvalidRecord;
  runtime.log.warn('stored invalid records (tributary.validation.policy=warn)', {
    topic: input.topic.name,
    partition: input.data.index,
    invalidRecords: invalid.length,
    firstReason: first.reason,
  });
}

/** Appends the invalid records to the dead-letter topic; a failure answer, or undefined. */
async function deadLetter(
  runtime: BrokerRuntime,
  input: ValidatedProduce,
  invalid: readonly InvalidRecord[],
): Promise<PartitionAnswer | undefined> {
  const fail = (code: number, message: string): PartitionAnswer =>
    failure(
      input.data,
      code,
      `dead-letter topic ${input.topic.name}${deadLetterSuffix}: ${message}`,
    );
  try {
    const topic = await deadLetterTopic(runtime, input.topic);
    const partition = input.data.index % topic.partitionCount;
    const notLeader = leaderCheck(runtime, topic.topicId, partition);
    if (notLeader !== undefined) return fail(notLeader.errorCode, notLeader.message);
    const log = runtime.storage.partition(topic.topicId, partition);
    if (log === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'no partition');
    const { leaderEpoch } = leadershipOf(runtime, topic.topicId, partition);
    for (const batch of deadLetterBatches(input, invalid)) {
      setPartitionLeaderEpoch(batch, Math.max(0, leaderEpoch));
      await log.append(batch, batchMetaOf(readBatchHeader(batch), null));
    }
    return undefined;
  } catch (error: unknown) {
    const { errorCode, errorMessage } = toKafkaError(error);
    return fail(errorCode, errorMessage);
  }
}

async function deadLetterTopic(runtime: BrokerRuntime, source: TopicRecord): Promise<TopicRecord> {
  const name = `${source.name}${deadLetterSuffix}`;
  const existing = runtime.storage.getTopic(name);
  if (existing !== undefined) return existing;
  try {
    const created = await runtime.storage.createTopic({
      name,
      partitionCount: source.partitionCount,
    });
    runtime.log.info('created dead-letter topic', { topic: name, source: source.name });
    return created;
  } catch (error: unknown) {
    // Another produce created it meanwhile.
    const raced = runtime.storage.getTopic(name);
    if (raced !== undefined) return raced;
    throw error;
  }
}

const text = (value: string): Buffer => Buffer.from(value, 'utf8');

/** One dead-letter batch per source batch with invalid records. */
function deadLetterBatches(input: ValidatedProduce, invalid: readonly InvalidRecord[]): Buffer[] {
  const byBatch = new Map<number, InvalidRecord[]>();
  for (const bad of invalid) {
    const list = byBatch.get(bad.batch) ?? [];
    list.push(bad);
    byBatch.set(bad.batch, list);
  }
  return [...byBatch.values()].map((list) =>
    buildRecordBatch({
      records: list.map(({ record, reason }) => ({
        key: record.key,
        value: record.value,
        timestamp: record.timestamp,
        headers: [
          ...record.headers,
          { key: 'tributary.dlq.reason', value: text(reason) },
          { key: 'tributary.dlq.topic', value: text(input.topic.name) },
          { key: 'tributary.dlq.partition', value: text(String(input.data.index)) },
        ],
      })),
    }),
  );
}

/** The batches without their invalid records (an emptied batch keeps its header, no records). */
function withoutInvalid(
  batches: readonly Buffer[],
  invalid: readonly InvalidRecord[],
  runtime: BrokerRuntime,
): Buffer[] {
  const opts = { maxDecompressedBytes: runtime.config.decompressedBatchMaxBytes };
  return batches.map((batch, i) => {
    const dropped = new Set(invalid.filter((bad) => bad.batch === i).map((bad) => bad.index));
    if (dropped.size === 0) return batch;
    let index = 0;
    const kept = retainRecords(batch, () => !dropped.has(index++), opts);
    if (kept !== null) return kept;
    const header = readBatchHeader(batch);
    return buildRecordBatch({
      records: [],
      compression: header.compression,
      producerId: header.producerId,
      producerEpoch: header.producerEpoch,
      baseSequence: header.baseSequence,
      isTransactional: header.isTransactional,
      timestampType: header.timestampType,
      partitionLeaderEpoch: header.partitionLeaderEpoch,
      lastOffsetDelta: header.lastOffsetDelta,
      maxTimestamp: header.maxTimestamp,
    });
  });
}
