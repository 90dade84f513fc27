import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { crc32c } from './crc32c.ts';
import {
  BATCH_HEADER_BYTES,
  CRC_OFFSET,
  readBatchHeader,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  splitBatches,
} from './record-batch.ts';
import { RecordBatchError, RecordErrorCode, type BatchError } from './record-batch-error.ts';
import { buildRecordBatch, decodeRecords } from './records.ts';

/**
 * One uncompressed record (key "k", value "v", timestamp 1000), written out field by field from
 * Kafka's DefaultRecordBatch layout rather than by our encoder.
 */
const GOLDEN = Buffer.from(
  [
    '0000000000000000', // baseOffset
    '0000003a', // batchLength = 49 + 9
    'ffffffff', // partitionLeaderEpoch
    '02', // magic
    '716a6189', // crc32c over attributes..end
    '0000', // attributes
    '00000000', // lastOffsetDelta
    '00000000000003e8', // baseTimestamp
    '00000000000003e8', // maxTimestamp
    'ffffffffffffffff', // producerId
    'ffff', // producerEpoch
    'ffffffff', // baseSequence
    '00000001', // recordCount
    '10', // record length 8 (zigzag)
    '00', // attributes
    '00', // timestampDelta
    '00', // offsetDelta
    '02',
    '6b', // key length 1, "k"
    '02',
    '76', // value length 1, "v"
    '00', // header count
  ].join(''),
  'hex',
);

function expectError(result: ReturnType<typeof splitBatches>, code: number): BatchError {
  assert.ok('error' in result, 'expected an error');
  assert.equal(result.error.code, code);
  return result.error;
}

function batchOf(count: number, compression: 'none' | 'gzip' = 'none'): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`key-${i}`),
    value: Buffer.from(`value-${i}`),
    timestamp: 1000n + BigInt(i),
  }));
  return buildRecordBatch({ records, compression });
}

test('golden: the hand-written batch has a correct CRC and reads back', () => {
  assert.equal(crc32c(GOLDEN.subarray(21)), GOLDEN.readUInt32BE(CRC_OFFSET));
  const split = splitBatches(GOLDEN);
  assert.ok('batches' in split);
  assert.equal(split.batches.length, 1);
  const header = readBatchHeader(GOLDEN);
  assert.equal(header.batchLength, 58);
  assert.equal(header.magic, 2);
  assert.equal(header.compression, 'none');
  assert.equal(header.timestampType, 'create');
  assert.equal(header.recordCount, 1);
  assert.equal(header.producerId, -1n);
  assert.equal(header.maxTimestamp, 1000n);
  const [record] = decodeRecords(GOLDEN, { maxDecompressedBytes: 1024 });
  assert.deepEqual(record, {
    offset: 0n,
    timestamp: 1000n,
    key: Buffer.from('k'),
    value: Buffer.from('v'),
    headers: [],
  });
});

test('golden: buildRecordBatch writes exactly the hand-written bytes', () => {
  const built = buildRecordBatch({
    records: [{ key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 1000n }],
  });
  assert.equal(built.toString('hex'), GOLDEN.toString('hex'));
});

test('splitBatches returns views of consecutive batches', () => {
  const records = Buffer.concat([batchOf(3), batchOf(1, 'gzip'), GOLDEN]);
  const split = splitBatches(records);
  assert.ok('batches' in split);
  assert.deepEqual(
    split.batches.map((batch) => readBatchHeader(batch).recordCount),
    [3, 1, 1],
  );
  assert.equal(split.batches[0]?.buffer, records.buffer);
});

test('splitBatches: corrupt CRC', () => {
  const batch = Buffer.from(GOLDEN);
  batch.writeUInt8(batch.readUInt8(batch.length - 2) ^ 0x01, batch.length - 2);
  const error = expectError(splitBatches(batch), RecordErrorCode.CORRUPT_MESSAGE);
  assert.match(error.message, /CRC/);
});

test('splitBatches: truncated and trailing partial batches', () => {
  expectError(splitBatches(GOLDEN.subarray(0, GOLDEN.length - 1)), RecordErrorCode.CORRUPT_MESSAGE);
  expectError(splitBatches(GOLDEN.subarray(0, 11)), RecordErrorCode.CORRUPT_MESSAGE);
  const withTail = Buffer.concat([GOLDEN, GOLDEN.subarray(0, 20)]);
  expectError(splitBatches(withTail), RecordErrorCode.CORRUPT_MESSAGE);
  expectError(splitBatches(Buffer.alloc(0)), RecordErrorCode.CORRUPT_MESSAGE);
});

test('splitBatches: old magic is UNSUPPORTED_FOR_MESSAGE_FORMAT, unknown magic CORRUPT', () => {
  const v1 = Buffer.from(GOLDEN);
  v1[16] = 1;
  expectError(splitBatches(v1), RecordErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
  const v7 = Buffer.from(GOLDEN);
  v7[16] = 7;
  expectError(splitBatches(v7), RecordErrorCode.CORRUPT_MESSAGE);
});

test('splitBatches: record count must match lastOffsetDelta', () => {
  const batch = Buffer.from(batchOf(3));
  batch.writeInt32BE(1, 23);
  batch.writeUInt32BE(crc32c(batch.subarray(21)), CRC_OFFSET);
  expectError(splitBatches(batch), RecordErrorCode.INVALID_RECORD);
  batch.writeInt32BE(-1, 23);
  batch.writeInt32BE(0, 57);
  batch.writeUInt32BE(crc32c(batch.subarray(21)), CRC_OFFSET);
  expectError(splitBatches(batch), RecordErrorCode.INVALID_RECORD);
});

test('splitBatches: a record count that cannot fit is corrupt', () => {
  const batch = Buffer.from(GOLDEN);
  batch.writeInt32BE(1000, 57);
  batch.writeInt32BE(999, 23);
  batch.writeUInt32BE(crc32c(batch.subarray(21)), CRC_OFFSET);
  expectError(splitBatches(batch), RecordErrorCode.CORRUPT_MESSAGE);
});

test('setBaseOffset and setPartitionLeaderEpoch leave the CRC valid', () => {
  const batch = Buffer.from(batchOf(2));
  setBaseOffset(batch, 1234567890123n);
  setPartitionLeaderEpoch(batch, 17);
  assert.ok('batches' in splitBatches(batch));
  const header = readBatchHeader(batch);
  assert.equal(header.baseOffset, 1234567890123n);
  assert.equal(header.partitionLeaderEpoch, 17);
  const records = decodeRecords(batch, { maxDecompressedBytes: 1024 });
  assert.deepEqual(
    records.map((record) => record.offset),
    [1234567890123n, 1234567890124n],
  );
});

test('setLogAppendTime sets the type bit and max timestamp and recomputes the CRC', () => {
  for (const compression of ['none', 'gzip'] as const) {
    const batch = Buffer.from(batchOf(3, compression));
    setLogAppendTime(batch, 99_999n);
    assert.ok('batches' in splitBatches(batch));
    const header = readBatchHeader(batch);
    assert.equal(header.timestampType, 'log-append');
    assert.equal(header.compression, compression);
    assert.equal(header.maxTimestamp, 99_999n);
    assert.equal(header.baseTimestamp, 1000n);
    const records = decodeRecords(batch, { maxDecompressedBytes: 1024 });
    assert.deepEqual(
      records.map((record) => record.timestamp),
      [99_999n, 99_999n, 99_999n],
    );
  }
});

test('readBatchHeader refuses a buffer shorter than a header with a typed error', () => {
  assert.throws(
    () => readBatchHeader(GOLDEN.subarray(0, BATCH_HEADER_BYTES - 1)),
    RecordBatchError,
  );
});

test('property: splitBatches never throws on random or mutated bytes', () => {
  const valid = Buffer.concat([batchOf(4), batchOf(2, 'gzip')]);
  const mutated = fc
    .array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), {
      maxLength: 8,
    })
    .map((edits) => {
      const copy = Buffer.from(valid);
      for (const [index, byte] of edits) copy[index] = byte;
      return copy;
    });
  const truncated = fc.nat(valid.length).map((end) => valid.subarray(0, end));
  const random = fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes));
  fc.assert(
    fc.property(fc.oneof(mutated, truncated, random), (bytes) => {
      const result = splitBatches(bytes);
      if ('error' in result) assert.equal(typeof result.error.code, 'number');
      else for (const batch of result.batches) readBatchHeader(batch);
    }),
    { numRuns: 2000 },
  );
});
