import assert from 'node:assert/strict';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LogStorage } from './log-storage.ts';
import { MemoryObjectStore } from './memory-object-store.ts';
import { DirectoryObjectStore } from './directory-object-store.ts';
import { type ObjectVerdict, verifyObject, verifyObjectFile } from './object-verifier.ts';
import { batchEndOf, frameStartOf } from './segment-format.ts';
import { ObjectVerifyThread } from './object-verify-thread.ts';
import { fakeBatch, metaOf } from './testing/fake-batch.ts';
import { requirePartition, withTempDir } from './testing/storage-fixtures.ts';

/** An object store whose puts land with one byte changed, as a bad disk or network would. */
class DamagingObjectStore extends MemoryObjectStore {
  readonly #needle: string;

  constructor(needle: string) {
    super();
    this.#needle = needle;
  }

  override put(name: string, data: Buffer): Promise<void> {
    const copy = Buffer.from(data);
    const at = copy.indexOf(this.#needle);
    if (at >= 0) copy[at] = (copy[at] ?? 0) ^ 0x20;
    return super.put(name, copy);
  }
}

async function sealedStorage(store: MemoryObjectStore, warnings: string[]) {
  const storage = await LogStorage.open({
    inMemory: true,
    objectStore: store,
    // No tail cache: reads go to the object, as they do once batches age out of the cache.
    tailCacheMaxBytes: 0,
    log: {
      warn: (message, fields) =>
        warnings.push(
          `${message} ${JSON.stringify(fields, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
        ),
    },
  });
  await storage.createTopic({ name: 't', partitionCount: 1 });
  const log = requirePartition(storage, 't');
  for (const label of ['good-a', 'bad-b', 'good-c']) {
    const batch = fakeBatch(label);
    await log.append(batch, metaOf(batch));
  }
  await storage.sealActiveSegment();
  return storage;
}

/** The bytes of the object sealedStorage makes (a copy: the storage is closed). */
async function sealedObject(): Promise<{ name: string; data: Buffer }> {
  const store = new MemoryObjectStore();
  const storage = await sealedStorage(store, []);
  const [info] = await store.list();
  assert.ok(info !== undefined);
  const data = Buffer.from(await store.getAll(info.name));
  await storage.close();
  return { name: info.name, data };
}

describe('verifyObject', () => {
  it('finds every batch whose frame fails its checksum, and a broken trailer', async () => {
    const store = new MemoryObjectStore();
    const storage = await sealedStorage(store, []);
    const [info] = await store.list();
    assert.ok(info !== undefined);
    const data = await store.getAll(info.name);
    const clean = await verifyObject(data, 1);
    assert.equal(clean.entries.length, 3);
    assert.deepEqual(clean.damaged, []);
    assert.equal(clean.trailerProblem, undefined);

    const damaged = Buffer.from(data);
    damaged[damaged.indexOf('bad-b')] = 0;
    const verdict = await verifyObject(damaged, 1);
    assert.deepEqual(
      verdict.damaged.map((d) => [d.entry.baseOffset, d.reason]),
      [[1n, 'crc mismatch']],
    );
    const footerless = Buffer.from(data);
    const near = footerless.length - 3;
    footerless[near] = (footerless[near] ?? 0) ^ 1;
    assert.match((await verifyObject(footerless, 1)).trailerProblem ?? '', /footer/);
    await storage.close();
  });
});

/** What a verdict says, comparable with deepEqual. */
function summary(verdict: ObjectVerdict) {
  return {
    entries: verdict.entries.map((entry) => entry.baseOffset),
    damaged: verdict.damaged.map((d) => [d.entry.baseOffset, d.framePosition, d.reason]),
    trailerProblem: verdict.trailerProblem,
  };
}

describe('verifyObjectFile', () => {
  it('gives verifyObject verdict through windows smaller than one entry, one, or all', () =>
    withTempDir(async (dir) => {
      const { data: clean } = await sealedObject();
      const damaged = Buffer.from(clean);
      damaged[damaged.indexOf('bad-b')] = 0;
      const footerless = Buffer.from(clean);
      footerless[footerless.length - 3] = (footerless[footerless.length - 3] ?? 0) ^ 1;
      const first = (await verifyObject(clean, 1)).entries[0];
      assert.ok(first !== undefined);
      const entryBytes = batchEndOf(first) - frameStartOf(first);
      for (const [name, data] of Object.entries({ clean, damaged, footerless })) {
        const path = join(dir, `${name}.obj`);
        await writeFile(path, data);
        const expected = summary(await verifyObject(data, 1));
        for (const windowBytes of [16, entryBytes + 1, 1 << 20]) {
          const file = await open(path, 'r');
          try {
            const verdict = await verifyObjectFile(file, 1, Buffer.alloc(windowBytes));
            assert.deepEqual(summary(verdict), expected, `${name}, ${windowBytes}-byte window`);
          } finally {
            await file.close();
          }
        }
      }
      assert.equal(summary(await verifyObject(damaged, 1)).damaged.length, 1);
    }));
});

describe('LogStorage damaged objects', () => {
  it('verifies each object after its upload and logs damage once, with the object', async () => {
    const warnings: string[] = [];
    const storage = await sealedStorage(new DamagingObjectStore('bad-b'), warnings);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0] ?? '', /read back after its upload/);
    assert.match(warnings[0] ?? '', /"source":"object 0+1\.obj".*"partition":0,"firstOffset":"?1/);
    assert.equal(storage.stats().damagedObjects, 1);

    // The damaged batch is never served: its read fails with a message naming where it is.
    const log = requirePartition(storage, 't');
    await assert.rejects(log.read(1n, 1 << 20), (error: Error) => {
      assert.match(error.message, /offsets 1\.\.1 of t-0 in object 0+1\.obj at byte \d+/);
      assert.match(error.message, /tributary doctor/);
      return true;
    });
    await assert.rejects(log.read(0n, 1 << 20));
    assert.equal(storage.stats().corruptBatchReads, 2);
    assert.equal(warnings.length, 1, 'one log line per object');
    await storage.close();
  });
});

describe('ObjectVerifyThread', () => {
  it('verifies an object file on its worker, and here again when the worker is gone', () =>
    withTempDir(async (dir) => {
      const { name, data } = await sealedObject();
      data[data.indexOf('bad-b')] = 0;
      const store = await DirectoryObjectStore.open(dir);
      await store.put(name, data);
      const thread = new ObjectVerifyThread(store);
      const damageOf = async () =>
        (await thread.verify(name, 1)).damaged.map((d) => [d.entry.baseOffset, d.reason]);
      assert.deepEqual(await damageOf(), [[1n, 'crc mismatch']]);
      await thread.close();
      assert.deepEqual(await damageOf(), [[1n, 'crc mismatch']], 'after close: on this thread');
      assert.match(
        (await thread.verify('missing.obj', 2)).trailerProblem ?? '',
        /read back failed/,
      );
      await store.close();
    }));

  it('gives each of several objects verified at once its own verdict', () =>
    withTempDir(async (dir) => {
      const { name, data } = await sealedObject();
      const damaged = Buffer.from(data);
      damaged[damaged.indexOf('bad-b')] = 0;
      const store = await DirectoryObjectStore.open(dir);
      await store.put(name, data);
      await store.put(`damaged-${name}`, damaged);
      const thread = new ObjectVerifyThread(store);
      const verdicts = await Promise.all(
        Array.from({ length: 8 }, (_, i) => thread.verify(i % 2 ? `damaged-${name}` : name, 1)),
      );
      assert.deepEqual(
        verdicts.map((verdict) => verdict.damaged.length),
        [0, 1, 0, 1, 0, 1, 0, 1],
      );
      await thread.close();
      await store.close();
    }));
});
