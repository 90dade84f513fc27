import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { MemoryMetadataStore } from './memory-metadata-store.ts';
import { metadataStoreContract } from './metadata-store.contract.ts';
import { SqliteMetadataStore } from './sqlite-metadata-store.ts';

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
