// Checks the hand-built wire bytes the fault tests rely on against independent references.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ByteReader,
  ByteWriter,
  crc32c,
  parseProduceResponse,
  recordBatch,
  withBadCrc,
} from './kafka-wire.ts';

test('crc32c matches the standard check value', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('recordBatch matches the bytes kafkajs 2.2.4 encodes for the same batch', () => {
  // kafkajs RecordBatch v0 with leader epoch -1, producer id/epoch/sequence -1, timestamp 1000.
  const expected =
    '00000000000000000000003effffffff0260f6341000000000000000000000000003e800000000000003e8' +
    'ffffffffffffffffffffffffffff000000011800000002610a666972737400';
  assert.equal(recordBatch([{ key: 'a', value: 'first' }], 1000n).toString('hex'), expected);
});

test('withBadCrc changes only the CRC field', () => {
  const batch = recordBatch([{ key: null, value: 'x' }], 5n);
  const bad = withBadCrc(batch);
  const differing = [...batch.keys()].filter((index) => batch[index] !== bad[index]);
  assert.deepEqual(differing, [17]);
});

test('varints round-trip through ByteWriter and ByteReader', () => {
  for (const value of [0, 1, 127, 128, 300, 16_384, 2 ** 31 - 1]) {
    const reader = new ByteReader(new ByteWriter().uvarint(value).build());
    assert.equal(reader.uvarint(), value);
  }
});

test('parseProduceResponse reads the v9 flexible layout', () => {
  const body = new ByteWriter()
    .tags()
    .uvarint(2)
    .compactString('t')
    .uvarint(2)
    .int32(4)
    .int16(2)
    .int64(-1n)
    .build();
  assert.deepEqual(parseProduceResponse(9, body), {
    topic: 't',
    partition: 4,
    errorCode: 2,
    baseOffset: -1n,
  });
});
