import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';
import fc from 'fast-check';
import type { CompressionType } from './compression.ts';
import { buildControlBatch, readControlRecordType } from './control-batch.ts';
import { crc32c } from './crc32c.ts';
import { CRC_OFFSET, readBatchHeader, splitBatches } from './record-batch.ts';
import { RecordBatchError } from './record-batch-error.ts';
import {
  buildRecordBatch,
  decodeRecords,
  findKeylessRecords,
  findOffsetForTimestamp,
  retainRecords,
  type RecordInput,
} from './records.ts';

const opts = { maxDecompressedBytes: 1024 * 1024 };
const codecs: CompressionType[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

const inputs: RecordInput[] = [
  {
    key: Buffer.from('order-1'),
    value: Buffer.from('{"total":12}'),
    headers: [{ key: 'trace', value: Buffer.from('abc') }],
    timestamp: 1_700_000_000_000n,
  },
  { key: null, value: Buffer.from('no key'), timestamp: 1_700_000_000_050n },
  { key: Buffer.from('order-1'), value: null, timestamp: 1_699_999_999_990n },
  {
    key: Buffer.alloc(0),
    value: Buffer.alloc(0),
    headers: [
      { key: 'ünïcode-键', value: null },
      { key: '', value: Buffer.from([0, 1, 2]) },
    ],
    timestamp: 1_700_000_000_010n,
  },
  { value: Buffer.alloc(5000, 0x61), timestamp: 1_700_000_000_020n },
];

function throwsTyped(fn: () => unknown): void {
  assert.throws(fn, RecordBatchError);
}

for (const compression of codecs) {
  test(`${compression}: build -> split -> decode round trip`, () => {
    const batch = buildRecordBatch({
      baseOffset: 500n,
      records: inputs,
      compression,
      producerId: 42n,
      producerEpoch: 3,
      baseSequence: 7,
      partitionLeaderEpoch: 9,
    });
    const split = splitBatches(batch);
    assert.ok('batches' in split, 'error' in split ? split.error.message : '');
    const header = readBatchHeader(batch);
    assert.equal(header.compression, compression);
    assert.equal(header.recordCount, inputs.length);
    assert.equal(header.lastOffsetDelta, inputs.length - 1);
    assert.equal(header.baseTimestamp, 1_700_000_000_000n);
    assert.equal(header.maxTimestamp, 1_700_000_000_050n);
    assert.equal(header.producerId, 42n);
    assert.equal(header.producerEpoch, 3);
    assert.equal(header.baseSequence, 7);
    assert.equal(header.partitionLeaderEpoch, 9);
    const records = decodeRecords(batch, opts);
    assert.deepEqual(
      records,
      inputs.map((input, index) => ({
        offset: 500n + BigInt(index),
        timestamp: input.timestamp,
        key: input.key ?? null,
        value: input.value,
        headers: input.headers ?? [],
      })),
    );
  });
}

test('extreme timestamps and offset deltas survive the varint codecs', () => {
  const records: RecordInput[] = [
    { value: null, timestamp: -1n, offsetDelta: 0 },
    { value: null, timestamp: 2n ** 62n, offsetDelta: 1_000_000 },
    { value: null, timestamp: -(2n ** 40n), offsetDelta: 2 ** 31 - 1 },
  ];
  const decoded = decodeRecords(buildRecordBatch({ records }), opts);
  assert.deepEqual(
    decoded.map((record) => [record.offset, record.timestamp]),
    [
      [0n, -1n],
      [1_000_000n, 2n ** 62n],
      [2n ** 31n - 1n, -(2n ** 40n)],
    ],
  );
});

// Encoded by kafkajs 2.2.4 (recordBatch/v0), gzip: k1/hello with header h=v, null/world,
// k3/null; timestamps base, base+5, base+2 with base 1700000000000.
const KAFKAJS_GZIP =
  'AAAAAAAAAAAAAABsAAAAAAKeSHCaAAEAAAACAAABi8/laAAAAAGLz+VoBf//////////AAAAAAAAAAAAAx+LCAAA' +
  'AAAAAANTYmBgYMk25MpIzcnJZ2LKYCoTY+BiYuQqzy/KSWEQYGBhYck2ZmQAAKC1X1UnAAAA';
const KAFKAJS_NONE =
  'AAAAAAAAAAAAAABYAAAAAAJxTfwUAAAAAAACAAABi8/laAAAAAGLz+VoBf//////////AAAAAAAAAAAAAyIAAAAE' +
  'azEKaGVsbG8CAmgCdhYACgIBCndvcmxkABAABAQEazMBAA==';

test('decodes batches encoded by a real client (kafkajs)', () => {
  for (const encoded of [KAFKAJS_GZIP, KAFKAJS_NONE]) {
    const batch = Buffer.from(encoded, 'base64');
    assert.ok('batches' in splitBatches(batch));
    const records = decodeRecords(batch, opts);
    assert.deepEqual(records, [
      {
        offset: 0n,
        timestamp: 1_700_000_000_000n,
        key: Buffer.from('k1'),
        value: Buffer.from('hello'),
        headers: [{ key: 'h', value: Buffer.from('v') }],
      },
      {
        offset: 1n,
        timestamp: 1_700_000_000_005n,
        key: null,
        value: Buffer.from('world'),
        headers: [],
      },
      {
        offset: 2n,
        timestamp: 1_700_000_000_002n,
        key: Buffer.from('k3'),
        value: null,
        headers: [],
      },
    ]);
  }
});

test('a zip bomb inside a batch stops at maxDecompressedBytes', () => {
  const batch = buildRecordBatch({
    records: [{ value: Buffer.alloc(4 * 1024 * 1024) }],
    compression: 'zstd',
  });
  assert.ok(batch.length < 10_000);
  assert.throws(
    () => decodeRecords(batch, { maxDecompressedBytes: 1024 * 1024 }),
    (error: unknown) =>
      error instanceof RecordBatchError && error.code === 'DECOMPRESSED_TOO_LARGE',
  );
});

test('decodeRecords: record count larger than the records is corrupt, not a RangeError', () => {
  const batch = Buffer.from(buildRecordBatch({ records: inputs.slice(0, 2), compression: 'gzip' }));
  batch.writeInt32BE(3, 57);
  throwsTyped(() => decodeRecords(batch, opts));
  batch.writeInt32BE(1, 57);
  throwsTyped(() => decodeRecords(batch, opts)); // bytes left after the last record
});

test('decodeRecords: a record length past the end is corrupt', () => {
  const body = Buffer.concat([Buffer.from([0x7e]), Buffer.alloc(10)]); // length 63, 10 bytes
  const batch = buildRecordBatch({ records: [{ value: null }] });
  const hacked = Buffer.concat([batch.subarray(0, 61), body]);
  hacked.writeInt32BE(hacked.length - 12, 8);
  throwsTyped(() => decodeRecords(hacked, opts));
});

test('findOffsetForTimestamp returns the first record at or after the target', () => {
  const batch = buildRecordBatch({ baseOffset: 100n, records: inputs, compression: 'lz4' });
  assert.deepEqual(findOffsetForTimestamp(batch, 1_700_000_000_005n, opts), {
    offset: 101n,
    timestamp: 1_700_000_000_050n,
  });
  assert.deepEqual(findOffsetForTimestamp(batch, 0n, opts), {
    offset: 100n,
    timestamp: 1_700_000_000_000n,
  });
  assert.equal(findOffsetForTimestamp(batch, 1_700_000_000_051n, opts), null);
});

test('retainRecords keeps offsets, compression, producer fields and the last offset', () => {
  for (const compression of codecs) {
    const batch = buildRecordBatch({
      baseOffset: 1000n,
      records: inputs,
      compression,
      producerId: 5n,
      producerEpoch: 1,
      baseSequence: 30,
      isTransactional: true,
    });
    const kept = retainRecords(batch, (record) => record.offset % 2n === 1n, opts);
    assert.ok(kept !== null);
    const header = readBatchHeader(kept);
    assert.equal(header.compression, compression);
    assert.equal(header.baseOffset, 1000n);
    assert.equal(header.lastOffsetDelta, 4);
    assert.equal(header.recordCount, 2);
    assert.equal(header.producerId, 5n);
    assert.equal(header.producerEpoch, 1);
    assert.equal(header.baseSequence, 30);
    assert.equal(header.isTransactional, true);
    assert.equal(crc32c(kept.subarray(21)), kept.readUInt32BE(CRC_OFFSET));
    const original = decodeRecords(batch, opts);
    assert.deepEqual(decodeRecords(kept, opts), [original[1], original[3]]);
    assert.equal(
      retainRecords(batch, () => false, opts),
      null,
    );
    assert.equal(
      retainRecords(batch, () => true, opts),
      batch,
    );
  }
});

test('retainRecords on a LogAppendTime batch keeps its timestamp', () => {
  const batch = buildRecordBatch({
    records: inputs,
    timestampType: 'log-append',
    maxTimestamp: 1_800_000_000_000n,
  });
  const kept = retainRecords(batch, (record) => record.offset === 2n, opts);
  assert.ok(kept !== null);
  assert.equal(readBatchHeader(kept).timestampType, 'log-append');
  assert.deepEqual(
    decodeRecords(kept, opts).map((record) => [record.offset, record.timestamp]),
    [[2n, 1_800_000_000_000n]],
  );
});

test('control batches: commit and abort markers', () => {
  for (const type of ['commit', 'abort'] as const) {
    const batch = buildControlBatch({
      producerId: 77n,
      producerEpoch: 2,
      baseOffset: 12n,
      timestamp: 1_700_000_000_000n,
      type,
      coordinatorEpoch: 4,
    });
    assert.ok('batches' in splitBatches(batch));
    const header = readBatchHeader(batch);
    assert.equal(header.isControl, true);
    assert.equal(header.isTransactional, true);
    assert.equal(header.producerId, 77n);
    assert.equal(header.baseSequence, -1);
    assert.equal(readControlRecordType(batch), type);
    const [record] = decodeRecords(batch, opts);
    assert.equal(record?.key?.toString('hex'), type === 'commit' ? '00000001' : '00000000');
    assert.equal(record?.value?.toString('hex'), '000000000004');
  }
  assert.equal(readControlRecordType(buildRecordBatch({ records: inputs })), null);
});

test('property: decodeRecords on mutated batches throws only RecordBatchError', () => {
  const batches = codecs.map((compression) => buildRecordBatch({ records: inputs, compression }));
  const mutated = fc
    .tuple(
      fc.constantFrom(...batches),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      fc.option(fc.nat(), { nil: undefined }),
    )
    .map(([batch, edits, cut]) => {
      const copy = Buffer.from(batch);
      // Leave the batch length sane most of the time so the record decoder is reached.
      for (const [index, byte] of edits) copy[12 + (index % (copy.length - 12))] = byte;
      return cut === undefined ? copy : copy.subarray(0, cut % (copy.length + 1));
    });
  const random = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes));
  fc.assert(
    fc.property(fc.oneof(mutated, random), (bytes) => {
      try {
        decodeRecords(bytes, { maxDecompressedBytes: 64 * 1024 });
        splitBatches(bytes);
      } catch (error: unknown) {
        if (!(error instanceof RecordBatchError)) throw error;
      }
    }),
    { numRuns: 3000 },
  );
});

/** decodeRecords' verdict on a batch: its keyless indexes, or the error code it threw. */
function keylessByDecoding(bytes: Buffer, maxDecompressedBytes: number): number[] | string {
  try {
    const records = decodeRecords(bytes, { maxDecompressedBytes });
    return records.flatMap((record, index) => (record.key === null ? [index] : []));
  } catch (error: unknown) {
    if (!(error instanceof RecordBatchError)) throw error;
    return error.code;
  }
}

test('findKeylessRecords counts keyless records, lists the first maxIndexes', () => {
  const records = Array.from({ length: 50 }, (_, i) => ({
    key: i % 3 === 0 ? null : Buffer.from(`k${i}`),
    value: Buffer.from('v'),
  }));
  for (const compression of codecs) {
    const batch = buildRecordBatch({ records, compression });
    const found = findKeylessRecords(batch, { ...opts, maxIndexes: 5 });
    assert.equal(found.count, 17, compression);
    assert.deepEqual(found.indexes, [0, 3, 6, 9, 12], compression);
  }
});

test('property: findKeylessRecords agrees with decodeRecords on mutated batches', () => {
  const batches = codecs.map((compression) => buildRecordBatch({ records: inputs, compression }));
  const mutated = fc
    .tuple(
      fc.constantFrom(...batches),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    )
    .map(([batch, edits]) => {
      const copy = Buffer.from(batch);
      for (const [index, byte] of edits) copy[12 + (index % (copy.length - 12))] = byte;
      return copy;
    });
  fc.assert(
    fc.property(mutated, (bytes) => {
      const expected = keylessByDecoding(bytes, 64 * 1024);
      let actual: number[] | string;
      try {
        const found = findKeylessRecords(bytes, {
          maxDecompressedBytes: 64 * 1024,
          maxIndexes: 99,
        });
        assert.equal(found.count, found.indexes.length);
        actual = found.indexes;
      } catch (error: unknown) {
        if (!(error instanceof RecordBatchError)) throw error;
        actual = error.code;
      }
      assert.deepEqual(actual, expected);
    }),
    { numRuns: 3000 },
  );
});

test('property: records with random content round trip through every codec', () => {
  const record = fc.record({
    key: fc.option(
      fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
      {
        nil: null,
      },
    ),
    value: fc.option(
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
      {
        nil: null,
      },
    ),
    headers: fc.array(
      fc.record({
        key: fc.string({ maxLength: 10 }),
        value: fc.option(
          fc.uint8Array({ maxLength: 10 }).map((b) => Buffer.from(b)),
          {
            nil: null,
          },
        ),
      }),
      { maxLength: 3 },
    ),
    timestamp: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 62n }),
  });
  fc.assert(
    fc.property(
      fc.array(record, { minLength: 1, maxLength: 20 }),
      fc.constantFrom(...codecs),
      (records, compression) => {
        const batch = buildRecordBatch({ records, compression });
        assert.ok('batches' in splitBatches(batch));
        const decoded = decodeRecords(batch, opts);
        assert.deepEqual(
          decoded.map(({ key, value, headers, timestamp }) => ({ key, value, headers, timestamp })),
          records.map((input) => ({ ...input, headers: input.headers.map((h) => ({ ...h })) })),
        );
      },
    ),
    { numRuns: 300 },
  );
});

test('gzip: concatenated members from another writer still decode', () => {
  const body = Buffer.from(buildRecordBatch({ records: inputs }).subarray(61));
  const twoMembers = Buffer.concat([
    zlib.gzipSync(body.subarray(0, 10)),
    zlib.gzipSync(body.subarray(10)),
  ]);
  const header = Buffer.from(
    buildRecordBatch({ records: inputs, compression: 'gzip' }).subarray(0, 61),
  );
  const batch = Buffer.concat([header, twoMembers]);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeUInt32BE(crc32c(batch.subarray(21)), CRC_OFFSET);
  assert.equal(decodeRecords(batch, opts).length, inputs.length);
});
