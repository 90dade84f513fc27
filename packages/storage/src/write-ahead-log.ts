/**
 * WriteAheadLog: ordered, durable appends of batches from every partition, in segments.
 *
 * Contract:
 * - `append` resolves only after the sync covering the entry has completed (group commit: all
 *   appends that arrive while a sync runs go out in one write and are covered by the next sync).
 *   Entries are written, and their promises resolve, in call order.
 * - A write that fails for lack of space (ENOSPC, EDQUOT) rejects that group's appends with
 *   STORAGE_FAILURE after cutting their bytes off the segment (so none of them comes back after
 *   a restart); later appends try again, so writing resumes once space returns.
 * - After any other write or sync failure the log is failed: pending and later appends reject
 *   with STORAGE_FAILURE (what reached the disk is unknown; a restart recovers what is durable).
 * - `recover` (once, before `start`) returns every segment found, oldest first, with a torn tail
 *   cut (and counted in `stats`); corruption inside durable data fails with CORRUPT_DATA rather
 *   than being skipped.
 * - A segment is sealed (no more appends) when it rolls; sealed segments are handed to
 *   `onSegmentSealed` listeners in order, which turn them into objects.
 */
import type { SegmentFiles } from './segment-files.ts';
import type { WalEntryInfo } from './segment-format.ts';
import type { BatchMeta, TopicId } from './types.ts';

export interface WalAppend {
  topicId: TopicId;
  partition: number;
  baseOffset: bigint;
  meta: BatchMeta;
  batch: Buffer;
}

export interface WalSegmentInfo {
  segmentId: number;
  /** Entries in write order. */
  entries: WalEntryInfo[];
  /** End of the last entry: where a trailer starts. */
  endPosition: number;
}

/** Counters and state of the log, for metrics. */
export interface WalStats {
  /** Torn tails recovery cut off (at most one per open), their bytes and named records. */
  tornTailsCut: number;
  tornTailBytesCut: number;
  tornTailRecordsCut: number;
  /** Appends rejected because the disk was full. */
  diskFullRejectedAppends: number;
  /** The last write failed for lack of space (and none has succeeded since). */
  diskFull: boolean;
  /** The log failed for good (an I/O error): every append is refused until a restart. */
  failed: boolean;
}

export interface WriteAheadLog {
  /** The segment storage underneath (object hand-off reads or renames sealed segments). */
  readonly files: SegmentFiles;
  recover(): Promise<WalSegmentInfo[]>;
  /** Creates the active segment `firstSegmentId` and starts accepting appends. */
  start(firstSegmentId: number): Promise<void>;
  append(entry: WalAppend): Promise<WalEntryInfo>;
  /** Seals the active segment if it holds entries and is older than the maximum age. */
  rollIfDue(): void;
  /** Seals the active segment (if it holds entries) before the next write. */
  roll(): Promise<void>;
  onSegmentSealed(listener: (segment: WalSegmentInfo) => void): void;
  read(segmentId: number, position: number, length: number): Promise<Buffer>;
  stats(): WalStats;
  /** Waits for pending appends, then closes the active segment. Later appends reject CLOSED. */
  close(): Promise<void>;
}
