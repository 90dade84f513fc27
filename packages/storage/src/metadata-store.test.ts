import assert from 'node:assert/strict';
import { type FileHandle, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { MemoryMetadataStore } from './memory-metadata-store.ts';
import { metadataStoreContract } from './metadata-store.contract.ts';
import { SqliteMetadataStore } from './sqlite-metadata-store.ts';
import { newTopicId } from './types.ts';

metadataStoreContract('SqliteMetadataStore', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'tributary-meta-'));
  return {
    open: () => SqliteMetadataStore.open(join(directory, 'metadata.sqlite')),
    durable: true,
    cleanup: () => rm(directory, { recursive: true, force: true }),
  };
});

metadataStoreContract('MemoryMetadataStore', () => {
  const store = new MemoryMetadataStore();
  return Promise.resolve({ open: () => store, durable: false, cleanup: () => Promise.resolve() });
});

describe('SqliteMetadataStore schema', () => {
  it('refuses a database written by a newer schema version', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tributary-meta-'));
    const path = join(directory, 'metadata.sqlite');
    const db = new DatabaseSync(path);
    db.exec('PRAGMA user_version = 99');
    db.close();
    assert.throws(() => SqliteMetadataStore.open(path), /newer than this build/);
    await rm(directory, { recursive: true, force: true });
  });

  it('migrates a version 1 database to version 2, keeping its data', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tributary-meta-'));
    const path = join(directory, 'metadata.sqlite');
    const db = new DatabaseSync(path);
    // Version 1's tables, as docs/FORMATS.md lists them, with one topic.
    db.exec(`
      CREATE TABLE cluster (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE topics (name TEXT PRIMARY KEY, topic_id TEXT NOT NULL UNIQUE,
        partition_count INTEGER NOT NULL, configs TEXT NOT NULL);
      CREATE TABLE partitions (topic_id TEXT NOT NULL, partition INTEGER NOT NULL,
        log_start_offset INTEGER NOT NULL, PRIMARY KEY (topic_id, partition));
      CREATE TABLE objects (name TEXT PRIMARY KEY, segment_id INTEGER NOT NULL,
        size_bytes INTEGER NOT NULL);
      CREATE TABLE object_ranges (object_name TEXT NOT NULL REFERENCES objects(name)
        ON DELETE CASCADE, topic_id TEXT NOT NULL, partition INTEGER NOT NULL,
        base_offset INTEGER NOT NULL, last_offset INTEGER NOT NULL, position INTEGER NOT NULL,
        size_bytes INTEGER NOT NULL, max_timestamp INTEGER NOT NULL);
      INSERT INTO topics VALUES ('kept', 'AAAAAAAAAAAAAAAAAAAAAA', 1, '{}');
      PRAGMA user_version = 1;
    `);
    db.close();
    const store = SqliteMetadataStore.open(path);
    assert.deepEqual(
      (await store.listTopics()).map((topic) => topic.name),
      ['kept'],
    );
    assert.deepEqual(await store.listAcls(), []);
    assert.deepEqual(await store.listScramCredentials(), []);
    await store.close();
    const check = new DatabaseSync(path);
    assert.equal(check.prepare('PRAGMA user_version').get()?.user_version, 2);
    check.close();
    await rm(directory, { recursive: true, force: true });
  });
});

describe('SqliteMetadataStore durability', () => {
  it('resolves a write only after an fsync of the WAL file that began after its commit', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tributary-meta-'));
    const path = join(directory, 'metadata.sqlite');
    const syncs: Array<{ path: string; release: () => void }> = [];
    // The WAL file's fsyncs wait until the test releases them, one by one.
    const openFile = async (file: string, flags: string | number): Promise<FileHandle> => {
      const handle = await open(file, flags);
      return new Proxy(handle, {
        get(target, property, receiver) {
          if (property !== 'sync') return Reflect.get(target, property, receiver) as unknown;
          return async () => {
            await new Promise<void>((release) => syncs.push({ path: file, release }));
            await target.sync();
          };
        },
      });
    };
    const store = SqliteMetadataStore.open(path, { openFile });
    let done = false;
    const created = store
      .createTopic({
        name: 'held',
        topicId: newTopicId(),
        partitionCount: 1,
        configs: {},
      })
      .then(() => {
        done = true;
      });
    while (syncs.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(done, false, 'the write resolved before its fsync returned');
    assert.deepEqual(
      syncs.map((sync) => sync.path),
      [`${path}-wal`],
    );
    syncs.shift()?.release();
    await created;
    assert.equal(done, true);
    await store.close();
    await rm(directory, { recursive: true, force: true });
  });
});
