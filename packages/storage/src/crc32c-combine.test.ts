import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { crc32cCombine } from './crc32c-combine.ts';

describe('crc32cCombine', () => {
  it('equals the crc32c of the concatenation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ maxLength: 600 }), (a, b) => {
        const whole = crc32c(Buffer.concat([a, b])) >>> 0;
        const crcA = crc32c(Buffer.from(a)) >>> 0;
        const crcB = crc32c(Buffer.from(b)) >>> 0;
        assert.equal(crc32cCombine(crcA, crcB, b.length), whole);
      }),
      { numRuns: 500 },
    );
  });

  it('handles long suffixes', () => {
    const a = Buffer.from('head bytes');
    for (const size of [1, 21, 4096, 1_000_003, 3 * 1024 * 1024]) {
      const b = Buffer.alloc(size, size & 0xff);
      b[size >> 1] = 0x5a;
      const whole = crc32c(Buffer.concat([a, b])) >>> 0;
      assert.equal(crc32cCombine(crc32c(a), crc32c(b), size), whole, `size ${size}`);
    }
  });
});
