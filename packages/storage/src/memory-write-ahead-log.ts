/**
 * MemoryWriteAheadLog: the segmented WAL over memory, for tests. `segments.crash()` simulates a
 * power loss (unsynced bytes vanish) for recovery tests that kill -9 cannot express.
 */
import { MemorySegmentFiles } from './memory-segment-files.ts';
import { SegmentedWriteAheadLog, type WalOptions } from './segmented-write-ahead-log.ts';

export class MemoryWriteAheadLog extends SegmentedWriteAheadLog {
  readonly segments: MemorySegmentFiles;

  constructor(options: WalOptions = {}, segments = new MemorySegmentFiles()) {
    super(segments, options);
    this.segments = segments;
  }
}
