/**
 * Log compaction planning for cleanup.policy=compact. Storage cannot parse records, so an
 * injected RecordCompactor lists each batch's keys and rewrites a batch keeping chosen offsets.
 *
 * What is compacted: the head of the partition that lives in sealed objects (never the active
 * WAL segment), older than min.compaction.lag.ms, in whole objects (an object's range for the
 * partition is replaced whole). A record is kept when it is the latest for its key across the
 * whole partition (null keys are always kept), and a tombstone only while it is younger than
 * delete.retention.ms. A rewritten batch keeps its base offset and last offset delta, so offsets
 * never move. Compaction runs when the uncompacted share of those bytes reaches
 * min.cleanable.dirty.ratio.
 */
import { frameVersion } from './frame.ts';
import type { BatchEntry } from './partition-log.ts';
import {
  type EntryFields,
  type WalEntryInfo,
  encodeEntry,
  encodeObjectTrailer,
  encodeSegmentHeader,
  entryBatchOffset,
} from './segment-format.ts';
import type { RecordCompactor, TopicId } from './types.ts';

/** Objects written by compaction get ids from here up, apart from WAL segment ids. */
export const compactedSegmentIdBase = 2 ** 48;

export interface CompactionInput {
  compactor: RecordCompactor;
  topicId: TopicId;
  partition: number;
  /** The partition's live batches, oldest first (walked twice: each call starts a new walk). */
  entries(): Iterable<BatchEntry>;
  isSealed(entry: BatchEntry): boolean;
  readBatch(entry: BatchEntry): Promise<Buffer>;
  nowMs: bigint;
  minCompactionLagMs: bigint;
  deleteRetentionMs: bigint;
  minCleanableDirtyRatio: number;
  /** Offsets below this were compacted by an earlier pass. */
  cleanedThrough: bigint;
}

export interface CompactionPlan {
  /** The head batches being replaced (whole objects' worth for this partition). */
  replaced: BatchEntry[];
  /** Their replacement, in offset order; equal to the input when `changed` is false. */
  batches: { fields: EntryFields; batch: Buffer }[];
  changed: boolean;
}

/** The head run of sealed, lag-old batches, ending on an object boundary. */
function candidateRun(input: CompactionInput): BatchEntry[] {
  const run: BatchEntry[] = [];
  const lagLimit = input.nowMs - input.minCompactionLagMs;
  let next: BatchEntry | undefined;
  for (const entry of input.entries()) {
    if (!input.isSealed(entry) || entry.maxTimestamp > lagLimit) {
      next = entry;
      break;
    }
    run.push(entry);
  }
  const last = run.at(-1);
  if (next !== undefined && last !== undefined && next.segmentId === last.segmentId) {
    return run.filter((entry) => entry.segmentId !== last.segmentId);
  }
  return run;
}

export async function planCompaction(input: CompactionInput): Promise<CompactionPlan | undefined> {
  const run = candidateRun(input);
  let total = 0;
  let dirty = 0;
  for (const entry of run) {
    total += entry.sizeBytes;
    if (entry.lastOffset >= input.cleanedThrough) dirty += entry.sizeBytes;
  }
  if (dirty === 0 || dirty / total < input.minCleanableDirtyRatio) return undefined;

  const latest = new Map<string, bigint>();
  for (const entry of input.entries()) {
    for (const record of input.compactor.keysOf(await input.readBatch(entry))) {
      if (record.key !== null) latest.set(record.key.toString('latin1'), record.offset);
    }
  }
  const tombstoneLimit = input.nowMs - input.deleteRetentionMs;
  const batches: CompactionPlan['batches'] = [];
  let changed = false;
  for (const entry of run) {
    const bytes = await input.readBatch(entry);
    const records = input.compactor.keysOf(bytes);
    const kept = records.filter(
      (r) =>
        r.key === null ||
        (latest.get(r.key.toString('latin1')) === r.offset &&
          !(r.tombstone && r.timestamp < tombstoneLimit)),
    );
    const fields: EntryFields = {
      topicId: input.topicId,
      partition: input.partition,
      baseOffset: entry.baseOffset,
      lastOffsetDelta: Number(entry.lastOffset - entry.baseOffset),
      maxTimestamp: entry.maxTimestamp,
      recordCount: records.length,
      producerId: entry.producerId,
      producerEpoch: entry.producerEpoch,
      baseSequence: entry.baseSequence,
      txn: entry.txn,
    };
    if (kept.length === records.length) {
      batches.push({ fields, batch: bytes });
      continue;
    }
    changed = true;
    const keep = new Set(kept.map((r) => r.offset));
    const rewritten = kept.length === 0 ? null : input.compactor.retain(bytes, (o) => keep.has(o));
    if (rewritten === null) continue;
    let maxTimestamp = -1n;
    for (const r of kept) if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
    batches.push({
      fields: { ...fields, maxTimestamp, recordCount: kept.length },
      batch: rewritten,
    });
  }
  return { replaced: run, batches, changed };
}

/** Lays out a compaction output as an object: header, entries, index and footer. */
export function buildCompactedObject(
  segmentId: number,
  createdAtMs: number,
  batches: readonly { fields: EntryFields; batch: Buffer }[],
): { bytes: Buffer; infos: WalEntryInfo[] } {
  const header = encodeSegmentHeader(segmentId, createdAtMs);
  const parts: Buffer[] = [header];
  const infos: WalEntryInfo[] = [];
  let position = header.length;
  for (const { fields, batch } of batches) {
    // The base offset is the one wire fact storage owns; keep it whatever retain() returned.
    batch.writeBigInt64BE(fields.baseOffset, 0);
    parts.push(...encodeEntry(fields, batch, position));
    infos.push({
      ...fields,
      entryVersion: frameVersion,
      segmentId,
      position: position + entryBatchOffset,
      sizeBytes: batch.length,
    });
    position += entryBatchOffset + batch.length;
  }
  parts.push(encodeObjectTrailer(segmentId, infos, position));
  return { bytes: Buffer.concat(parts), infos };
}
