/**
 * SegmentFiles: the file operations a segmented WAL needs, so the same group-commit and recovery
 * code runs over real files (DirectorySegmentFiles) and over memory (MemorySegmentFiles, which
 * can also simulate a power loss by dropping every byte not yet synced).
 */

export interface SegmentWriter {
  /** Writes all buffers contiguously at `position`. */
  writev(buffers: readonly Buffer[], position: number): Promise<void>;
  /**
   * Makes every byte written so far durable (fdatasync). A writer whose writes are already
   * durable when `writev` resolves (O_DSYNC) resolves it at once.
   */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface SegmentFiles {
  /**
   * Replaces the WAL's sync point (wal-sync-point.ts) with `bytes`, durably. Optional: without
   * it recovery relies on the entries' syncedPosition alone.
   */
  writeSyncPoint?(bytes: Buffer): Promise<void>;
  /** The sync point's bytes, or undefined when there is none. */
  readSyncPoint?(): Promise<Buffer | undefined>;
  /** Ids of the segments present, ascending. */
  list(): Promise<number[]>;
  /** Creates an empty segment; its directory entry is durable when this resolves. */
  create(segmentId: number): Promise<SegmentWriter>;
  /** Opens an existing segment for writing (appending a trailer). */
  openForWrite(segmentId: number): Promise<SegmentWriter>;
  readAll(segmentId: number): Promise<Buffer>;
  read(segmentId: number, position: number, length: number): Promise<Buffer>;
  /** Cuts the segment to `length` bytes, durably. */
  truncate(segmentId: number, length: number): Promise<void>;
  /** Deletes the segment, durably. */
  remove(segmentId: number): Promise<void>;
  /** Drops cached handles of a segment whose file was moved away (see ObjectStore.adoptFile). */
  forget(segmentId: number): Promise<void>;
  /** The segment's file path when it is a real file (lets a directory object store rename it). */
  pathOf(segmentId: number): string | undefined;
  close(): Promise<void>;
}
