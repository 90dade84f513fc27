/**
 * Incremental fetch sessions (KIP-227). A full fetch with session epoch 0 creates a session that
 * remembers the partitions fetched, each one's fetch offset and limit, and the high watermark and
 * log start offset the client was last told; later fetches (epoch 1, 2, ...) send only the
 * partitions whose offsets changed plus the ones to forget, and their answers carry only the
 * partitions with something new.
 *
 * Invariants:
 * - A session belongs to the connection that created it: another connection cannot use its id,
 *   and it ends when that connection closes, when the client sends epoch -1, when a full fetch
 *   names it, when it is the least recently used one and a new session needs its slot
 *   (`max.incremental.fetch.session.cache.slots`), or when its connection opens more than
 *   `sessionsPerConnectionMax`.
 * - Each session partition stays subscribed to its log's high watermark while the session lives,
 *   so an append marks it dirty and wakes the session's waiting fetch. An incremental fetch reads
 *   only dirty partitions, so its cost follows the partitions that moved, not the session size.
 *   A partition stays dirty while it has records the client has not fetched, an error, or a
 *   preferred read replica to report (Kafka answers those every time).
 * - What no notification covers (a log replaced by a new leader term, a deleted topic, a log
 *   start moved by retention, a leader epoch change) is found by the sweep in handlers/fetch.ts,
 *   which an incremental fetch runs at most once per `sessionSweepIntervalMs`: it compares every
 *   clean partition with its log, with no read.
 */
import { randomInt } from 'node:crypto';
import type { PartitionLog } from '@tributary/storage';
import type { BrokerRuntime } from './broker-runtime.ts';
import type { Logger } from './logger.ts';

/** Kafka's name and default for the cache size. */
export const sessionCacheSlotsSetting = 'max.incremental.fetch.session.cache.slots';
/** How often a session re-checks every partition for changes that raise no notification. */
export const sessionSweepIntervalMs = 1_000;
/** The epoch that closes a session (and asks for a sessionless fetch). */
export const finalEpoch = -1;
/**
 * Sessions one connection may hold; its oldest goes past this. Clients keep one per broker
 * connection, so this only bounds a client that opens sessions and never uses them.
 */
export const sessionsPerConnectionMax = 4;
const maxSessionId = 2_147_483_647;

/** One partition of a session: what the client asked for and what it was last told. */
export class SessionPartition {
  readonly key: string;
  /** As the client names it: the name before v13, the id from v13 (the other is empty). */
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  fetchOffset = 0n;
  partitionMaxBytes = 0;
  currentLeaderEpoch = -1;
  log: PartitionLog | undefined;
  unsubscribe: (() => void) | undefined;
  /** The high watermark last sent (-1: never, or an error was sent), as Kafka keeps it. */
  sentHighWatermark = -1n;
  sentLogStartOffset = -1n;

  constructor(key: string, topic: string, topicId: string, partition: number) {
    this.key = key;
    this.topic = topic;
    this.topicId = topicId;
    this.partition = partition;
  }
}

export interface RequestedPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly fetchOffset: bigint;
  readonly partitionMaxBytes: number;
  readonly currentLeaderEpoch: number;
}

export class FetchSession {
  readonly id: number;
  /** True from Fetch v13: partitions are keyed by topic id, before by topic name. */
  readonly usesTopicIds: boolean;
  readonly owner: AbortSignal;
  /** The epoch the next incremental fetch must carry. */
  epoch = 1;
  lastUsedMs: number;
  nextSweepMs: number;
  incrementalFetches = 0;
  /** Partitions read by incremental fetches (the cost that must follow what changed). */
  partitionsRead = 0;
  /** Insertion order is the order partitions are read in; rotated for fairness. */
  readonly partitions = new Map<string, SessionPartition>();
  readonly dirty = new Set<SessionPartition>();
  /** Bumped by every notification of any partition. */
  changes = 0;
  /** Waiting fetches (one, unless a client pipelines them). */
  readonly #waiters = new Set<() => void>();
  #closed = false;

  constructor(id: number, usesTopicIds: boolean, owner: AbortSignal, nowMs: number) {
    this.id = id;
    this.usesTopicIds = usesTopicIds;
    this.owner = owner;
    this.lastUsedMs = nowMs;
    this.nextSweepMs = nowMs + sessionSweepIntervalMs;
  }

  get closed(): boolean {
    return this.#closed;
  }

  keyOf(topic: string, topicId: string, partition: number): string {
    return `${this.usesTopicIds ? topicId : topic}:${partition}`;
  }

  /** Adds the partition or updates its offsets; either way it is read by the next fetch. */
  upsert(wanted: RequestedPartition): SessionPartition {
    const key = this.keyOf(wanted.topic, wanted.topicId, wanted.partition);
    let part = this.partitions.get(key);
    if (part === undefined) {
      part = new SessionPartition(key, wanted.topic, wanted.topicId, wanted.partition);
      this.partitions.set(key, part);
    }
    part.fetchOffset = wanted.fetchOffset;
    part.partitionMaxBytes = wanted.partitionMaxBytes;
    part.currentLeaderEpoch = wanted.currentLeaderEpoch;
    this.dirty.add(part);
    return part;
  }

  forget(topic: string, topicId: string, partition: number): void {
    const key = this.keyOf(topic, topicId, partition);
    const part = this.partitions.get(key);
    if (part === undefined) return;
    part.unsubscribe?.();
    this.partitions.delete(key);
    this.dirty.delete(part);
  }

  /** Points the partition at `log` (or none), subscribing to its high watermark. */
  attach(part: SessionPartition, log: PartitionLog | undefined): void {
    if (part.log === log && (log === undefined || part.unsubscribe !== undefined)) return;
    part.unsubscribe?.();
    part.unsubscribe = undefined;
    part.log = log;
    if (log !== undefined && !this.#closed) {
      part.unsubscribe = log.onHighWatermark(() => this.#changed(part));
    }
    this.dirty.add(part);
  }

  /** Resolves true once any partition changes after `seenChanges`; false on timeout or abort. */
  waitForChange(seenChanges: number, signal: AbortSignal, waitMs: number): Promise<boolean> {
    if (this.changes !== seenChanges) return Promise.resolve(true);
    if (signal.aborted || this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (woke: boolean): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.#waiters.delete(wake);
        resolve(woke);
      };
      const onAbort = (): void => finish(false);
      const wake = (): void => finish(true);
      const timer = setTimeout(() => finish(false), Math.max(0, waitMs));
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(wake);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const part of this.partitions.values()) {
      part.unsubscribe?.();
      part.unsubscribe = undefined;
    }
    this.dirty.clear();
    for (const wake of this.#waiters) wake();
  }

  #changed(part: SessionPartition): void {
    this.changes++;
    this.dirty.add(part);
    for (const wake of this.#waiters) wake();
  }
}

/** The broker's sessions, least recently used first. */
export class FetchSessionCache {
  readonly #sessions = new Map<number, FetchSession>();
  readonly #byOwner = new WeakMap<AbortSignal, Set<FetchSession>>();
  readonly #log: Logger;
  readonly #slots: () => number;

  constructor(log: Logger, slots: () => number) {
    this.#log = log;
    this.#slots = slots;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** A new session for `owner`, evicting the least recently used one when the cache is full. */
  create(owner: AbortSignal, usesTopicIds: boolean, nowMs: number): FetchSession | undefined {
    const slots = this.#slots();
    if (slots <= 0 || owner.aborted) return undefined;
    while (this.#sessions.size >= slots) {
      const oldest = this.#sessions.values().next().value;
      if (oldest === undefined) break;
      this.remove(oldest, 'evicted');
    }
    let id = randomInt(1, maxSessionId);
    while (this.#sessions.has(id)) id = randomInt(1, maxSessionId);
    const session = new FetchSession(id, usesTopicIds, owner, nowMs);
    this.#sessions.set(id, session);
    let owned = this.#byOwner.get(owner);
    if (owned === undefined) {
      const created = new Set<FetchSession>();
      owned = created;
      this.#byOwner.set(owner, created);
      owner.addEventListener(
        'abort',
        () => {
          for (const each of created) this.remove(each, 'connection closed');
        },
        { once: true },
      );
    }
    owned.add(session);
    if (owned.size > sessionsPerConnectionMax) {
      const oldest = owned.values().next().value;
      if (oldest !== undefined) this.remove(oldest, 'too many on one connection');
    }
    return session;
  }

  /** The session `id` if `owner` created it and it is still open. */
  get(id: number, owner: AbortSignal): FetchSession | undefined {
    const session = this.#sessions.get(id);
    return session?.owner === owner ? session : undefined;
  }

  /** Marks the session used now: it becomes the last to be evicted. */
  touch(session: FetchSession, nowMs: number): void {
    session.lastUsedMs = nowMs;
    if (this.#sessions.get(session.id) !== session) return;
    this.#sessions.delete(session.id);
    this.#sessions.set(session.id, session);
  }

  remove(session: FetchSession, reason: string): void {
    if (this.#sessions.get(session.id) !== session) return;
    this.#sessions.delete(session.id);
    this.#byOwner.get(session.owner)?.delete(session);
    session.close();
    // One line per session that served incremental fetches (so an operator, and the client
    // tests, see sessions used) or that the cache had no room for; not one per unused session.
    if (session.incrementalFetches === 0 && reason !== 'evicted') return;
    this.#log.info('fetch session closed', {
      sessionId: session.id,
      reason,
      partitions: session.partitions.size,
      incrementalFetches: session.incrementalFetches,
      partitionsRead: session.partitionsRead,
    });
  }
}

const caches = new WeakMap<BrokerRuntime, FetchSessionCache>();

/** The session cache of this broker (one per runtime, made on first use). */
export function fetchSessionsOf(runtime: BrokerRuntime): FetchSessionCache {
  let cache = caches.get(runtime);
  if (cache === undefined) {
    cache = new FetchSessionCache(runtime.log, () =>
      Number(runtime.settings.value(sessionCacheSlotsSetting) ?? 1000),
    );
    caches.set(runtime, cache);
  }
  return cache;
}

/** Kafka's epoch sequence: 1, 2, ... wrapping past the int32 maximum back to 1. */
export function nextEpoch(epoch: number): number {
  return epoch >= maxSessionId ? 1 : epoch + 1;
}
