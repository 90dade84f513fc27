/**
 * Control batches: the transaction markers (commit/abort) a transaction coordinator writes into
 * each partition. One record; key = [version int16 = 0][type int16: 0 abort, 1 commit],
 * value = [version int16 = 0][coordinatorEpoch int32]. The batch is transactional and control,
 * uncompressed, with base sequence -1, as Kafka writes it.
 */
import { ByteBuilder } from './byte-builder.ts';
import { readBatchHeader } from './record-batch.ts';
import { buildRecordBatch, decodeRecords } from './records.ts';

export type ControlRecordType = 'commit' | 'abort';

const CONTROL_TYPE_ABORT = 0;
const CONTROL_TYPE_COMMIT = 1;
/** A control batch is a few dozen bytes; anything decompressing past this is not one. */
const CONTROL_BATCH_MAX_BYTES = 64 * 1024;

export interface ControlBatchOptions {
  producerId: bigint;
  producerEpoch: number;
  baseOffset: bigint;
  timestamp: bigint;
  type: ControlRecordType;
  coordinatorEpoch: number;
  partitionLeaderEpoch?: number;
}

export function buildControlBatch(opts: ControlBatchOptions): Buffer {
  const type = opts.type === 'commit' ? CONTROL_TYPE_COMMIT : CONTROL_TYPE_ABORT;
  const key = new ByteBuilder(4).int16(0).int16(type).finish();
  const value = new ByteBuilder(6).int16(0).int32(opts.coordinatorEpoch).finish();
  return buildRecordBatchForControl(opts, key, value);
}

function buildRecordBatchForControl(opts: ControlBatchOptions, key: Buffer, value: Buffer): Buffer {
  return buildRecordBatch({
    baseOffset: opts.baseOffset,
    records: [{ key, value, timestamp: opts.timestamp }],
    producerId: opts.producerId,
    producerEpoch: opts.producerEpoch,
    baseSequence: -1,
    isTransactional: true,
    isControl: true,
    ...(opts.partitionLeaderEpoch === undefined
      ? {}
      : { partitionLeaderEpoch: opts.partitionLeaderEpoch }),
  });
}

/**
 * The marker type of a control batch; null when the batch is not a control batch or holds
 * another control type (Kafka also has leader-change and snapshot records).
 */
export function readControlRecordType(batch: Buffer): ControlRecordType | null {
  if (!readBatchHeader(batch).isControl) return null;
  const [record] = decodeRecords(batch, { maxDecompressedBytes: CONTROL_BATCH_MAX_BYTES });
  const key = record?.key;
  if (key === undefined || key === null || key.length < 4) return null;
  const type = key.readInt16BE(2);
  if (type === CONTROL_TYPE_COMMIT) return 'commit';
  if (type === CONTROL_TYPE_ABORT) return 'abort';
  return null;
}
