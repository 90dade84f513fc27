/**
 * SegmentedWriteAheadLog: the WriteAheadLog over any SegmentFiles, with group commit and
 * recovery. FileWriteAheadLog and MemoryWriteAheadLog are this class over real and memory files.
 *
 * Group commit: appends queue up; one loop takes everything queued, writes it with one writev,
 * syncs, resolves those appends, and goes again at once (no timer). The loop only writes after
 * the previous sync returned, so each entry records `syncedPosition`, the end of data already
 * durable when it was written. Recovery uses that to tell a torn tail from corruption: a bad
 * frame followed by a valid entry whose syncedPosition lies beyond it was durable, so the
 * segment is corrupt (docs/FORMATS.md, "Recovery").
 *
 * Rolls: the next segment is created (header synced) in the background while the active one
 * fills, so a roll does no I/O inside the commit loop. Recovery therefore first drops the newest
 * segments that hold no entry; the one before them is the segment that was being written.
 */
import { FrameType, framePrefixBytes, frameVersion, readFrame } from './frame.ts';
import type { SegmentFiles, SegmentWriter } from './segment-files.ts';
import {
  type WalEntryInfo,
  decodeEntryHeader,
  decodeSegmentHeader,
  encodeSegmentHeader,
  entryBatchOffset,
  entryBatchOffsetOf,
  writeEntryHead,
} from './segment-format.ts';
import { StorageError, asStorageError } from './storage-error.ts';
import { noProducerFields } from './types.ts';
import type { WalAppend, WalSegmentInfo, WriteAheadLog } from './write-ahead-log.ts';

export interface WalOptions {
  segmentMaxBytes?: number;
  segmentMaxAgeMs?: number;
  now?: () => number;
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

const segmentLimitBytes = 0x7000_0000;

export class SegmentedWriteAheadLog implements WriteAheadLog {
  readonly files: SegmentFiles;
  readonly #segmentMaxBytes: number;
  readonly #segmentMaxAgeMs: number;
  readonly #now: () => number;
  readonly #listeners: ((segment: WalSegmentInfo) => void)[] = [];
  #queue: PendingAppend[] = [];
  #active: ActiveSegment | undefined;
  #next: { segmentId: number; segment: Promise<ActiveSegment> } | undefined;
  #running = false;
  #rollRequested = false;
  #failure: StorageError | undefined;
  #closed = false;
  #idleWaiters: (() => void)[] = [];

  constructor(files: SegmentFiles, options: WalOptions = {}) {
    this.files = files;
    this.#segmentMaxBytes = Math.min(
      options.segmentMaxBytes ?? 64 * 1024 * 1024,
      segmentLimitBytes,
    );
    this.#segmentMaxAgeMs = options.segmentMaxAgeMs ?? 10 * 60 * 1000;
    this.#now = options.now ?? Date.now;
  }

  async recover(): Promise<WalSegmentInfo[]> {
    const ids = await this.#dropUnusedTail(await this.files.list());
    const segments: WalSegmentInfo[] = [];
    for (const [i, segmentId] of ids.entries()) {
      const data = await this.files.readAll(segmentId);
      const scan = scanSegment(segmentId, data, i === ids.length - 1);
      if (scan === undefined) {
        await this.files.remove(segmentId);
        continue;
      }
      if (scan.endPosition < data.length) await this.files.truncate(segmentId, scan.endPosition);
      segments.push(scan);
    }
    return segments;
  }

  /**
   * Removes the newest segments that never received an entry (the successor prepared ahead of
   * time, or one created just before a crash): the segment before them is the one being written.
   */
  async #dropUnusedTail(ids: readonly number[]): Promise<number[]> {
    const kept = [...ids];
    for (let last = kept.at(-1); last !== undefined; last = kept.at(-1)) {
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
    // A microtask, not a timer: appends made in the same tick share the first write.
    queueMicrotask(() => void this.#run());
  }

  #whenIdle(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async #run(): Promise<void> {
    try {
      while (this.#failure === undefined && (this.#queue.length > 0 || this.#rollRequested)) {
        const group = this.#queue;
        this.#queue = [];
        try {
          await this.#rollIfNeeded(group);
          if (group.length > 0) await this.#writeGroup(group);
        } catch (error: unknown) {
          this.#failure = asStorageError(error, 'write-ahead log write failed');
          for (const pending of [...group, ...this.#queue]) pending.reject(this.#failure);
          this.#queue = [];
        }
      }
    } finally {
      this.#running = false;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
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
    await active.writer.writev(buffers, active.size);
    await active.writer.sync();
    active.size = position;
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
    // Observed here so a failure is not unhandled; the roll that takes it rethrows it.
    void segment.catch(() => undefined);
    this.#next = { segmentId, segment };
  }

  async #takeNextSegment(segmentId: number): Promise<ActiveSegment> {
    const next = this.#next;
    this.#next = undefined;
    if (next === undefined || next.segmentId !== segmentId) return this.#createSegment(segmentId);
    const segment = await next.segment;
    segment.createdAtMs = this.#now();
    return segment;
  }

  async #createSegment(segmentId: number): Promise<ActiveSegment> {
    const createdAtMs = this.#now();
    const writer = await this.files.create(segmentId);
    const header = encodeSegmentHeader(segmentId, createdAtMs);
    await writer.writev([header], 0);
    await writer.sync();
    return { segmentId, writer, createdAtMs, size: header.length, entries: [] };
  }
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

/**
 * Reads a segment's entries. Returns undefined for a last segment whose header never became
 * durable (created just before a crash). Throws CORRUPT_DATA for damage inside durable data.
 */
export function scanSegment(
  segmentId: number,
  data: Buffer,
  isLast: boolean,
): WalSegmentInfo | undefined {
  const header = readFrame(data, 0);
  if (header.kind !== 'frame' || header.type !== FrameType.segmentHeader) {
    if (isLast) return undefined;
    throw corrupt(segmentId, 0, 'bad segment header');
  }
  if (decodeSegmentHeader(header.body).segmentId !== segmentId) {
    throw corrupt(segmentId, 0, 'segment header names another segment');
  }
  const entries: WalEntryInfo[] = [];
  let position = header.end;
  for (;;) {
    const frame = readFrame(data, position);
    if (frame.kind === 'end') break;
    if (frame.kind === 'torn') {
      checkTornTail(segmentId, data, position, isLast, frame.reason);
      break;
    }
    // A trailer (index) on a segment not yet recorded as an object: it is rewritten on sealing.
    if (frame.type === FrameType.objectIndex) break;
    if (frame.type !== FrameType.walEntry) throw corrupt(segmentId, position, 'unexpected frame');
    const fields = decodeEntryHeader(frame.body, frame.version);
    const batchOffset = entryBatchOffsetOf(frame.version);
    entries.push({
      topicId: fields.topicId,
      partition: fields.partition,
      baseOffset: fields.baseOffset,
      lastOffsetDelta: fields.lastOffsetDelta,
      maxTimestamp: fields.maxTimestamp,
      recordCount: fields.recordCount,
      producerId: fields.producerId,
      producerEpoch: fields.producerEpoch,
      baseSequence: fields.baseSequence,
      txn: fields.txn,
      entryVersion: frame.version,
      segmentId,
      position: position + batchOffset,
      sizeBytes: frame.end - position - batchOffset,
    });
    position = frame.end;
  }
  return { segmentId, entries, endPosition: position };
}

/** True for a segment whose header is missing or torn, or with nothing but zeros after it. */
function holdsNoEntries(data: Buffer): boolean {
  const header = readFrame(data, 0);
  if (header.kind !== 'frame' || header.type !== FrameType.segmentHeader) return true;
  return isAllZero(data, header.end);
}

function checkTornTail(
  segmentId: number,
  data: Buffer,
  position: number,
  isLast: boolean,
  reason: string,
): void {
  if (!isLast) {
    // A sealed segment was fully synced before the next one began; only a trailer written
    // later may be torn: a short prefix, an index frame, or zeros from an extended file.
    if (data.length - position < framePrefixBytes) return;
    if (data[position + 9] === FrameType.objectIndex) return;
    if (isAllZero(data, position)) return;
    throw corrupt(segmentId, position, reason);
  }
  const provenDurable = durableEntryAfter(data, position);
  if (provenDurable !== undefined) {
    throw corrupt(
      segmentId,
      position,
      `${reason}; the entry at ${provenDurable} proves this data was synced`,
    );
  }
}

/** Position of a valid entry after `position` written after data past `position` was synced. */
function durableEntryAfter(data: Buffer, position: number): number | undefined {
  let first: number | undefined;
  for (let version = 1; version <= frameVersion; version++) {
    const found = durableEntryOfVersion(data, position, version);
    if (found !== undefined && (first === undefined || found < first)) first = found;
  }
  return first;
}

function durableEntryOfVersion(
  data: Buffer,
  position: number,
  version: number,
): number | undefined {
  const marker = Buffer.from([version, FrameType.walEntry]);
  let search = position + 1 + 8;
  for (;;) {
    const found = data.indexOf(marker, search);
    if (found < 0) return undefined;
    const candidate = found - 8;
    const frame = readFrame(data, candidate);
    if (
      frame.kind === 'frame' &&
      frame.version === version &&
      frame.body.length >= entryBatchOffsetOf(version) - framePrefixBytes
    ) {
      if (decodeEntryHeader(frame.body, version).syncedPosition > position) return candidate;
    }
    search = found + 1;
  }
}

function isAllZero(data: Buffer, from: number): boolean {
  for (let i = from; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}

function corrupt(segmentId: number, position: number, reason: string): StorageError {
  return new StorageError(
    'CORRUPT_DATA',
    `WAL segment ${segmentId} is corrupt at byte ${position} (${reason}); refusing to open ` +
      'because acknowledged data may be lost — restore the segment or remove it by hand',
  );
}
