/**
 * Gives storage's log compaction what it cannot know itself: the keys inside a batch and how to
 * rebuild a batch with fewer records. Storage stays free of wire types; this adapter uses the
 * protocol package's record codec. Control batches carry no keys and are kept as they are.
 */
import { decodeRecords, readBatchHeader, retainRecords } from '@tributary/protocol';
import type { BrokerConfig } from './broker-config.ts';

export interface KeyedOffset {
  offset: bigint;
  key: Buffer | null;
  tombstone: boolean;
  timestamp: bigint;
}

export class BatchRecordCompactor {
  readonly #maxDecompressedBytes: number;

  constructor(config: Pick<BrokerConfig, 'decompressedBatchMaxBytes'>) {
    this.#maxDecompressedBytes = config.decompressedBatchMaxBytes;
  }

  keysOf(batch: Buffer): KeyedOffset[] {
    if (readBatchHeader(batch).isControl) return [];
    return decodeRecords(batch, { maxDecompressedBytes: this.#maxDecompressedBytes }).map(
      (record) => ({
        offset: record.offset,
        key: record.key,
        tombstone: record.value === null,
        timestamp: record.timestamp,
      }),
    );
  }

  retain(batch: Buffer, keep: (offset: bigint) => boolean): Buffer | null {
    if (readBatchHeader(batch).isControl) return batch;
    return retainRecords(batch, (record) => keep(record.offset), {
      maxDecompressedBytes: this.#maxDecompressedBytes,
    });
  }
}
