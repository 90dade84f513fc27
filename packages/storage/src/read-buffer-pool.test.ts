import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ReadBufferPool,
  readBufferPoolMaxBufferBytes,
  readBufferPoolMaxIdleBytes,
  readBufferPoolMinBytes,
} from './read-buffer-pool.ts';

describe('ReadBufferPool', () => {
  it('reuses a released buffer for a read of the same size class', () => {
    const pool = new ReadBufferPool();
    const first = pool.acquire(100_000);
    assert.equal(first.length, 128 * 1024);
    pool.release([first.subarray(10, 20), first.subarray(30, 40)]);
    assert.equal(pool.idleBytes, 128 * 1024, 'views of one buffer release it once');
    const second = pool.acquire(70_000);
    assert.equal(second.buffer, first.buffer);
    assert.equal(pool.idleBytes, 0);
    assert.notEqual(pool.acquire(70_000).buffer, first.buffer, 'a leased buffer is not shared');
  });

  it('serves a smaller read from a larger idle buffer when its own class has none', () => {
    const pool = new ReadBufferPool();
    const large = pool.acquire(readBufferPoolMaxBufferBytes);
    assert.ok(large.buffer instanceof SharedArrayBuffer, 'shared memory, for the frame check');
    pool.release([large]);
    const small = pool.acquire(200_000);
    assert.equal(small.buffer, large.buffer);
    assert.equal(pool.idleBytes, 0);
    pool.release([small]);
    assert.equal(pool.idleBytes, readBufferPoolMaxBufferBytes, 'back in its own class');
    const exact = pool.acquire(300 * 1024);
    assert.equal(exact.buffer, large.buffer);
    const own = pool.acquire(400_000);
    assert.equal(own.length, 512 * 1024, 'a fresh buffer of its own class');
    pool.release([exact, own]);
    assert.equal(pool.acquire(300 * 1024).buffer, own.buffer, 'its own class first');
  });

  it('ignores buffers it did not lease, and a second release', () => {
    const pool = new ReadBufferPool();
    pool.release([Buffer.alloc(readBufferPoolMinBytes)]);
    const leased = pool.acquire(readBufferPoolMinBytes);
    pool.release([leased]);
    pool.release([leased]);
    assert.equal(pool.idleBytes, readBufferPoolMinBytes);
  });

  it('does not pool small or huge reads, and caps what waits idle', () => {
    const pool = new ReadBufferPool();
    const small = pool.acquire(readBufferPoolMinBytes - 1);
    const huge = pool.acquire(readBufferPoolMaxBufferBytes + 1);
    pool.release([small, huge]);
    assert.equal(pool.idleBytes, 0);
    const count = readBufferPoolMaxIdleBytes / readBufferPoolMaxBufferBytes + 2;
    const leased = Array.from({ length: count }, () => pool.acquire(readBufferPoolMaxBufferBytes));
    pool.release(leased);
    assert.equal(pool.idleBytes, readBufferPoolMaxIdleBytes);
  });
});
