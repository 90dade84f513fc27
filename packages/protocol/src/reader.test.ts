import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError } from './protocol-error.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

const hex = (text: string): Reader => new Reader(Buffer.from(text, 'hex'));

test('varints decode as Kafka encodes them', () => {
  assert.equal(hex('00').readUnsignedVarInt(), 0);
  assert.equal(hex('ac02').readUnsignedVarInt(), 300);
  assert.equal(hex('ffffffff0f').readUnsignedVarInt(), 0xffffffff);
  assert.equal(hex('01').readVarInt(), -1);
  assert.equal(hex('feffffff0f').readVarInt(), 2147483647);
  assert.equal(hex('ffffffff0f').readVarInt(), -2147483648);
  assert.equal(hex('01').readVarLong(), -1n);
  assert.equal(hex('feffffffffffffffff01').readVarLong(), 9223372036854775807n);
});

test('over-long and truncated varints are protocol errors', () => {
  assert.throws(() => hex('ffffffffff01').readUnsignedVarInt(), ProtocolError);
  assert.throws(() => hex('ffffffff7f').readUnsignedVarInt(), ProtocolError);
  assert.throws(() => hex('80').readUnsignedVarInt(), ProtocolError);
  assert.throws(() => hex('ffffffffffffffffffff01').readVarLong(), ProtocolError);
});

test('every read is bounds-checked', () => {
  assert.throws(() => hex('000000').readInt32(), ProtocolError);
  assert.throws(() => hex('0005616263').readString(), ProtocolError);
  assert.throws(() => hex('ffff').readString(), ProtocolError);
  assert.equal(hex('ffff').readNullableString(), null);
  assert.throws(() => hex('fffe').readNullableString(), ProtocolError);
  assert.throws(() => hex('00').readCompactString(), ProtocolError);
  assert.equal(hex('00').readCompactNullableString(), null);
  assert.throws(() => hex('7fffffff00').readBytes(), ProtocolError);
  assert.throws(() => hex('7fffffff00').readArrayLength(), ProtocolError);
  assert.throws(() => hex('ffffffff').readArrayLength(), ProtocolError);
  assert.equal(hex('ffffffff').readNullableArrayLength(), -1);
  assert.throws(() => hex('fffffffe').readNullableArrayLength(), ProtocolError);
  assert.throws(() => hex('0501').readTagCount(), ProtocolError);
  assert.throws(() => hex('010005').skipTaggedFields(), ProtocolError);
});

test('bytes are views of the input and uuids use base64url', () => {
  const input = Buffer.from('00000003616263', 'hex');
  const bytes = new Reader(input).readBytes();
  assert.equal(bytes.toString(), 'abc');
  assert.equal(bytes.buffer, input.buffer);
  assert.equal(new Reader(Buffer.alloc(16)).readUuid(), 'AAAAAAAAAAAAAAAAAAAAAA');
  const writer = new Writer();
  writer.writeUuid('AAECAwQFBgcICQoLDA0ODw');
  assert.equal(writer.toBuffer().toString('hex'), '000102030405060708090a0b0c0d0e0f');
});

test('tagged fields are skipped by size', () => {
  const reader = hex('020a0201ff01002a');
  reader.skipTaggedFields();
  assert.equal(reader.readInt8(), 42);
});
