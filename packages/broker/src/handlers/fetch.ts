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
 * connection closes; a fetch of no partition at all answers at once.
 *
 * Fetch sessions (KIP-227, v7+; fetch-sessions.ts): a full fetch with epoch 0 opens a session;
 * an incremental fetch (epoch 1, 2, ...) sends only changed and forgotten partitions, reads only
 * the session's partitions that moved (dirty), and answers only those with records, a new high
 * watermark or log start offset, an error or a preferred replica. Epoch -1 closes the session.
 *
 * Cluster mode: every broker serves reads of every partition (they share the bucket), after the
 * client's leader epoch is checked (KIP-320). A consumer whose rack (`rack_id`, v11+) differs
 * from the leader's is pointed at a live broker of its own rack (KIP-392
 * `preferred_read_replica`, with no records), so its reads stay in its zone.
 *
 * Not served: follower fetches (replica id >= 0) — there are no replicas to fetch.
 */
import { ErrorCode, fetchApi, type FetchRequest } from '@tributary/protocol';
import {
  StorageError,
  type PartitionLog,
  type TopicId,
  type TopicRecord,
} from '@tributary/storage';
import type { BrokerRuntime } from '../broker-runtime.ts';
import { LeaderHints } from '../cluster/leader-hints.ts';
import { clientZoneOf, epochCheck, liveBrokersOf } from '../cluster/partition-routing.ts';
import {
  fetchSessionsOf,
  finalEpoch,
  nextEpoch,
  sessionSweepIntervalMs,
  SessionPartition,
  type FetchSession,
  type RequestedPartition,
} from '../fetch-sessions.ts';
import { defineHandler, type RequestContext } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, clusterResource, topicResource } from '../security/request-authorization.ts';
import { loadedTxnIndex, txnIndexOf } from '../transactions/partition-txn-index.ts';
import { quotaThrottleMs } from '../security/request-quotas.ts';

/** Session id and epoch are in the request from v7. */
const sessionsMinVersion = 7;

interface PlannedPartition {
  readonly topicIndex: number;
  /** The partition as the request (or the session) names it. */
  readonly wanted: RequestedPartition;
  readonly topicId: TopicId | undefined;
  readonly partition: number;
  readonly fetchOffset: bigint;
  readonly partitionMaxBytes: number;
  /** The log to read; undefined when the answer is an error or a preferred replica. */
  readonly log: PartitionLog | undefined;
  /** The partition's log in storage whatever the answer (a session subscribes to it). */
  readonly storedLog: PartitionLog | undefined;
  readonly errorCode: number;
  /** KIP-392: the broker of the client's rack to read from instead, or -1. */
  readonly preferredReadReplica: number;
  /** Incremental fetches: the session partition this plans. */
  readonly part: SessionPartition | undefined;
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
  /** Per partition: records the client may read remain at its fetch offset. */
  readonly unread: boolean[];
}

/** How the partitions of one request are found and checked. */
interface Planner {
  readonly runtime: BrokerRuntime;
  readonly apiVersion: number;
  readonly fromReplica: boolean;
  readonly readReplicaOf: (topicId: TopicId, partition: number) => number;
  /** READ on the topic (follower fetches: CLUSTER_ACTION), decided once per request. */
  readonly readable: (topic: string) => boolean;
}

/** Where the partitions of one fetch come from, and how it waits for more. */
interface FetchSource {
  plan(): PlannedPartition[];
  /** Taken before each read: `wait` wakes for any change after it. */
  mark(): number;
  wait(
    mark: number,
    plan: PlannedPartition[],
    result: ReadResult,
    waitMs: number,
  ): Promise<boolean>;
  /** Nothing at all to fetch: answer at once, as Kafka does. */
  isEmpty(): boolean;
}

interface TopicKey {
  readonly topic: string;
  readonly topicId: string;
}

export const fetchHandler = defineHandler(fetchApi, async (context, request) => {
  const { apiVersion, runtime } = context;
  const replicaId = apiVersion >= 15 ? request.replicaState.replicaId : request.replicaId;
  const rackId = apiVersion >= 11 ? request.rackId : '';
  const planner: Planner = {
    runtime,
    apiVersion,
    fromReplica: replicaId >= 0,
    readReplicaOf: preferredReplicas(runtime, rackId),
    readable: readableTopics(context, replicaId >= 0),
  };
  const sessions = fetchSessionsOf(runtime);
  const { sessionId, sessionEpoch } = request;
  if (sessionEpoch === 0 || sessionEpoch === finalEpoch) {
    const ended = sessionId === 0 ? undefined : sessions.get(sessionId, context.signal);
    if (ended !== undefined) {
      sessions.remove(ended, sessionEpoch === 0 ? 'replaced by a full fetch' : 'closed by client');
    }
    const open = sessionEpoch === 0 && apiVersion >= sessionsMinVersion && !planner.fromReplica;
    return fullFetch(context, request, planner, { rackId, openSession: open });
  }
  const session = sessions.get(sessionId, context.signal);
  const errorCode = sessionErrorOf(session, sessionEpoch, apiVersion);
  if (session === undefined || errorCode !== ErrorCode.NONE) {
    return { throttleTimeMs: 0, errorCode, sessionId: 0, responses: [], nodeEndpoints: [] };
  }
  return incrementalFetch(context, request, planner, { rackId, session });
});

function sessionErrorOf(
  session: FetchSession | undefined,
  epoch: number,
  apiVersion: number,
): number {
  if (session === undefined) return ErrorCode.FETCH_SESSION_ID_NOT_FOUND;
  if (session.epoch !== epoch) return ErrorCode.INVALID_FETCH_SESSION_EPOCH;
  // A session keys its partitions by topic id (v13+) or by name: it cannot change versions.
  if (session.usesTopicIds !== apiVersion >= 13) return ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR;
  return ErrorCode.NONE;
}

/** A sessionless fetch or the one that opens a session: every partition asked is answered. */
async function fullFetch(
  context: RequestContext,
  request: FetchRequest,
  planner: Planner,
  options: { rackId: string; openSession: boolean },
) {
  const plan = planRequest(planner, request);
  const source: FetchSource = {
    plan: () => plan,
    mark: () => 0,
    wait: (_mark, planned, result, waitMs) =>
      waitForAppend(context, planned, result.watermarks, waitMs),
    isEmpty: () => plan.length === 0,
  };
  const { result } = await collect(context, request, source);
  const sessionId = options.openSession ? openSession(context, plan, result) : 0;
  const topics = request.topics.map(({ topic, topicId }) => ({ topic, topicId }));
  return respond(context, options.rackId, {
    sessionId,
    topics,
    plan,
    answers: result.partitions,
    bytes: result.bytes,
    keepEmptyTopics: true,
  });
}

/**
 * An incremental fetch: applies the request's changes to the session, reads the partitions that
 * moved and answers those the client must hear about.
 */
async function incrementalFetch(
  context: RequestContext,
  request: FetchRequest,
  planner: Planner,
  options: { rackId: string; session: FetchSession },
) {
  const { runtime } = context;
  const { session } = options;
  const now = runtime.now();
  session.epoch = nextEpoch(session.epoch);
  session.incrementalFetches++;
  fetchSessionsOf(runtime).touch(session, now);
  applyChanges(planner, session, request);
  if (now >= session.nextSweepMs) {
    session.nextSweepMs = now + sessionSweepIntervalMs;
    sweep(planner, session);
  }
  const topics: TopicKey[] = [];
  const topicIndexes = new Map<string, number>();
  const source: FetchSource = {
    plan: () => planDirty(planner, session, { topics, topicIndexes }),
    mark: () => session.changes,
    wait: (mark, _plan, _result, waitMs) => session.waitForChange(mark, context.signal, waitMs),
    isEmpty: () => session.partitions.size === 0,
  };
  const { plan, result } = await collect(context, request, source);
  const kept: PlannedPartition[] = [];
  const answers: PartitionResult[] = [];
  plan.forEach((planned, i) => {
    const answer = result.partitions[i];
    if (answer === undefined || planned.part === undefined) return;
    if (settle(session, planned.part, answer, result.unread[i] === true)) {
      kept.push(planned);
      answers.push(answer);
    }
  });
  return respond(context, options.rackId, {
    sessionId: session.id,
    topics,
    plan: kept,
    answers,
    bytes: result.bytes,
    keepEmptyTopics: false,
  });
}

/** Reads the source's partitions, waiting for appends while fewer than `minBytes` came back. */
async function collect(
  context: RequestContext,
  request: FetchRequest,
  source: FetchSource,
): Promise<{ plan: PlannedPartition[]; result: ReadResult }> {
  const { runtime } = context;
  const readCommitted = request.isolationLevel === 1;
  const limitBytes = Math.min(request.maxBytes, runtime.config.fetchMaxBytes);
  const deadline = runtime.now() + Math.min(request.maxWaitMs, runtime.config.fetchMaxWaitMs);
  let mark = source.mark();
  let plan = source.plan();
  let result = await readPlan(plan, limitBytes, readCommitted);
  while (
    result.bytes < request.minBytes &&
    !source.isEmpty() &&
    runtime.now() < deadline &&
    !context.signal.aborted
  ) {
    const woke = await source.wait(mark, plan, result, deadline - runtime.now());
    if (!woke) break;
    mark = source.mark();
    plan = source.plan();
    result = await readPlan(plan, limitBytes, readCommitted);
  }
  return { plan, result };
}

/** Record bytes sent from a topic (/metrics: tributary_topic_bytes_out_total). */
function countFetched(runtime: BrokerRuntime, planned: PlannedPartition, records: Buffer[]): void {
  if (records.length === 0 || planned.topicId === undefined) return;
  const topic = runtime.storage.getTopicById(planned.topicId);
  let bytes = 0;
  for (const batch of records) bytes += batch.length;
  if (topic !== undefined) runtime.topicTraffic?.fetched(topic.name, bytes);
}

function respond(
  context: RequestContext,
  rackId: string,
  answer: {
    sessionId: number;
    topics: readonly TopicKey[];
    plan: readonly PlannedPartition[];
    answers: readonly PartitionResult[];
    bytes: number;
    keepEmptyTopics: boolean;
  },
) {
  const { runtime } = context;
  const rack = runtime.storage.cluster?.rack;
  const zone = clientZoneOf(context.clientId, rackId);
  if (rack !== undefined && zone !== undefined && zone !== rack) {
    runtime.zoneTraffic.dataBytesOut += answer.bytes;
  }
  const hints = context.apiVersion >= 16 ? new LeaderHints(runtime, zone) : undefined;
  const grouped = answer.topics.map(() => [] as ReturnType<typeof withLeaderHint>[]);
  answer.answers.forEach((partition, i) => {
    const planned = answer.plan[i];
    if (planned === undefined) return;
    grouped[planned.topicIndex]?.push(withLeaderHint(partition, planned, hints));
    countFetched(runtime, planned, partition.records);
  });
  const responses = answer.topics.map((topic, i) => ({
    topic: topic.topic,
    topicId: topic.topicId,
    partitions: grouped[i] ?? [],
  }));
  return {
    throttleTimeMs: quotaThrottleMs(context, 'consumer_byte_rate', answer.bytes),
    errorCode: ErrorCode.NONE,
    sessionId: answer.sessionId,
    responses: answer.keepEmptyTopics
      ? responses
      : responses.filter((topic) => topic.partitions.length > 0),
    nodeEndpoints: hints?.endpoints() ?? [],
  };
}

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

/** Opens a session holding every partition of a full fetch's answer; its id, or 0 if none. */
function openSession(
  context: RequestContext,
  plan: readonly PlannedPartition[],
  result: ReadResult,
): number {
  const { runtime } = context;
  const session = fetchSessionsOf(runtime).create(
    context.signal,
    context.apiVersion >= 13,
    runtime.now(),
  );
  if (session === undefined) return 0;
  plan.forEach((planned, i) => {
    const answer = result.partitions[i];
    if (answer === undefined) return;
    const part = session.upsert(planned.wanted);
    session.attach(part, planned.storedLog);
    settle(session, part, answer, result.unread[i] === true);
  });
  return session.id;
}

/**
 * Records what the client was just told about `part` and whether the next incremental fetch must
 * read it again; returns true when an incremental answer must carry it (Kafka's rule: records,
 * an error, a preferred replica, or a high watermark or log start offset it has not seen).
 */
function settle(
  session: FetchSession,
  part: SessionPartition,
  answer: PartitionResult,
  unread: boolean,
): boolean {
  const failed = answer.errorCode !== ErrorCode.NONE;
  const redirected = answer.preferredReadReplica >= 0;
  const include =
    answer.records.length > 0 ||
    failed ||
    redirected ||
    answer.highWatermark !== part.sentHighWatermark ||
    answer.logStartOffset !== part.sentLogStartOffset;
  // After an error Kafka forgets the high watermark sent, so the partition is answered again
  // once the error is gone.
  part.sentHighWatermark = failed ? -1n : answer.highWatermark;
  part.sentLogStartOffset = answer.logStartOffset;
  // An append after the read already notified; the high watermark shows it all the same.
  const moved = part.log !== undefined && part.log.highWatermark !== answer.highWatermark;
  session.dirty.delete(part);
  // Re-added at the end: partitions that wait for the client go after the others next time.
  if (unread || failed || redirected || moved) session.dirty.add(part);
  return include;
}

/** Applies an incremental request: partitions added or updated, then partitions forgotten. */
function applyChanges(planner: Planner, session: FetchSession, request: FetchRequest): void {
  for (const wanted of request.topics) {
    const topic = topicOf(planner, wanted.topic, wanted.topicId);
    for (const partition of wanted.partitions) {
      const part = session.upsert({
        topic: wanted.topic,
        topicId: wanted.topicId,
        partition: partition.partition,
        fetchOffset: partition.fetchOffset,
        partitionMaxBytes: partition.partitionMaxBytes,
        currentLeaderEpoch: partition.currentLeaderEpoch,
      });
      const log =
        topic === undefined
          ? undefined
          : planner.runtime.storage.partition(topic.topicId, part.partition);
      session.attach(part, log);
    }
  }
  for (const forgotten of request.forgottenTopicsData) {
    for (const partition of forgotten.partitions) {
      session.forget(forgotten.topic, forgotten.topicId, partition);
    }
  }
}

/** The session's dirty partitions, their topics numbered in order of first appearance. */
function planDirty(
  planner: Planner,
  session: FetchSession,
  into: { topics: TopicKey[]; topicIndexes: Map<string, number> },
): PlannedPartition[] {
  const plan: PlannedPartition[] = [];
  for (const part of session.dirty) {
    const key = session.usesTopicIds ? part.topicId : part.topic;
    let topicIndex = into.topicIndexes.get(key);
    if (topicIndex === undefined) {
      topicIndex = into.topics.length;
      into.topicIndexes.set(key, topicIndex);
      into.topics.push({ topic: part.topic, topicId: part.topicId });
    }
    const planned = planOne(planner, topicOf(planner, part.topic, part.topicId), topicIndex, part);
    session.attach(part, planned.storedLog);
    plan.push(planned);
  }
  session.partitionsRead += plan.length;
  return plan;
}

/**
 * Compares every clean partition with its log and marks the ones that changed without a
 * notification: a replaced or deleted log, a moved log start, and in cluster mode a new error
 * (leader epoch) or preferred replica. Plain comparisons: no read, no answer object.
 */
function sweep(planner: Planner, session: FetchSession): void {
  const { storage } = planner.runtime;
  // Embedded storage keeps one log per partition for the topic's life; cluster storage makes a
  // new one each leader term, so there every partition is looked up again.
  const logsSwap = storage.cluster !== undefined;
  const topics = new Map<string, TopicRecord | undefined>();
  for (const part of session.partitions.values()) {
    if (session.dirty.has(part)) continue;
    const key = session.usesTopicIds ? part.topicId : part.topic;
    let topic = topics.get(key);
    if (topic === undefined && !topics.has(key)) {
      topic = topicOf(planner, part.topic, part.topicId);
      topics.set(key, topic);
    }
    if (topic === undefined) {
      session.attach(part, undefined);
      continue;
    }
    const kept = !logsSwap && part.log?.topicId === topic.topicId;
    const log = kept ? part.log : storage.partition(topic.topicId, part.partition);
    if (log !== part.log) session.attach(part, log);
    else if (
      log === undefined ||
      log.highWatermark !== part.sentHighWatermark ||
      log.logStartOffset !== part.sentLogStartOffset
    ) {
      session.dirty.add(part);
    } else if (logsSwap && planOne(planner, topic, 0, part).log === undefined) {
      session.dirty.add(part);
    }
  }
}

/** Kafka: a follower fetch needs CLUSTER_ACTION on the cluster, a consumer READ on each topic. */
function readableTopics(context: RequestContext, fromReplica: boolean): (topic: string) => boolean {
  if (fromReplica) {
    const allowed = authorized(context, AclOperation.CLUSTER_ACTION, clusterResource);
    return () => allowed;
  }
  const decided = new Map<string, boolean>();
  return (topic) => {
    let allowed = decided.get(topic);
    if (allowed === undefined) {
      allowed = authorized(context, AclOperation.READ, topicResource(topic));
      decided.set(topic, allowed);
    }
    return allowed;
  };
}

function topicOf(planner: Planner, name: string, id: string): TopicRecord | undefined {
  const { storage } = planner.runtime;
  return planner.apiVersion >= 13 ? storage.getTopicById(id as TopicId) : storage.getTopic(name);
}

function planRequest(planner: Planner, request: FetchRequest): PlannedPartition[] {
  const plan: PlannedPartition[] = [];
  request.topics.forEach((wanted, topicIndex) => {
    const topic = topicOf(planner, wanted.topic, wanted.topicId);
    for (const partition of wanted.partitions) {
      const requested: RequestedPartition = {
        topic: wanted.topic,
        topicId: wanted.topicId,
        partition: partition.partition,
        fetchOffset: partition.fetchOffset,
        partitionMaxBytes: partition.partitionMaxBytes,
        currentLeaderEpoch: partition.currentLeaderEpoch,
      };
      plan.push(planOne(planner, topic, topicIndex, requested));
    }
  });
  return plan;
}

/**
 * How one partition is answered: read from its log, an error, or a preferred replica. A session
 * partition is planned as itself (its offsets as the session holds them now).
 */
function planOne(
  planner: Planner,
  topic: TopicRecord | undefined,
  topicIndex: number,
  wanted: RequestedPartition | SessionPartition,
): PlannedPartition {
  const { runtime, apiVersion } = planner;
  const storedLog =
    topic === undefined ? undefined : runtime.storage.partition(topic.topicId, wanted.partition);
  let errorCode: number = ErrorCode.NONE;
  // Kafka authorizes a topic named in the request before it looks it up; an unknown id has no
  // name to authorize.
  if (topic === undefined && apiVersion >= 13) errorCode = ErrorCode.UNKNOWN_TOPIC_ID;
  else if (!planner.readable(topic?.name ?? wanted.topic)) {
    errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
  } else if (planner.fromReplica) errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
  else if (topic === undefined) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  else if (storedLog === undefined) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  else {
    const epoch = apiVersion >= 9 ? wanted.currentLeaderEpoch : -1;
    errorCode = epochCheck(runtime, topic.topicId, wanted.partition, epoch)?.errorCode ?? 0;
  }
  const preferred =
    errorCode === ErrorCode.NONE && topic !== undefined
      ? planner.readReplicaOf(topic.topicId, wanted.partition)
      : -1;
  return {
    topicIndex,
    wanted,
    topicId: topic?.topicId,
    partition: wanted.partition,
    fetchOffset: wanted.fetchOffset,
    partitionMaxBytes: wanted.partitionMaxBytes,
    log: errorCode === ErrorCode.NONE && preferred < 0 ? storedLog : undefined,
    storedLog,
    errorCode,
    preferredReadReplica: preferred,
    part: wanted instanceof SessionPartition ? wanted : undefined,
  };
}

async function readPlan(
  plan: readonly PlannedPartition[],
  limitBytes: number,
  readCommitted: boolean,
): Promise<ReadResult> {
  const partitions: PartitionResult[] = [];
  const watermarks: bigint[] = [];
  const unread: boolean[] = [];
  let bytes = 0;
  for (const planned of plan) {
    const result = emptyResult(planned, readCommitted);
    partitions.push(result);
    unread.push(false);
    const log = planned.log;
    watermarks.push(log?.highWatermark ?? -1n);
    if (log === undefined) continue;
    if (planned.fetchOffset < log.logStartOffset || planned.fetchOffset > log.highWatermark) {
      result.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
      continue;
    }
    try {
      // Built once per partition; after that no await, which for a full fetch of 10,000
      // partitions was 10,000 trips through the microtask queue.
      const index = loadedTxnIndex(log) ?? (await txnIndexOf(log));
      const lastStableOffset = index.lastStableOffset(log.highWatermark);
      result.lastStableOffset = lastStableOffset;
      const end = readCommitted ? lastStableOffset : log.highWatermark;
      if (planned.fetchOffset >= end) continue;
      unread[unread.length - 1] = true;
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
  return { partitions, bytes, watermarks, unread };
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
    // One listener for every partition: a full fetch may wait on 10,000 of them.
    const onAppend = (): void => finish(true);
    for (const planned of plan) {
      if (planned.log !== undefined) unsubscribes.push(planned.log.onHighWatermark(onAppend));
    }
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
