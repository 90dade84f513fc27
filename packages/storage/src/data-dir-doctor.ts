/**
 * The operator's check of an embedded data directory, with the broker stopped (`tributary
 * doctor`, docs/adr/0013-damaged-data-and-kernel-lock.md): verifies every sealed object
 * recorded in the metadata store (footer, index, every entry's crc32c) and every WAL segment
 * (as recovery at open would scan it), and reports the damage by partition and offset range.
 *
 * With `skipDamaged`, each partition's log start offset moves past its last damaged batch (what
 * kafka-delete-records does): the broker then answers those offsets, and the ones before them,
 * with OFFSET_OUT_OF_RANGE and consumers reset by their auto.offset.reset policy. Damage in WAL
 * segments is reported, not repaired: the broker refuses to open on it, and the operator
 * restores the file or truncates it at the reported position (docs/FORMATS.md section 5).
 * The directory is locked for the whole run, so a running broker makes the doctor refuse.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DataDirLock } from './data-dir-lock.ts';
import { DirectoryObjectStore } from './directory-object-store.ts';
import { FrameType, readFrame } from './frame.ts';
import type { ObjectRange, ObjectRecord } from './metadata-store.ts';
import { verifyObject } from './object-verifier.ts';
import { SqliteMetadataStore } from './sqlite-metadata-store.ts';
import { StorageError } from './storage-error.ts';
import { type TopicId, partitionKey, topicIdFromBytes } from './types.ts';
import { holdsNoEntries, scanSegment } from './wal-segment-scan.ts';
import { decodeSyncPoint } from './wal-sync-point.ts';

export interface DoctorOptions {
  readonly dataDir: string;
  /** Move each damaged partition's log start offset past its damage. */
  readonly skipDamaged: boolean;
  /** Called after each object or segment checked. */
  readonly progress?: (progress: DoctorProgress) => void;
}

export interface DoctorProgress {
  readonly objectsChecked: number;
  readonly objectCount: number;
  readonly segmentsChecked: number;
  readonly segmentCount: number;
  readonly bytesChecked: number;
}

/** Damaged offsets of one partition inside one object or WAL segment. */
export interface DamagedRange {
  /** Object name (`objects/...`) or WAL segment file (`wal/...`). */
  readonly file: string;
  /** Byte position of the damage in that file. */
  readonly position: number;
  readonly topic: string;
  /** Undefined when the damage cannot be tied to a topic (WAL damage before any entry). */
  readonly topicId: TopicId | undefined;
  readonly partition: number;
  /** Offsets of the damaged batch (or range); undefined for WAL damage past the last entry. */
  readonly firstOffset: bigint | undefined;
  readonly lastOffset: bigint | undefined;
  readonly reason: string;
}

export interface DoctorReport {
  readonly objectsChecked: number;
  readonly segmentsChecked: number;
  readonly batchesChecked: number;
  readonly bytesChecked: number;
  readonly damaged: readonly DamagedRange[];
  /** Torn tails of the newest WAL segment: never acknowledged, cut by the broker at start. */
  readonly tornTails: readonly { file: string; position: number; bytes: number }[];
  /** Log start offsets moved by skipDamaged. */
  readonly skipped: readonly { topic: string; partition: number; logStartOffset: bigint }[];
}

interface Context {
  readonly names: ReadonlyMap<TopicId, string>;
  readonly starts: Map<string, bigint>;
  readonly damaged: DamagedRange[];
  batches: number;
  bytes: number;
}

export async function doctorDataDir(options: DoctorOptions): Promise<DoctorReport> {
  const { dataDir } = options;
  const metadataPath = join(dataDir, 'metadata.sqlite');
  if (!(await exists(metadataPath))) {
    throw new StorageError('STORAGE_FAILURE', `${dataDir} is not a Tributary data directory`);
  }
  const lock = await DataDirLock.acquire(dataDir);
  const metadata = SqliteMetadataStore.open(metadataPath);
  try {
    const store = await DirectoryObjectStore.open(join(dataDir, 'objects'));
    try {
      const names = new Map((await metadata.listTopics()).map((t) => [t.topicId, t.name]));
      const starts = new Map<string, bigint>();
      for (const start of await metadata.listLogStartOffsets()) {
        starts.set(partitionKey(start.topicId, start.partition), start.logStartOffset);
      }
      const context: Context = { names, starts, damaged: [], batches: 0, bytes: 0 };
      const objects = await metadata.listObjects();
      const segments = await walSegmentsOf(join(dataDir, 'wal'));
      const progress = (objectsChecked: number, segmentsChecked: number): void =>
        options.progress?.({
          objectsChecked,
          objectCount: objects.length,
          segmentsChecked,
          segmentCount: segments.length,
          bytesChecked: context.bytes,
        });
      for (const [index, object] of objects.entries()) {
        await checkObject(store, object, context);
        progress(index + 1, 0);
      }
      const tornTails = await checkWal(join(dataDir, 'wal'), segments, context, (checked) =>
        progress(objects.length, checked),
      );
      const skipped = options.skipDamaged ? await skip(metadata, context) : [];
      return {
        objectsChecked: objects.length,
        segmentsChecked: segments.length,
        batchesChecked: context.batches,
        bytesChecked: context.bytes,
        damaged: context.damaged,
        tornTails,
        skipped,
      };
    } finally {
      await store.close();
    }
  } finally {
    await metadata.close();
    await lock.release();
  }
}

/** Damage of `object` that some partition still references (at or above its log start). */
async function checkObject(
  store: DirectoryObjectStore,
  object: ObjectRecord,
  context: Context,
): Promise<void> {
  const live = object.ranges.filter((range) => isLive(range, range.lastOffset, context));
  if (live.length === 0) return;
  const file = `objects/${object.name}`;
  const wholeRanges = (position: number, reason: string): void => {
    for (const range of live) {
      context.damaged.push(damagedOf(file, position, range, range, reason, context));
    }
  };
  if ((await store.head(object.name)) === undefined) {
    wholeRanges(0, 'the object is recorded but missing');
    return;
  }
  const data = await store.getAll(object.name);
  context.bytes += data.length;
  const verdict = await verifyObject(data, object.segmentId);
  if (verdict.trailerProblem !== undefined) {
    wholeRanges(data.length, `unreadable index or footer: ${verdict.trailerProblem}`);
    return;
  }
  for (const entry of verdict.entries) {
    if (live.some((range) => holds(range, entry.topicId, entry.partition, entry.baseOffset))) {
      context.batches++;
    }
  }
  for (const { entry, framePosition, reason } of verdict.damaged) {
    const range = live.find((r) => holds(r, entry.topicId, entry.partition, entry.baseOffset));
    const last = entry.baseOffset + BigInt(entry.lastOffsetDelta);
    if (range === undefined || !isLive(range, last, context)) continue;
    const offsets = { baseOffset: entry.baseOffset, lastOffset: last };
    context.damaged.push(damagedOf(file, framePosition, range, offsets, reason, context));
  }
}

function damagedOf(
  file: string,
  position: number,
  where: { topicId: TopicId; partition: number },
  offsets: { baseOffset: bigint; lastOffset: bigint },
  reason: string,
  context: Context,
): DamagedRange {
  return {
    file,
    position,
    topic: context.names.get(where.topicId) ?? `(topic id ${where.topicId})`,
    topicId: where.topicId,
    partition: where.partition,
    firstOffset: offsets.baseOffset,
    lastOffset: offsets.lastOffset,
    reason,
  };
}

function isLive(
  where: { topicId: TopicId; partition: number },
  lastOffset: bigint,
  context: Context,
): boolean {
  if (!context.names.has(where.topicId)) return false;
  const start = context.starts.get(partitionKey(where.topicId, where.partition)) ?? 0n;
  return lastOffset >= start;
}

function holds(range: ObjectRange, topicId: TopicId, partition: number, offset: bigint): boolean {
  return (
    range.topicId === topicId &&
    range.partition === partition &&
    offset >= range.baseOffset &&
    offset <= range.lastOffset
  );
}

/** Segment ids in wal/, oldest first. */
async function walSegmentsOf(directory: string): Promise<number[]> {
  const names = await readdir(directory).catch(() => [] as string[]);
  return names
    .filter((name) => /^\d{20}\.wal$/.test(name))
    .map((name) => Number(name.slice(0, 20)))
    .toSorted((a, b) => a - b);
}

/**
 * Scans each segment as recovery would. The newest segment holding an entry may end in a torn
 * tail (the unsynced end of its last write group), which is reported but is not damage.
 */
async function checkWal(
  directory: string,
  segments: readonly number[],
  context: Context,
  progress: (checked: number) => void,
): Promise<{ file: string; position: number; bytes: number }[]> {
  const contents = new Map<number, Buffer>();
  let newest = -1;
  for (const segmentId of segments.toReversed()) {
    const data = await readFile(join(directory, walName(segmentId)));
    contents.set(segmentId, data);
    if (newest < 0 && !holdsNoEntries(data)) newest = segmentId;
  }
  const syncPoint = decodeSyncPoint(
    await readFile(join(directory, 'sync-point')).catch(() => undefined),
  );
  const tornTails: { file: string; position: number; bytes: number }[] = [];
  for (const [index, segmentId] of segments.entries()) {
    const data = contents.get(segmentId) as Buffer;
    contents.delete(segmentId);
    context.bytes += data.length;
    const file = `wal/${walName(segmentId)}`;
    try {
      const durableEnd = syncPoint?.segmentId === segmentId ? syncPoint.position : 0;
      const scanned = scanSegment(segmentId, data, segmentId >= newest, durableEnd);
      context.batches += scanned?.entries.length ?? 0;
      const torn = scanned?.tornTail;
      if (torn !== undefined) tornTails.push({ file, position: torn.position, bytes: torn.bytes });
    } catch (error: unknown) {
      const reason = error instanceof Error ? error.message : String(error);
      context.damaged.push(walDamage(file, reason, data, context));
    }
    progress(index + 1);
  }
  return tornTails;
}

/** The partition damage in a WAL segment follows: the last entry before it, when readable. */
function walDamage(file: string, reason: string, data: Buffer, context: Context): DamagedRange {
  const position = Number(/at byte (\d+)/.exec(reason)?.[1] ?? 0);
  const before = lastEntryBefore(data, position);
  return {
    file,
    position,
    topic: before === undefined ? '(unknown)' : (context.names.get(before.topicId) ?? '(deleted)'),
    topicId: before?.topicId,
    partition: before?.partition ?? -1,
    firstOffset: undefined,
    lastOffset: undefined,
    reason,
  };
}

function lastEntryBefore(
  data: Buffer,
  limit: number,
): { topicId: TopicId; partition: number } | undefined {
  let found: { topicId: TopicId; partition: number } | undefined;
  let position = 0;
  while (position < limit) {
    const frame = readFrame(data, position);
    if (frame.kind !== 'frame') break;
    if (frame.type === FrameType.walEntry && frame.body.length >= 20) {
      found = {
        topicId: topicIdFromBytes(frame.body.subarray(0, 16)),
        partition: frame.body.readUInt32BE(16),
      };
    }
    position = frame.end;
  }
  return found;
}

function walName(segmentId: number): string {
  return `${String(segmentId).padStart(20, '0')}.wal`;
}

/** Moves each damaged partition's log start past its last damaged batch in an object. */
async function skip(
  metadata: SqliteMetadataStore,
  context: Context,
): Promise<{ topic: string; partition: number; logStartOffset: bigint }[]> {
  const targets = new Map<string, { topicId: TopicId; partition: number; start: bigint }>();
  for (const { topicId, partition, lastOffset } of context.damaged) {
    if (topicId === undefined || lastOffset === undefined) continue;
    const key = partitionKey(topicId, partition);
    const known = targets.get(key);
    if (known === undefined || known.start <= lastOffset) {
      targets.set(key, { topicId, partition, start: lastOffset + 1n });
    }
  }
  const skipped: { topic: string; partition: number; logStartOffset: bigint }[] = [];
  for (const [key, target] of targets) {
    if (target.start <= (context.starts.get(key) ?? 0n)) continue;
    await metadata.setLogStartOffset(target.topicId, target.partition, target.start);
    context.starts.set(key, target.start);
    const topic = context.names.get(target.topicId) ?? '';
    skipped.push({ topic, partition: target.partition, logStartOffset: target.start });
  }
  return skipped;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
