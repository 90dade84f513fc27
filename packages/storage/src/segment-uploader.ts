/**
 * SegmentUploader: turns sealed WAL segments into objects, one at a time, oldest first.
 *
 * Steps for segment N, each durable before the next (docs/FORMATS.md, "Sealing"):
 *   1. append the index and footer to the segment file and sync it;
 *   2. record object N and its ranges in the metadata store (the commit point);
 *   3. hand the file to the object store: a rename for a directory store, else a put of its
 *      bytes followed by deleting the segment.
 * A crash before 2 leaves a WAL segment that recovery replays (cutting a partial trailer) and
 * seals again; a crash after 2 leaves a segment that recovery hands off again (step 3 is
 * idempotent). Until 3 completes, reads of the segment still go to the WAL file.
 * After 3 the object is read back from the store and verified (footer, index, every entry's
 * crc32c, object-verifier.ts): damage found there is reported through `onDamaged` — the bytes
 * were acknowledged, so the upload stands and reads of the damaged batches fail loudly.
 */
import type { MetadataStore, ObjectRange, ObjectRecord } from './metadata-store.ts';
import type { ObjectStore } from './object-store.ts';
import type { ObjectVerdict } from './object-verifier.ts';
import { verifyHere } from './object-verify-thread.ts';
import type { SegmentFiles } from './segment-files.ts';
import { setImmediate } from 'node:timers/promises';
import {
  type WalEntryInfo,
  encodeObjectTrailerInSlices,
  inTimedSlices,
  segmentFileName,
} from './segment-format.ts';
import type { WalSegmentInfo } from './write-ahead-log.ts';

/** Lets the event loop serve what waits (I/O included) before the next slice of sealing. */
const pauseTurn = (): Promise<void> => setImmediate();

export function objectNameOf(segmentId: number): string {
  return segmentFileName(segmentId, '.obj');
}

/** A range being collected: its first entry, its last, and the largest timestamp so far. */
interface OpenRange {
  readonly first: WalEntryInfo;
  last: WalEntryInfo;
  maxTimestamp: bigint;
}

/**
 * Collects per-partition ranges of a segment's entries, for partitions `isLive` accepts (asked
 * once per partition). Each entry costs two lookups without allocation (topic id, then
 * partition); offsets are computed once per range at the end. (A string key and bigint
 * arithmetic per entry took ~20 ms on the event loop for 60,000 interleaved small batches.)
 */
class RangeCollector {
  readonly #isLive: (entry: WalEntryInfo) => boolean;
  readonly #byTopic = new Map<string, (OpenRange | null)[]>();
  readonly #open: OpenRange[] = [];

  constructor(isLive: (entry: WalEntryInfo) => boolean) {
    this.#isLive = isLive;
  }

  add(entries: readonly WalEntryInfo[], from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const entry = entries[i] as WalEntryInfo;
      let partitions = this.#byTopic.get(entry.topicId);
      if (partitions === undefined) this.#byTopic.set(entry.topicId, (partitions = []));
      const range = partitions[entry.partition];
      if (range === null) continue;
      if (range === undefined) {
        const live = this.#isLive(entry);
        const opened = live
          ? { first: entry, last: entry, maxTimestamp: entry.maxTimestamp }
          : null;
        partitions[entry.partition] = opened;
        if (opened !== null) this.#open.push(opened);
        continue;
      }
      range.last = entry;
      if (entry.maxTimestamp > range.maxTimestamp) range.maxTimestamp = entry.maxTimestamp;
    }
  }

  ranges(): ObjectRange[] {
    return this.#open.map(({ first, last, maxTimestamp }) => ({
      topicId: first.topicId,
      partition: first.partition,
      baseOffset: first.baseOffset,
      lastOffset: last.baseOffset + BigInt(last.lastOffsetDelta),
      position: first.position,
      sizeBytes: last.position + last.sizeBytes - first.position,
      maxTimestamp,
    }));
  }
}

/** Per-partition ranges of a segment's entries, for partitions `isLive` accepts. */
export function rangesOf(
  entries: readonly WalEntryInfo[],
  isLive: (entry: WalEntryInfo) => boolean,
): ObjectRange[] {
  const collector = new RangeCollector(isLive);
  collector.add(entries, 0, entries.length);
  return collector.ranges();
}

/** rangesOf in timed slices (inTimedSlices), with `pause()` awaited between them. */
async function rangesInSlices(
  entries: readonly WalEntryInfo[],
  isLive: (entry: WalEntryInfo) => boolean,
  pause: () => Promise<void>,
): Promise<ObjectRange[]> {
  const collector = new RangeCollector(isLive);
  await inTimedSlices(entries.length, 256, pause, (from, to) => collector.add(entries, from, to));
  return collector.ranges();
}

/** Step 3, idempotent: moves or copies segment `segmentId` into the store as `name`. */
export async function handOffSegment(
  files: SegmentFiles,
  store: ObjectStore,
  segmentId: number,
  name: string,
): Promise<void> {
  if ((await store.head(name)) !== undefined) {
    await files.remove(segmentId);
    return;
  }
  const path = files.pathOf(segmentId);
  if (path !== undefined && store.adoptFile !== undefined) {
    await files.forget(segmentId);
    await store.adoptFile(name, path);
    return;
  }
  await store.put(name, await files.readAll(segmentId));
  await files.remove(segmentId);
}

export interface SegmentUploaderOptions {
  files: SegmentFiles;
  store: ObjectStore;
  metadata: MetadataStore;
  isLive: (entry: WalEntryInfo) => boolean;
  /** Called once the object is recorded and in the store. */
  onUploaded: (object: ObjectRecord) => void;
  /** Called when the object read back after the upload fails verification (or cannot be read). */
  onDamaged?: (name: string, verdict: ObjectVerdict) => void;
  /** Told after each upload: the object's bytes and milliseconds from seal to handed off. */
  onUploadTimed?: (bytes: number, ms: number) => void;
  /** How an uploaded object is read back and verified; by default on this thread. */
  verify?: (name: string, segmentId: number) => Promise<ObjectVerdict>;
}

export class SegmentUploader {
  readonly #options: SegmentUploaderOptions;
  readonly #queue: WalSegmentInfo[] = [];
  #running: Promise<void> | undefined;
  #lastError: unknown;
  /** Segments whose metadata commit succeeded; a retry resumes at the hand-off. */
  readonly #recorded = new Map<number, ObjectRecord>();

  constructor(options: SegmentUploaderOptions) {
    this.#options = options;
  }

  /** The last failure (the segment stays queued and is retried on the next kick). */
  get lastError(): unknown {
    return this.#lastError;
  }

  get pendingSegments(): number {
    return this.#queue.length;
  }

  enqueue(segment: WalSegmentInfo): void {
    this.#queue.push(segment);
    this.kick();
  }

  kick(): void {
    if (this.#running !== undefined || this.#queue.length === 0) return;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
    });
  }

  async whenIdle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #drain(): Promise<void> {
    for (;;) {
      const segment = this.#queue[0];
      if (segment === undefined) return;
      try {
        await this.#upload(segment);
        this.#queue.shift();
        this.#lastError = undefined;
      } catch (error: unknown) {
        this.#lastError = error;
        return;
      }
    }
  }

  async #upload(segment: WalSegmentInfo): Promise<void> {
    const { files, store, metadata } = this.#options;
    const name = objectNameOf(segment.segmentId);
    const recorded = this.#recorded.get(segment.segmentId);
    if (recorded !== undefined) {
      await handOffSegment(files, store, segment.segmentId, name);
      this.#recorded.delete(segment.segmentId);
      this.#options.onUploaded(recorded);
      return;
    }
    if (segment.entries.length === 0) {
      await files.remove(segment.segmentId);
      return;
    }
    const started = performance.now();
    const trailer = await encodeObjectTrailerInSlices(
      segment.segmentId,
      segment.entries,
      segment.endPosition,
      pauseTurn,
    );
    const writer = await files.openForWrite(segment.segmentId);
    let trailerBytes = 0;
    for (const part of trailer) trailerBytes += part.length;
    try {
      await writer.writev(trailer, segment.endPosition);
      await writer.sync();
    } finally {
      await writer.close();
    }
    const object: ObjectRecord = {
      name,
      segmentId: segment.segmentId,
      sizeBytes: segment.endPosition + trailerBytes,
      ranges: await rangesInSlices(segment.entries, this.#options.isLive, pauseTurn),
    };
    await metadata.addObject(object);
    this.#recorded.set(segment.segmentId, object);
    await handOffSegment(files, store, segment.segmentId, name);
    this.#recorded.delete(segment.segmentId);
    this.#options.onUploaded(object);
    this.#options.onUploadTimed?.(object.sizeBytes, performance.now() - started);
    await this.#verifyUploaded(name, segment.segmentId);
  }

  /** Reads the object back and checks every frame a reader will rely on. */
  async #verifyUploaded(name: string, segmentId: number): Promise<void> {
    const onDamaged = this.#options.onDamaged;
    if (onDamaged === undefined) return;
    const verify = this.#options.verify ?? ((n, id) => verifyHere(this.#options.store, n, id));
    const verdict = await verify(name, segmentId);
    if (verdict.trailerProblem === undefined && verdict.damaged.length === 0) return;
    try {
      onDamaged(name, verdict);
    } catch {
      // Reporting is best effort: the object is recorded and stays; a retry would not help.
    }
  }
}
