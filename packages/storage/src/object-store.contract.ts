/** Contract suite every ObjectStore passes: put, ranged get, list, delete, immutability. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObjectStore } from './object-store.ts';

export interface ObjectStoreHarness {
  store: ObjectStore;
  /** A path to a fresh local file holding `data`, when the store can adopt files. */
  makeFile?(data: Buffer): Promise<string>;
  cleanup(): Promise<void>;
}

export function objectStoreContract(
  name: string,
  makeHarness: () => Promise<ObjectStoreHarness>,
): void {
  describe(`ObjectStore contract: ${name}`, () => {
    it('stores, lists, reads ranges and deletes', async () => {
      const { store, cleanup } = await makeHarness();
      await store.put('b.obj', Buffer.from('0123456789'));
      await store.put('a.obj', Buffer.from('abc'));
      assert.deepEqual(await store.list(), [
        { name: 'a.obj', sizeBytes: 3 },
        { name: 'b.obj', sizeBytes: 10 },
      ]);
      assert.equal((await store.get('b.obj', 2, 3)).toString(), '234');
      assert.equal((await store.get('b.obj', 8, 10)).toString(), '89', 'short at the end');
      assert.equal((await store.getAll('a.obj')).toString(), 'abc');
      assert.deepEqual(await store.head('b.obj'), { name: 'b.obj', sizeBytes: 10 });
      assert.equal(await store.head('nope.obj'), undefined);
      await store.delete('b.obj');
      await store.delete('b.obj');
      assert.deepEqual(
        (await store.list()).map((info) => info.name),
        ['a.obj'],
      );
      await assert.rejects(store.get('b.obj', 0, 1));
      await store.close();
      await cleanup();
    });

    it('never overwrites an existing name', async () => {
      const { store, cleanup } = await makeHarness();
      await store.put('x.obj', Buffer.from('one'));
      await assert.rejects(store.put('x.obj', Buffer.from('two')));
      assert.equal((await store.getAll('x.obj')).toString(), 'one');
      await store.close();
      await cleanup();
    });

    it('adopts a local file when it supports adoptFile', async () => {
      const { store, makeFile, cleanup } = await makeHarness();
      if (store.adoptFile !== undefined && makeFile !== undefined) {
        const path = await makeFile(Buffer.from('adopted bytes'));
        await store.adoptFile('seg.obj', path);
        assert.equal((await store.get('seg.obj', 8, 5)).toString(), 'bytes');
      }
      await store.close();
      await cleanup();
    });
  });
}
