/**
 * SegmentedWriteAheadLog: the WriteAheadLog over any SegmentFiles, with group commit and
 * recovery. FileWriteAheadLog and MemoryWriteAheadLog are this class over real and memory files.
 *
 * Group commit: appends queue up; one loop takes everything queued, writes it with one writev,
 * syncs, resolves those appends, and goes again (no timer). It takes each group in the check
 * phase of the event loop (setImmediate), after every socket read of the turn has queued its
 * appends, not in the microtask after the first one. The loop only writes after
 * the previous sync returned, so each entry records `syncedPosition`, the end of data already
 * durable when it was written. Recovery uses that to tell a torn tail from corruption: a bad
 * frame followed by a valid entry whose syncedPosition lies beyond it was durable, so the
 * segment is corrupt (docs/FORMATS.md, "Recovery"). When the loop goes idle it rewrites the
 * sync point (wal-sync-point.ts), which covers the last group too.
 *
 * Failures (docs/adr/0014): a write that fails because the disk is full (ENOSPC, EDQUOT) is
 * rolled back (the segment is cut to the end of the last good group, so no rejected entry can
 * come back after a restart) and only that group's appends are rejected; the next group tries
 * again, so the log recovers by itself once space returns. Any other write or sync failure
 * (EIO, ...) fails the log for good: what reached the disk is unknown, and a restart's recovery
 * is the reliable way back, so `onFailure` is told (the broker exits non-zero).
 *
 * Rolls: the next segment is created (header synced) in the background while the active one
 * fills, so a roll does no I/O inside the commit loop. Recovery therefore first drops the newest
 * segments that hold no entry; the one before them is the segment that was being written.
 */
import { frameVersion } from './frame.ts';
import type { SegmentFiles, SegmentWriter } from './segment-files.ts';
import {
  type WalEntryInfo,
  encodeSegmentHeader,
  entryBatchOffset,
  writeEntryHead,
} from './segment-format.ts';
import { StorageError, asStorageError } from './storage-error.ts';
import { noProducerFields } from './types.ts';
import { type TornTail, holdsNoEntries, scanSegment } from './wal-segment-scan.ts';
import { type SyncPoint, decodeSyncPoint, encodeSyncPoint } from './wal-sync-point.ts';
import type { WalAppend, WalSegmentInfo, WalStats, WriteAheadLog } from './write-ahead-log.ts';

export { scanSegment } from './wal-segment-scan.ts';

/** Where the WAL reports what an operator must know (the broker's logger fits). */
export interface WalLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface WalOptions {
  segmentMaxBytes?: number;
  segmentMaxAgeMs?: number;
  now?: () => number;
  log?: WalLog;
  /** Called once when the log has failed for good (an I/O error other than a full disk). */
  onFailure?: (error: StorageError) => void;
  /** Told after each group commit: appends, bytes written, write-to-durable milliseconds. */
  onGroupCommitted?: (appends: number, bytes: number, ms: number) => void;
}

interface PendingAppend {
  entry: WalAppend;
  resolve: (info: WalEntryInfo) => void;
  reject: (error: unknown) => void;
}

interface ActiveSegment {
  segmentId: number;
  writer: SegmentWriter;
  createdAtMs: number;
  size: number;
  entries: WalEntryInfo[];
}

/** Errors after which the disk is fine but full: roll back and let the next write retry. */
const diskFullCodes = new Set(['ENOSPC', 'EDQUOT']);
const segmentLimitBytes = 0x7000_0000;
const silentLog: WalLog = { info() {}, warn() {}, error() {} };
/**
 * Least time between two sync point rewrites, in ms. At a low steady rate the loop goes idle
 * after nearly every group, and a rewrite each time doubled the disk flushes (about a fifth of
 * the broker's CPU with 200 producers sending 50 records/s each).
 */
const syncPointMinIntervalMs = 10;

export class SegmentedWriteAheadLog implements WriteAheadLog {
  readonly files: SegmentFiles;
  readonly #segmentMaxBytes: number;
  readonly #segmentMaxAgeMs: number;
  readonly #now: () => number;
  readonly #log: WalLog;
  readonly #onFailure: ((error: StorageError) => void) | undefined;
  readonly #onGroupCommitted: WalOptions['onGroupCommitted'];
  readonly #listeners: ((segment: WalSegmentInfo) => void)[] = [];
  #queue: PendingAppend[] = [];
  #active: ActiveSegment | undefined;
  #next: { segmentId: number; segment: Promise<ActiveSegment> } | undefined;
  #running = false;
  #rollRequested = false;
  #failure: StorageError | undefined;
  #closed = false;
  #idleWaiters: (() => void)[] = [];
  /** Since when writes fail for lack of space, and how many appends were refused meanwhile. */
  #diskFull: { sinceMs: number; refused: number; error: string } | undefined;
  #syncPointWrite: Promise<void> | undefined;
  #syncPointWritten: SyncPoint | undefined;
  /** performance.now() when the last rewrite started, and the timer of a deferred one. */
  #syncPointStartedAt = Number.NEGATIVE_INFINITY;
  #syncPointTimer: NodeJS.Timeout | undefined;
  readonly #stats: WalStats = {
    tornTailsCut: 0,
    tornTailBytesCut: 0,
    tornTailRecordsCut: 0,
    diskFullRejectedAppends: 0,
    diskFull: false,
    failed: false,
  };

  constructor(files: SegmentFiles, options: WalOptions = {}) {
    this.files = files;
    this.#segmentMaxBytes = Math.min(
      options.segmentMaxBytes ?? 64 * 1024 * 1024,
      segmentLimitBytes,
    );
    this.#segmentMaxAgeMs = options.segmentMaxAgeMs ?? 10 * 60 * 1000;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? silentLog;
    this.#onFailure = options.onFailure;
    this.#onGroupCommitted = options.onGroupCommitted;
  }

  stats(): WalStats {
    return { ...this.#stats, diskFull: this.#diskFull !== undefined };
  }

  async recover(): Promise<WalSegmentInfo[]> {
    const syncPoint = await this.#readSyncPoint();
    const ids = await this.#dropUnusedTail(await this.files.list(), syncPoint);
    const segments: WalSegmentInfo[] = [];
    for (const [i, segmentId] of ids.entries()) {
      const data = await this.files.readAll(segmentId);
      const isLast = i === ids.length - 1;
      const durableEnd = isLast && syncPoint?.segmentId === segmentId ? syncPoint.position : 0;
      const scan = scanSegment(segmentId, data, isLast, durableEnd);
      if (scan === undefined) {
        await this.files.remove(segmentId);
        continue;
      }
      if (scan.endPosition < data.length) await this.files.truncate(segmentId, scan.endPosition);
      if (scan.tornTail !== undefined) this.#reportTornTail(scan.tornTail);
      segments.push({
        segmentId: scan.segmentId,
        entries: scan.entries,
        endPosition: scan.endPosition,
      });
    }
    return segments;
  }

  async #readSyncPoint(): Promise<SyncPoint | undefined> {
    const bytes = await this.files.readSyncPoint?.();
    const point = decodeSyncPoint(bytes);
    if (bytes !== undefined && point === undefined) {
      this.#log.warn('write-ahead log: the sync point is unreadable, ignored', {
        bytes: bytes.length,
      });
    }
    return point;
  }

  #reportTornTail(tail: TornTail): void {
    this.#stats.tornTailsCut += 1;
    this.#stats.tornTailBytesCut += tail.bytes;
    this.#stats.tornTailRecordsCut += tail.records;
    this.#log.warn('write-ahead log: cut a torn tail (an unacknowledged write cut by a crash)', {
      file: this.files.pathOf(tail.segmentId) ?? `segment ${tail.segmentId}`,
      position: tail.position,
      bytes: tail.bytes,
      records: tail.records,
      reason: tail.reason,
    });
  }

  /**
   * Removes the newest segments that never received an entry (the successor prepared ahead of
   * time, or one created just before a crash): the segment before them is the one being written.
   * A segment the sync point says held synced entries is kept, for the scan to judge.
   */
  async #dropUnusedTail(
    ids: readonly number[],
    syncPoint: SyncPoint | undefined,
  ): Promise<number[]> {
    const kept = [...ids];
    for (let last = kept.at(-1); last !== undefined; last = kept.at(-1)) {
      if (syncPoint?.segmentId === last) break;
      if (!holdsNoEntries(await this.files.readAll(last))) break;
      await this.files.remove(last);
      kept.pop();
    }
    return kept;
  }

  async start(firstSegmentId: number): Promise<void> {
    this.#active = await this.#createSegment(firstSegmentId);
    this.#prepareNextSegment(firstSegmentId + 1);
  }

  append(entry: WalAppend): Promise<WalEntryInfo> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#closed || this.#active === undefined) {
      return Promise.reject(new StorageError('CLOSED', 'write-ahead log is not open'));
    }
    const promise = new Promise<WalEntryInfo>((resolve, reject) => {
      this.#queue.push({ entry, resolve, reject });
    });
    this.#kick();
    return promise;
  }

  rollIfDue(): void {
    const active = this.#active;
    if (active === undefined || active.entries.length === 0) return;
    if (this.#now() - active.createdAtMs >= this.#segmentMaxAgeMs) void this.roll();
  }

  roll(): Promise<void> {
    this.#rollRequested = true;
    this.#kick();
    return this.#whenIdle();
  }

  onSegmentSealed(listener: (segment: WalSegmentInfo) => void): void {
    this.#listeners.push(listener);
  }

  read(segmentId: number, position: number, length: number): Promise<Buffer> {
    return this.files.read(segmentId, position, length);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#whenIdle();
    clearTimeout(this.#syncPointTimer);
    this.#syncPointTimer = undefined;
    await this.#syncPointWrite;
    // A rewrite the interval deferred is done now: a clean stop leaves the sync point current.
    this.#markSynced();
    await this.#syncPointWrite;
    const active = this.#active;
    this.#active = undefined;
    if (active !== undefined) await active.writer.close().catch(() => undefined);
    const prepared = await this.#next?.segment.catch(() => undefined);
    this.#next = undefined;
    await prepared?.writer.close().catch(() => undefined);
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#run();
  }

  #whenIdle(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async #run(): Promise<void> {
    try {
      while (this.#failure === undefined && (this.#queue.length > 0 || this.#rollRequested)) {
        await endOfTurn();
        const group = this.#queue;
        this.#queue = [];
        try {
          await this.#rollIfNeeded(group);
          if (group.length > 0) await this.#writeGroup(group);
        } catch (error: unknown) {
          await this.#handleWriteFailure(group, error);
        }
      }
    } finally {
      this.#running = false;
      this.#markSynced();
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /**
   * A group's write or sync failed. Its bytes are cut off the segment first (they may be partly
   * on disk, whole entries included, and their appends are about to be answered with an error).
   * A full disk then only rejects this group; anything else fails the log for good.
   */
  async #handleWriteFailure(group: readonly PendingAppend[], error: unknown): Promise<void> {
    const active = this.#active;
    let rollBackError: unknown;
    if (active !== undefined) {
      await this.files.truncate(active.segmentId, active.size).catch((cause: unknown) => {
        rollBackError = cause;
      });
    }
    const code = errnoOf(error);
    if (code !== undefined && diskFullCodes.has(code) && rollBackError === undefined) {
      const failure = new StorageError('STORAGE_FAILURE', `write-ahead log: disk full (${code})`, {
        cause: error,
      });
      this.#noteDiskFull(group.length, code);
      for (const pending of group) pending.reject(failure);
      return;
    }
    const failure = asStorageError(error, 'write-ahead log write failed');
    this.#failure = failure;
    this.#stats.failed = true;
    this.#log.error('write-ahead log failed; refusing every write until restarted', {
      error: failure.message,
      errno: code,
      segment: active?.segmentId,
      rollBack: rollBackError === undefined ? 'done' : String(rollBackError),
    });
    for (const pending of [...group, ...this.#queue]) pending.reject(failure);
    this.#queue = [];
    this.#onFailure?.(failure);
  }

  #noteDiskFull(refused: number, code: string): void {
    this.#stats.diskFullRejectedAppends += refused;
    if (this.#diskFull !== undefined) {
      this.#diskFull.refused += refused;
      return;
    }
    this.#diskFull = { sinceMs: this.#now(), refused, error: code };
    this.#log.warn('write-ahead log: disk full, rejecting appends until space returns', {
      errno: code,
      segment: this.#active?.segmentId,
      position: this.#active?.size,
    });
  }

  #noteWritten(): void {
    const full = this.#diskFull;
    if (full === undefined) return;
    this.#diskFull = undefined;
    this.#log.info('write-ahead log: writing again after a full disk', {
      errno: full.error,
      rejectedAppends: full.refused,
      fullForMs: this.#now() - full.sinceMs,
    });
  }

  /**
   * Rewrites the sync point to the active segment's end (all synced: the loop is idle), outside
   * the commit loop so no append waits for it. One rewrite at a time, at most one per
   * `syncPointMinIntervalMs` (a timer catches up with a deferred one); the next idle moment
   * catches up after a rewrite. A failure is ignored: the sync point is only ever behind, never
   * ahead.
   */
  #markSynced(): void {
    const active = this.#active;
    const write = this.files.writeSyncPoint?.bind(this.files);
    if (write === undefined || active === undefined || this.#syncPointWrite !== undefined) return;
    if (this.#failure !== undefined || active.entries.length === 0) return;
    const point = { segmentId: active.segmentId, position: active.size };
    const last = this.#syncPointWritten;
    if (last?.segmentId === point.segmentId && last.position === point.position) return;
    const waitMs = this.#syncPointStartedAt + syncPointMinIntervalMs - performance.now();
    if (waitMs > 0 && !this.#closed) {
      this.#syncPointTimer ??= setTimeout(() => {
        this.#syncPointTimer = undefined;
        if (!this.#running) this.#markSynced();
      }, waitMs).unref();
      return;
    }
    this.#syncPointStartedAt = performance.now();
    this.#syncPointWrite = write(encodeSyncPoint(point)).then(
      () => {
        this.#syncPointWritten = point;
        this.#syncPointWrite = undefined;
        if (!this.#running && !this.#closed) this.#markSynced();
      },
      () => {
        this.#syncPointWrite = undefined;
      },
    );
  }

  async #rollIfNeeded(group: readonly PendingAppend[]): Promise<void> {
    const active = this.#active;
    if (active === undefined) throw new StorageError('CLOSED', 'write-ahead log is not open');
    let incoming = 0;
    for (const pending of group) incoming += entryBatchOffset + pending.entry.batch.length;
    const full = active.size + incoming > this.#segmentMaxBytes;
    const old = this.#now() - active.createdAtMs >= this.#segmentMaxAgeMs;
    const requested = this.#rollRequested;
    this.#rollRequested = false;
    if (active.entries.length === 0 || !(full || old || requested)) return;
    // Every byte of the active segment is already synced: the loop syncs before it returns here.
    // The successor was created and synced in the background, so rolling costs no I/O here.
    this.#active = await this.#takeNextSegment(active.segmentId + 1);
    this.#prepareNextSegment(active.segmentId + 2);
    void active.writer.close().catch(() => undefined);
    const sealed = {
      segmentId: active.segmentId,
      entries: active.entries,
      endPosition: active.size,
    };
    for (const listener of this.#listeners) listener(sealed);
  }

  /**
   * One writev and one sync for the whole group. The frame heads of all entries share one buffer
   * and each batch goes out as its own buffer (no copy, no per-entry concatenation): the bytes
   * on disk are exactly those of encodeEntry per entry.
   */
  async #writeGroup(group: readonly PendingAppend[]): Promise<void> {
    const active = this.#active;
    if (active === undefined) throw new StorageError('CLOSED', 'write-ahead log is not open');
    const syncedPosition = active.size;
    const count = group.length;
    const heads = Buffer.allocUnsafe(count * entryBatchOffset);
    const buffers: Buffer[] = [];
    const infos: WalEntryInfo[] = [];
    let position = active.size;
    for (let i = 0; i < count; i++) {
      const { entry } = group[i] as PendingAppend;
      const info = entryInfo(entry, active.segmentId, position + entryBatchOffset);
      const offset = i * entryBatchOffset;
      const { crcChecked = false } = entry.meta;
      writeEntryHead(heads, offset, info, entry.batch, syncedPosition, crcChecked);
      buffers.push(heads.subarray(offset, offset + entryBatchOffset), entry.batch);
      infos.push(info);
      position += entryBatchOffset + entry.batch.length;
    }
    const started = performance.now();
    await active.writer.writev(buffers, active.size);
    await active.writer.sync();
    this.#onGroupCommitted?.(count, position - active.size, performance.now() - started);
    active.size = position;
    this.#noteWritten();
    for (let i = 0; i < count; i++) {
      const info = infos[i] as WalEntryInfo;
      active.entries.push(info);
      (group[i] as PendingAppend).resolve(info);
    }
  }

  /**
   * Creates segment `segmentId` (header written and synced) in the background, so that the roll
   * to it does no I/O inside the commit loop. Recovery drops such a segment while it holds no
   * entries (see `recover`).
   */
  #prepareNextSegment(segmentId: number): void {
    const segment = this.#createSegment(segmentId);
    // Observed here so a failure is not unhandled; the roll that takes it tries again.
    void segment.catch(() => undefined);
    this.#next = { segmentId, segment };
  }

  async #takeNextSegment(segmentId: number): Promise<ActiveSegment> {
    const next = this.#next;
    this.#next = undefined;
    if (next === undefined || next.segmentId !== segmentId) return this.#createSegment(segmentId);
    let segment: ActiveSegment;
    try {
      segment = await next.segment;
    } catch {
      // Prepared while the disk was full, say: its file is gone again (createSegment), retry.
      return this.#createSegment(segmentId);
    }
    segment.createdAtMs = this.#now();
    return segment;
  }

  /** A new segment with its header synced; on failure no file is left behind to trip a retry. */
  async #createSegment(segmentId: number): Promise<ActiveSegment> {
    const createdAtMs = this.#now();
    let writer: SegmentWriter | undefined;
    try {
      writer = await this.files.create(segmentId);
      const header = encodeSegmentHeader(segmentId, createdAtMs);
      await writer.writev([header], 0);
      await writer.sync();
      return { segmentId, writer, createdAtMs, size: header.length, entries: [] };
    } catch (error: unknown) {
      await writer?.close().catch(() => undefined);
      await this.files.remove(segmentId).catch(() => undefined);
      throw error;
    }
  }
}

/**
 * Resolves in the check phase of this event-loop turn, after its poll phase has run every I/O
 * callback that was ready. The group loop waits for it before taking a group: a microtask would
 * take the group after the first request of the turn, and every request read after it in the
 * same turn then waited a whole write for the next group (with 200 producers sending 50 records/s
 * each, 40% of the groups held a single append; 17% now). An append read from a socket waits for
 * no timer: the check phase follows the poll phase in the same turn.
 */
function endOfTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The errno code (ENOSPC, EIO, ...) of an I/O error, looking through StorageError causes. */
function errnoOf(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    current = current.cause;
  }
  return undefined;
}

/** The index entry of `entry` written now, built field by field (no spreads on the hot path). */
function entryInfo(entry: WalAppend, segmentId: number, position: number): WalEntryInfo {
  const { meta } = entry;
  const producer = meta.producer ?? noProducerFields;
  return {
    topicId: entry.topicId,
    partition: entry.partition,
    baseOffset: entry.baseOffset,
    lastOffsetDelta: meta.lastOffsetDelta,
    maxTimestamp: meta.maxTimestamp,
    recordCount: meta.recordCount,
    producerId: producer.producerId,
    producerEpoch: producer.producerEpoch,
    baseSequence: producer.baseSequence,
    txn: meta.txn,
    entryVersion: frameVersion,
    segmentId,
    position,
    sizeBytes: entry.batch.length,
  };
}
