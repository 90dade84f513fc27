import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, buildRecordBatch } from '@tributary/protocol';
import { compactedKeyProblem, recordErrorsMaxCount } from './compacted-key-check.ts';

const target = { topic: 'compacted', partition: 3, maxDecompressedBytes: 1024 * 1024 };

test('keyed records pass; keyless ones are listed with their batch index', () => {
  const keyed = buildRecordBatch({ records: [{ key: Buffer.from('k'), value: null }] });
  assert.equal(compactedKeyProblem([keyed], target), undefined);
  const mixed = buildRecordBatch({
    records: [
      { key: Buffer.from('a'), value: Buffer.from('1') },
      { key: null, value: Buffer.from('2') },
    ],
    compression: 'zstd',
  });
  const problem = compactedKeyProblem([keyed, mixed], target);
  assert.equal(problem?.errorCode, ErrorCode.INVALID_RECORD);
  assert.deepEqual(
    problem?.recordErrors.map((error) => error.batchIndex),
    [1],
  );
  assert.match(problem?.errorMessage ?? '', /due to 1 record errors/);
});

test('a batch of many keyless records lists the first recordErrorsMaxCount, counts all', () => {
  const count = recordErrorsMaxCount * 5;
  const records = Array.from({ length: count }, () => ({ key: null, value: Buffer.from('x') }));
  const batch = buildRecordBatch({ records, compression: 'lz4' });
  const problem = compactedKeyProblem([batch], target);
  assert.equal(problem?.recordErrors.length, recordErrorsMaxCount);
  assert.equal(problem?.recordErrors.at(-1)?.batchIndex, recordErrorsMaxCount - 1);
  assert.match(problem?.errorMessage ?? '', new RegExp(`due to ${count} record errors`));
  assert.match(
    problem?.recordErrors[0]?.batchIndexErrorMessage ?? '',
    /without key in topic partition compacted-3/,
  );
});

test('a batch whose records do not decode is refused with the decoder code', () => {
  const batch = buildRecordBatch({ records: [{ key: Buffer.from('k'), value: null }] });
  const truncated = Buffer.from(batch);
  truncated.writeInt32BE(2, 57); // record count 2, one record present
  const problem = compactedKeyProblem([truncated], target);
  assert.equal(problem?.errorCode, ErrorCode.CORRUPT_MESSAGE);
});
