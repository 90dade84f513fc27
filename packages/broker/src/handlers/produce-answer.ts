/**
 * What a produce answers for one partition, shared by the produce handler, zone forwarding and
 * ForwardAppend, and what storage keeps about each batch it appends.
 */
import type { BatchHeader } from '@tributary/protocol';
import type { BatchMeta } from '@tributary/storage';
import type { RecordError } from '../compacted-key-check.ts';
import { txnFieldsOf } from '../transactions/partition-txn-index.ts';

export interface PartitionAnswer {
  index: number;
  errorCode: number;
  errorMessage?: string | null;
  recordErrors?: RecordError[];
  baseOffset?: bigint;
  logAppendTimeMs?: bigint;
  logStartOffset?: bigint;
  /** KIP-951 (v10+): the leader to use next, with NOT_LEADER_OR_FOLLOWER. */
  currentLeader?: { leaderId: number; leaderEpoch: number };
}

/** What storage keeps about a batch, producer numbers and txn flags included (for recovery). */
export function batchMetaOf(header: BatchHeader, logAppendTime: bigint | null): BatchMeta {
  const meta: BatchMeta = {
    lastOffsetDelta: header.lastOffsetDelta,
    maxTimestamp: logAppendTime ?? header.maxTimestamp,
    recordCount: header.recordCount,
    // Control batches from clients are rejected before this; only the runtime writes markers.
    txn: txnFieldsOf(header.isTransactional, header.isControl && 'unknown'),
    // splitBatches verified the batch CRC and setLogAppendTime rewrites it with the bytes it
    // covers; the other in-place edits (base offset, leader epoch) are outside what it covers.
    // So storage derives its frame crc from that field instead of a second pass over the batch.
    crcChecked: true,
  };
  if (header.producerId >= 0n) {
    const { producerId, producerEpoch, baseSequence } = header;
    meta.producer = { producerId, producerEpoch, baseSequence };
  }
  return meta;
}

export function failure(
  data: { index: number },
  errorCode: number,
  errorMessage?: string,
): PartitionAnswer {
  return {
    index: data.index,
    errorCode,
    errorMessage: errorMessage ?? null,
    baseOffset: -1n,
    logAppendTimeMs: -1n,
    logStartOffset: -1n,
  };
}
