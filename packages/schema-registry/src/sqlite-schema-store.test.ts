/**
 * SqliteSchemaStore: the SchemaStore contract on a fresh file each, and the store sharing one
 * file with the broker's metadata store (a second connection to a WAL-mode database).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteMetadataStore } from '@tributary/storage';
import { SqliteSchemaStore } from './sqlite-schema-store.ts';
import { registerIn, schemaStoreContract } from './testing/index.ts';

const directory = await mkdtemp(join(tmpdir(), 'schema-store-'));
after(() => rm(directory, { recursive: true, force: true }));
let files = 0;

schemaStoreContract('SqliteSchemaStore', {
  open: () => {
    files += 1;
    return Promise.resolve(SqliteSchemaStore.open(join(directory, `contract-${files}.sqlite`)));
  },
});

describe('SqliteSchemaStore beside the metadata store', () => {
  it('shares the metadata file and keeps its schemas across a reopen', async () => {
    const path = join(directory, 'metadata.sqlite');
    const metadata = SqliteMetadataStore.open(path);
    const store = SqliteSchemaStore.open(path);
    await metadata.initCluster({ clusterId: 'c', nodeId: 0 });
    const registered = await registerIn(store, {
      subject: 's',
      schemaType: 'JSON',
      schema: '{}',
      references: [],
      fingerprint: 'f',
    });
    await store.close();
    const reopened = SqliteSchemaStore.open(path);
    assert.equal((await reopened.schemaById(registered.id))?.schema, '{}');
    assert.equal((await metadata.initCluster({ clusterId: 'other', nodeId: 1 })).clusterId, 'c');
    await reopened.close();
    await metadata.close();
  });
});
