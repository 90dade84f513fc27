import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32c } from './crc32c.ts';

/** Bitwise CRC32C (reflected polynomial 0x82F63B78): an independent oracle for the native one. */
function slowCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

test('crc32c matches the standard check value', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('crc32c known vectors (RFC 3720 B.4)', () => {
  assert.equal(crc32c(Buffer.alloc(0)), 0);
  assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  assert.equal(crc32c(ascending), 0x46dd794e);
});

test('crc32c is unsigned and agrees with a bitwise implementation', () => {
  for (let length = 0; length < 300; length += 7) {
    const data = Buffer.from(Array.from({ length }, (_, i) => (i * 131 + length) & 0xff));
    const value = crc32c(data);
    assert.ok(value >= 0);
    assert.equal(value, slowCrc32c(data));
  }
});
