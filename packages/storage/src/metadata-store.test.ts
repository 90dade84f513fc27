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
});
