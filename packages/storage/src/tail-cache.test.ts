/**
 * The tail cache: what it still holds is byte for byte what was added, it holds a FIFO suffix
 * of what was added within its budget, and a batch handed out stays intact as the cache moves on.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { TailCache, type TailIndex, tailCacheCopyMaxBytes } from './tail-cache.ts';

function batchOf(size: number, seed: number): Buffer {
  const batch = randomBytes(size);
  batch.writeUInt32BE(seed >>> 0, 0);
  return batch;
}

interface Added {
  index: TailIndex;
  offset: bigint;
  data: Buffer;
}

/** Checks the newest `window` batches: cached ones are exact, and no gap precedes a hit. */
function checkFifoSuffix(added: readonly Added[], window: number): number {
  let cachedBytes = 0;
  let seenEvicted = false;
  for (let j = added.length - 1; j >= Math.max(0, added.length - window); j--) {
    const entry = added[j] as Added;
    const cached = entry.index.get(entry.offset);
    if (cached === undefined) {
      seenEvicted = true;
      continue;
    }
    assert.ok(!seenEvicted, `batch ${j} cached after an older one was evicted`);
    assert.ok(cached.equals(entry.data), `batch ${j} changed in the cache`);
    cachedBytes += cached.length;
  }
  return cachedBytes;
}

describe('TailCache', () => {
  it('keeps exact copies of a FIFO suffix, within budget, across many evictions', () => {
    const cache = new TailCache(20_000);
    const indexes = [cache.newIndex(), cache.newIndex(), cache.newIndex()];
    const added: Added[] = [];
    for (let i = 0; i < 3_000; i++) {
      const index = indexes[i % indexes.length] as TailIndex;
      const data = batchOf(4 + Math.floor(Math.random() * 1_500), i + 1);
      const offset = BigInt(i * 10);
      cache.add(index, offset, data);
      added.push({ index, offset, data });
      assert.ok(cache.slabBytes <= cache.maxBytes, `${cache.slabBytes} slab bytes held`);
      assert.ok(index.get(offset)?.equals(data), 'the batch just added is cached');
      assert.ok(checkFifoSuffix(added, 40) <= cache.bytes);
    }
    let total = 0;
    for (const entry of added) total += entry.index.get(entry.offset)?.length ?? 0;
    assert.equal(total, cache.bytes, 'every cached batch is found, none twice');
    assert.ok(total > 10_000, `most of the budget is in use (${total} bytes)`);
    assert.equal(indexes[0]?.get(5n), undefined, 'an offset between two batches is a miss');
  });

  it('skips batches over budget, replaces re-appended ones, caches nothing with no budget', () => {
    const cache = new TailCache(100);
    const index = cache.newIndex();
    cache.add(index, 0n, batchOf(101, 1));
    assert.equal(index.get(0n), undefined);
    cache.add(index, 1n, batchOf(100, 2));
    assert.equal(index.get(1n)?.length, 100);
    const again = batchOf(10, 3);
    cache.add(index, 1n, again);
    assert.ok(index.get(1n)?.equals(again), 'a batch appended again at an offset replaces it');
    const none = new TailCache(0);
    const other = none.newIndex();
    none.add(other, 2n, batchOf(10, 3));
    assert.equal(other.get(2n), undefined);
    assert.equal(none.bytes, 0);
  });

  it('hands out batches that stay intact after their slab is evicted', () => {
    const cache = new TailCache(8 * 1024);
    const index = cache.newIndex();
    const first = batchOf(400, 1);
    cache.add(index, 0n, first);
    const handedOut = index.get(0n) as Buffer;
    for (let i = 1; i < 200; i++) cache.add(index, BigInt(i), batchOf(400, i + 1));
    assert.equal(index.get(0n), undefined, 'evicted by the later batches');
    assert.ok(handedOut.equals(first), 'the view handed out still reads the batch');
  });

  it('keeps large batches uncopied beside copied small ones, within budget', () => {
    const cache = new TailCache(16 * tailCacheCopyMaxBytes);
    const index = cache.newIndex();
    const added: Added[] = [];
    for (let i = 0; i < 400; i++) {
      const large = i % 3 === 0;
      const data = batchOf(large ? tailCacheCopyMaxBytes + i : 100 + i, i + 1);
      cache.add(index, BigInt(i), data);
      added.push({ index, offset: BigInt(i), data });
      assert.ok(cache.slabBytes <= cache.maxBytes, `${cache.slabBytes} slab bytes held`);
      const cached = index.get(BigInt(i)) as Buffer;
      assert.ok(cached.equals(data));
      assert.equal(cached.buffer === data.buffer, large, 'only large batches share memory');
    }
    let total = 0;
    for (const entry of added) {
      const cached = entry.index.get(entry.offset);
      if (cached !== undefined) assert.ok(cached.equals(entry.data));
      total += cached?.length ?? 0;
    }
    assert.equal(total, cache.bytes);
    assert.ok(total > 8 * tailCacheCopyMaxBytes, `most of the budget is in use (${total} bytes)`);
  });

  it('forgets what a log cut back appends again, even when the new batch is not cached', () => {
    const cache = new TailCache(1024);
    const index = cache.newIndex();
    for (let i = 0; i < 5; i++) cache.add(index, BigInt(i * 10), batchOf(20, i));
    cache.add(index, 20n, batchOf(2_000, 9));
    assert.equal(index.get(20n), undefined, 'the too-large batch at 20 is not cached');
    assert.equal(index.get(30n), undefined, 'the batch after it is superseded too');
    assert.equal(index.get(10n)?.length, 20, 'batches before the cut stay');
    cache.add(index, 21n, batchOf(30, 10));
    assert.equal(index.get(21n)?.length, 30);
  });

  it('forgets batches below a start offset and single replaced batches', () => {
    const cache = new TailCache(1024 * 1024);
    const index = cache.newIndex();
    for (let i = 0; i < 100; i++) cache.add(index, BigInt(i * 2), batchOf(50, i));
    index.dropBefore(100n);
    assert.equal(index.get(98n), undefined);
    assert.equal(index.get(100n)?.length, 50);
    index.delete(150n);
    assert.equal(index.get(150n), undefined);
    assert.equal(index.get(152n)?.length, 50);
    assert.equal(index.size, 50);
    index.clear();
    assert.equal(index.get(152n), undefined);
    cache.add(index, 0n, batchOf(10, 1));
    assert.equal(index.get(0n)?.length, 10, 'a cleared index starts over');
  });
});
