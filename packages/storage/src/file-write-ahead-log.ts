/** FileWriteAheadLog: the segmented, group-committed WAL over files in one directory. */
import { DirectorySegmentFiles } from './directory-segment-files.ts';
import { SegmentedWriteAheadLog, type WalOptions } from './segmented-write-ahead-log.ts';
import { walOpenFromEnvironment } from './write-latency.ts';

export class FileWriteAheadLog extends SegmentedWriteAheadLog {
  constructor(directory: string, options: WalOptions = {}) {
    super(new DirectorySegmentFiles(directory, undefined, walOpenFromEnvironment()), options);
  }
}
