/**
 * PostgresSchemaStore against a real PostgreSQL (a private cluster started for this file): the
 * SchemaStore contract suite, each test on a fresh database migrated by the broker's own
 * PostgresMetadataStore (migration 0005 creates the registry tables), and two stores on one
 * database registering into one subject at once.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { PostgresSchemaStore } from '@tributary/schema-registry';
import { registerIn, schemaStoreContract } from '@tributary/schema-registry/testing';
import { PostgresMetadataStore } from '@tributary/storage';
import { startPostgresServer } from '../../src/index.ts';

const server = await startPostgresServer();
after(() => server.stop());

let databases = 0;
async function migratedDatabase(): Promise<string> {
  databases += 1;
  const url = await server.createDatabase(`registry_${databases}`);
  const metadata = await PostgresMetadataStore.open({ url });
  await metadata.close();
  return url;
}

schemaStoreContract('PostgresSchemaStore', {
  open: async () => PostgresSchemaStore.open({ url: await migratedDatabase() }),
});

describe('PostgresSchemaStore', () => {
  it('gives two brokers registering one subject at once distinct versions and one id', async () => {
    const url = await migratedDatabase();
    const stores = await Promise.all([1, 2].map(() => PostgresSchemaStore.open({ url })));
    try {
      const results = await Promise.all(
        ['a', 'b', 'a', 'b', 'c', 'c'].map((text, index) =>
          registerIn(stores[index % 2] as PostgresSchemaStore, {
            subject: 'orders-value',
            schemaType: 'AVRO',
            schema: `"${text}"`,
            references: [],
            fingerprint: text,
          }),
        ),
      );
      const byText = new Map<number, Set<number>>();
      for (const result of results) {
        assert.ok(result !== undefined);
        byText.set(result.id, (byText.get(result.id) ?? new Set()).add(result.version));
      }
      assert.equal(byText.size, 3, 'three schemas, three ids');
      for (const versions of byText.values()) assert.equal(versions.size, 1, 'one version each');
      const versions = await stores[0]?.versions('orders-value');
      assert.deepEqual(
        versions?.map((entry) => entry.version),
        [1, 2, 3],
      );
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});
