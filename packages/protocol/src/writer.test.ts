import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Reader } from './reader.ts';
import { Writer, writeRawCopyMaxBytes } from './writer.ts';

test('primitives round-trip through Reader across chunk growth', () => {
  const writer = new Writer(16);
  for (let i = 0; i < 1000; i++) {
    writer.writeInt32(i);
    writer.writeVarInt(0 - i);
    writer.writeVarLong(BigInt(i) * -1000000007n);
    writer.writeCompactString(`s${i}`);
    writer.writeInt64(BigInt(i) << 40n);
    writer.writeBool(i % 2 === 0);
  }
  const buffer = writer.toBuffer();
  assert.equal(buffer.length, writer.length);
  const reader = new Reader(buffer);
  for (let i = 0; i < 1000; i++) {
    assert.equal(reader.readInt32(), i);
    assert.equal(reader.readVarInt(), 0 - i);
    assert.equal(reader.readVarLong(), BigInt(i) * -1000000007n);
    assert.equal(reader.readCompactString(), `s${i}`);
    assert.equal(reader.readInt64(), BigInt(i) << 40n);
    assert.equal(reader.readBool(), i % 2 === 0);
  }
  assert.equal(reader.remaining, 0);
});

test('large raw buffers are appended by reference, small ones copied', () => {
  const big = Buffer.alloc(writeRawCopyMaxBytes, 7);
  const small = Buffer.alloc(10, 1);
  const writer = new Writer();
  writer.writeInt32(0);
  writer.writeRaw(small);
  writer.writeRaw(big);
  writer.writeInt16(5);
  const chunks = writer.toChunks();
  assert.equal(chunks.length, 3);
  assert.equal(chunks[1], big, 'the big buffer itself is a chunk');
  assert.equal(chunks[0]?.length, 14);
  assert.equal(writer.length, 4 + 10 + big.length + 2);
  chunks[0]?.writeInt32BE(writer.length - 4, 0);
  assert.equal(writer.toBuffer().readInt32BE(0), writer.length - 4);
});

test('records accept one buffer, several batches, or null', () => {
  const writer = new Writer();
  writer.writeRecords([Buffer.from('ab'), Buffer.from('cde')], false, true);
  writer.writeRecords(null, false, true);
  writer.writeRecords(null, true, false);
  writer.writeRecords(Buffer.from('x'), true, true);
  assert.equal(writer.toBuffer().toString('hex'), '000000056162636465ffffffff010278');
});

test('varints use the fewest bytes', () => {
  const writer = new Writer();
  writer.writeUnsignedVarInt(127);
  writer.writeUnsignedVarInt(128);
  writer.writeUnsignedVarInt(0xffffffff);
  assert.equal(writer.toBuffer().toString('hex'), '7f8001ffffffff0f');
});
