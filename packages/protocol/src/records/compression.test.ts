import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { compressFrameSync } from 'lz4-napi';
import { compressSync as snappyRaw } from 'snappy';
import { compress, decompress, type CompressionType } from './compression.ts';
import { decompressLz4Frame } from './lz4-frame.ts';
import { RecordBatchError } from './record-batch-error.ts';

const codecs: CompressionType[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const MiB = 1024 * 1024;

function sample(length: number): Buffer {
  const data = Buffer.alloc(length);
  for (let i = 0; i < length; i++) data[i] = (i % 97) ^ ((i >> 8) & 0x0f);
  return data;
}

function assertCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => error instanceof RecordBatchError && error.code === code);
}

for (const codec of codecs) {
  test(`${codec}: what it compresses decompresses back`, () => {
    for (const length of [0, 1, 100, 40_000, 300_000]) {
      const data = sample(length);
      const packed = compress(codec, data);
      assert.deepEqual(decompress(codec, packed, length), data);
    }
  });

  test(`${codec}: output over the cap is refused`, () => {
    const packed = compress(codec, Buffer.alloc(2 * MiB));
    assertCode(() => decompress(codec, packed, MiB), 'DECOMPRESSED_TOO_LARGE');
  });
}

for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
  test(`${codec}: garbage is CORRUPT_MESSAGE`, () => {
    assertCode(
      () => decompress(codec, Buffer.from('definitely not compressed'), MiB),
      'CORRUPT_MESSAGE',
    );
    assertCode(() => decompress(codec, Buffer.alloc(0), MiB), 'CORRUPT_MESSAGE');
  });
}

test('gzip: a zip bomb stops at the cap instead of inflating', () => {
  const bomb = zlib.gzipSync(Buffer.alloc(64 * MiB));
  assert.ok(bomb.length < 100_000);
  assertCode(() => decompress('gzip', bomb, MiB), 'DECOMPRESSED_TOO_LARGE');
});

test('snappy: compress writes xerial framing as the Java client does', () => {
  const packed = compress('snappy', sample(100_000));
  assert.deepEqual(packed.subarray(0, 16), Buffer.from('82534e41505059000000000100000001', 'hex'));
  // 100 000 bytes are four 32 KiB chunks.
  let chunks = 0;
  for (let position = 16; position < packed.length; chunks++) {
    position += 4 + packed.readInt32BE(position);
  }
  assert.equal(chunks, 4);
});

test('snappy: raw blocks (librdkafka) and xerial framing both decode', () => {
  const data = sample(70_000);
  assert.deepEqual(decompress('snappy', snappyRaw(data), data.length), data);
  const header = Buffer.from('82534e41505059000000000100000001', 'hex');
  const first = snappyRaw(data.subarray(0, 50_000));
  const second = snappyRaw(data.subarray(50_000));
  const framed = Buffer.concat([header, lengthPrefix(first), first, lengthPrefix(second), second]);
  assert.deepEqual(decompress('snappy', framed, data.length), data);
  assertCode(() => decompress('snappy', framed, data.length - 1), 'DECOMPRESSED_TOO_LARGE');
  assertCode(() => decompress('snappy', framed.subarray(0, 30), MiB), 'CORRUPT_MESSAGE');
});

test('snappy: a declared length over the cap is refused before decompressing', () => {
  // varint 0xffffffff then nothing: the preamble alone must trip the cap.
  assertCode(
    () => decompress('snappy', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), MiB),
    'DECOMPRESSED_TOO_LARGE',
  );
});

function lengthPrefix(block: Buffer): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(block.length);
  return prefix;
}

test('lz4: frame header is version 1 with independent blocks (KIP-57)', () => {
  const packed = compress('lz4', sample(1000));
  assert.equal(packed.readUInt32LE(0), 0x184d2204);
  assert.equal(packed[4]! & 0xc0, 0x40);
  assert.equal(packed[4]! & 0x20, 0x20);
});

test('lz4: the JS decoder agrees with the native one near the cap', () => {
  for (const data of [
    sample(300_000),
    Buffer.alloc(600_000, 7),
    Buffer.from('abc'.repeat(90_000)),
  ]) {
    const packed = compressFrameSync(data);
    // A cap just at the output size forces the JS path (the bound is above it).
    assert.deepEqual(decompressLz4Frame(packed, data.length), data);
    assertCode(() => decompressLz4Frame(packed, data.length - 1), 'DECOMPRESSED_TOO_LARGE');
  }
});

test('lz4: a declared content size over the cap is refused', () => {
  // FLG 0x68: version 1, independent blocks, content size present (2^40 bytes).
  const header = Buffer.from('04224d18684000000000000100000000', 'hex');
  assertCode(() => decompressLz4Frame(header, MiB), 'DECOMPRESSED_TOO_LARGE');
});

test('lz4: trailing bytes after the frame are corrupt', () => {
  const packed = Buffer.concat([compress('lz4', sample(100)), Buffer.from([1])]);
  assertCode(() => decompress('lz4', packed, MiB), 'CORRUPT_MESSAGE');
});
