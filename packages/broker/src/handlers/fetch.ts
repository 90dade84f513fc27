/**
 * Fetch (key 1), v4-17. Serves whole stored batches (the producer's bytes) from each partition's
 * log, up to the high watermark; read_committed reads to the last stable offset (the first offset
 * of the earliest open transaction on the partition, else the high watermark) and lists the
 * aborted transactions overlapping what it may return, so the client drops their records. The
 * control batches (markers) are returned like other batches; clients skip them.
 *
 * Limits follow KIP-74: `maxBytes` bounds the response and `partitionMaxBytes` each partition, but
 * the first batch of a partition is returned whole while the response is still empty, so a batch
 * larger than the limits can always be consumed. A fetch that finds fewer than `minBytes` waits
 * (long poll) until an append raises a high watermark it reads, `maxWaitMs` passes, or the
 * connection closes.
 *
 * Cluster mode: every broker serves reads of every partition (they share the bucket), after the
 * client's leader epoch is checked (KIP-320). A consumer whose rack (`rack_id`, v11+) differs
 * from the leader's is pointed at a live broker of its own rack (KIP-392
 * `preferred_read_replica`, with no records), so its reads stay in its zone.
 *
 * Not served: fetch sessions (KIP-227) — every answer has session id 0, which tells clients to keep
 * sending full requests; follower fetches (replica id >= 0) — there are no replicas to fetch.
 */
import { ErrorCode, fetchApi, type FetchRequest } from '@tributary/protocol';
import { StorageError, type PartitionLog, type TopicId } from '@tributary/storage';
import type { BrokerRuntime } from '../broker-runtime.ts';
import { LeaderHints } from '../cluster/leader-hints.ts';
import { clientZoneOf, epochCheck, liveBrokersOf } from '../cluster/partition-routing.ts';
import { defineHandler, type RequestContext } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';
import { txnIndexOf } from '../transactions/partition-txn-index.ts';

interface PlannedPartition {
  readonly topicIndex: number;
  readonly topicId: TopicId | undefined;
  readonly partition: number;
  readonly fetchOffset: bigint;
  readonly partitionMaxBytes: number;
  readonly log: PartitionLog | undefined;
  readonly errorCode: number;
  /** KIP-392: the broker of the client's rack to read from instead, or -1. */
  readonly preferredReadReplica: number;
}

interface PartitionResult {
  partitionIndex: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  abortedTransactions: { producerId: bigint; firstOffset: bigint }[] | null;
  preferredReadReplica: number;
  records: Buffer[];
}

interface ReadResult {
  readonly partitions: PartitionResult[];
  readonly bytes: number;
  /** High watermark seen per partition, to detect appends that race with the wait. */
  readonly watermarks: bigint[];
}

export const fetchHandler = defineHandler(fetchApi, async (context, request) => {
  const { runtime } = context;
  if (request.sessionId !== 0) {
    return { errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
  }
  const replicaId = context.apiVersion >= 15 ? request.replicaState.replicaId : request.replicaId;
  const rackId = context.apiVersion >= 11 ? request.rackId : '';
  const plan = planPartitions(runtime, request, context.apiVersion, replicaId >= 0, rackId);
  const readCommitted = request.isolationLevel === 1;
  const limitBytes = Math.min(request.maxBytes, runtime.config.fetchMaxBytes);
  const deadline = runtime.now() + Math.min(request.maxWaitMs, runtime.config.fetchMaxWaitMs);
  let result = await readPlan(plan, limitBytes, readCommitted);
  while (result.bytes < request.minBytes && runtime.now() < deadline && !context.signal.aborted) {
    const woke = await waitForAppend(context, plan, result.watermarks, deadline - runtime.now());
    if (!woke) break;
    result = await readPlan(plan, limitBytes, readCommitted);
  }
  const rack = runtime.storage.cluster?.rack;
  const zone = clientZoneOf(context.clientId, rackId);
  if (rack !== undefined && zone !== undefined && zone !== rack) {
    runtime.zoneTraffic.dataBytesOut += result.bytes;
  }
  const hints = context.apiVersion >= 16 ? new LeaderHints(runtime, zone) : undefined;
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    sessionId: 0,
    responses: request.topics.map((topic, topicIndex) => ({
      topic: topic.topic,
      topicId: topic.topicId,
      partitions: result.partitions
        .map((answer, i) => withLeaderHint(answer, plan[i], hints))
        .filter((_, i) => plan[i]?.topicIndex === topicIndex),
    })),
    nodeEndpoints: hints?.endpoints() ?? [],
  };
});

/** KIP-951 (v16+): a partition refused for leadership or a stale epoch names its leader. */
function withLeaderHint(
  answer: PartitionResult,
  planned: PlannedPartition | undefined,
  hints: LeaderHints | undefined,
): PartitionResult & { currentLeader?: { leaderId: number; leaderEpoch: number } } {
  const moved =
    answer.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER ||
    answer.errorCode === ErrorCode.FENCED_LEADER_EPOCH;
  if (hints === undefined || !moved || planned?.topicId === undefined) return answer;
  const leader = hints.leaderOf(planned.topicId, planned.partition);
  return leader === undefined ? answer : { ...answer, currentLeader: leader };
}

function planPartitions(
  runtime: BrokerRuntime,
  request: FetchRequest,
  apiVersion: number,
  fromReplica: boolean,
  rackId: string,
): PlannedPartition[] {
  const plan: PlannedPartition[] = [];
  const readReplicaOf = preferredReplicas(runtime, rackId);
  request.topics.forEach((wanted, topicIndex) => {
    const topic =
      apiVersion >= 13
        ? runtime.storage.getTopicById(wanted.topicId as TopicId)
        : runtime.storage.getTopic(wanted.topic);
    const unknownTopic =
      apiVersion >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    for (const partition of wanted.partitions) {
      const log =
        topic === undefined
          ? undefined
          : runtime.storage.partition(topic.topicId, partition.partition);
      let errorCode: number = ErrorCode.NONE;
      if (fromReplica) errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
      else if (topic === undefined) errorCode = unknownTopic;
      else if (log === undefined) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      else {
        const epoch = apiVersion >= 9 ? partition.currentLeaderEpoch : -1;
        errorCode = epochCheck(runtime, topic.topicId, partition.partition, epoch)?.errorCode ?? 0;
      }
      const preferred =
        errorCode === ErrorCode.NONE && topic !== undefined
          ? readReplicaOf(topic.topicId, partition.partition)
          : -1;
      plan.push({
        topicIndex,
        topicId: topic?.topicId,
        partition: partition.partition,
        fetchOffset: partition.fetchOffset,
        partitionMaxBytes: partition.partitionMaxBytes,
        log: errorCode === ErrorCode.NONE && preferred < 0 ? log : undefined,
        errorCode,
        preferredReadReplica: preferred,
      });
    }
  });
  return plan;
}

async function readPlan(
  plan: readonly PlannedPartition[],
  limitBytes: number,
  readCommitted: boolean,
): Promise<ReadResult> {
  const partitions: PartitionResult[] = [];
  const watermarks: bigint[] = [];
  let bytes = 0;
  for (const planned of plan) {
    const result = emptyResult(planned, readCommitted);
    partitions.push(result);
    const log = planned.log;
    watermarks.push(log?.highWatermark ?? -1n);
    if (log === undefined) continue;
    if (planned.fetchOffset < log.logStartOffset || planned.fetchOffset > log.highWatermark) {
      result.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
      continue;
    }
    try {
      const index = await txnIndexOf(log);
      const lastStableOffset = index.lastStableOffset(log.highWatermark);
      result.lastStableOffset = lastStableOffset;
      const end = readCommitted ? lastStableOffset : log.highWatermark;
      if (planned.fetchOffset >= end) continue;
      const budget = Math.min(planned.partitionMaxBytes, limitBytes - bytes);
      if (budget <= 0 && bytes > 0) continue;
      const batches = await log.read(planned.fetchOffset, Math.max(budget, 1), end);
      result.records = takeWithin(batches, budget, bytes === 0);
      for (const batch of result.records) bytes += batch.length;
      if (readCommitted) {
        result.abortedTransactions = index
          .abortedBetween(planned.fetchOffset, end)
          .map(({ producerId, firstOffset }) => ({ producerId, firstOffset }));
      }
    } catch (error: unknown) {
      result.errorCode = readErrorCode(error);
    }
    result.highWatermark = log.highWatermark;
    result.logStartOffset = log.logStartOffset;
  }
  return { partitions, bytes, watermarks };
}

/** Batches that fit in `budget`; the first is kept regardless when the response is still empty. */
function takeWithin(batches: readonly Buffer[], budget: number, responseEmpty: boolean): Buffer[] {
  const taken: Buffer[] = [];
  let used = 0;
  for (const batch of batches) {
    const firstOfResponse = responseEmpty && taken.length === 0;
    if (!firstOfResponse && used + batch.length > budget) break;
    taken.push(batch);
    used += batch.length;
  }
  return taken;
}

function emptyResult(planned: PlannedPartition, readCommitted: boolean): PartitionResult {
  const log = planned.log;
  return {
    partitionIndex: planned.partition,
    errorCode: planned.errorCode,
    highWatermark: log?.highWatermark ?? -1n,
    lastStableOffset: log?.highWatermark ?? -1n,
    logStartOffset: log?.logStartOffset ?? -1n,
    abortedTransactions: readCommitted ? [] : null,
    preferredReadReplica: planned.preferredReadReplica,
    records: [],
  };
}

/**
 * KIP-392: for a consumer in `rackId`, the broker it should read a partition from — a live
 * broker of its rack, chosen by partition so the load spreads — when this broker leads the
 * partition from another rack; -1 to serve it here.
 */
function preferredReplicas(
  runtime: BrokerRuntime,
  rackId: string,
): (topicId: TopicId, partition: number) => number {
  const cluster = runtime.storage.cluster;
  if (cluster === undefined || rackId === '' || cluster.rack === rackId) return () => -1;
  const inRack = liveBrokersOf(runtime).filter((broker) => broker.rack === rackId);
  if (inRack.length === 0) return () => -1;
  return (topicId, partition) => {
    if (!cluster.leads(topicId, partition)) return -1;
    return inRack[partition % inRack.length]?.nodeId ?? -1;
  };
}

function readErrorCode(error: unknown): number {
  if (error instanceof StorageError && error.code === 'OFFSET_OUT_OF_RANGE') {
    return ErrorCode.OFFSET_OUT_OF_RANGE;
  }
  return toKafkaError(error).errorCode;
}

/**
 * Resolves true when any planned partition's high watermark moves past what the last read saw
 * (including a move that happened before we subscribed), false on timeout or connection close.
 */
function waitForAppend(
  context: RequestContext,
  plan: readonly PlannedPartition[],
  seen: readonly bigint[],
  waitMs: number,
): Promise<boolean> {
  return new Promise((resolve) => {
    const unsubscribes: (() => void)[] = [];
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = (woke: boolean): void => {
      if (finished) return;
      finished = true;
      for (const unsubscribe of unsubscribes) unsubscribe();
      if (timer !== undefined) clearTimeout(timer);
      context.signal.removeEventListener('abort', onAbort);
      resolve(woke);
    };
    const onAbort = (): void => finish(false);
    plan.forEach((planned) => {
      if (planned.log !== undefined)
        unsubscribes.push(planned.log.onHighWatermark(() => finish(true)));
    });
    if (
      plan.some((planned, i) => planned.log !== undefined && planned.log.highWatermark !== seen[i])
    ) {
      finish(true);
      return;
    }
    context.signal.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(() => finish(false), Math.max(0, waitMs));
  });
}
