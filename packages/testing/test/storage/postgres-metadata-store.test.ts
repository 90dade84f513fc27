/**
 * PostgresMetadataStore against a real PostgreSQL (a private cluster started for this file):
 * the MetadataStore contract suite, every test on a fresh database; brokers migrating the same
 * fresh database at once; a schema newer than the build; and a database that is down or hung
 * giving a StorageError within the store's bounds instead of a hang.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { PostgresMetadataStore, StorageError, newTopicId } from '@tributary/storage';
import { metadataStoreContract } from '@tributary/storage/testing';
import { startPostgresServer } from '../../src/index.ts';

const server = await startPostgresServer();
after(() => server.stop());
process.stdout.write(`# PostgreSQL private cluster started in ${server.startMs} ms\n`);

let databases = 0;
async function freshDatabase(purpose: string): Promise<string> {
  databases += 1;
  return server.createDatabase(`${purpose}_${databases}`);
}

metadataStoreContract('PostgresMetadataStore', async () => {
  const url = await freshDatabase('contract');
  return {
    open: () => PostgresMetadataStore.open({ url }),
    durable: true,
    cleanup: () => Promise.resolve(),
  };
});

/** A bound for tests that must end by an error, not a hang; far above the store's timeouts. */
const hangBoundMs = 60_000;

describe('PostgresMetadataStore', () => {
  it('migrates once when several brokers open a fresh database at once', async () => {
    const url = await freshDatabase('race');
    const stores = await Promise.all(
      [1, 2, 3, 4].map(() => PostgresMetadataStore.open({ url, poolMaxConnections: 2 })),
    );
    const applied = await server.psql(
      url.split('/').at(-1) ?? '',
      'SELECT version, name FROM schema_migrations ORDER BY version',
    );
    assert.equal(
      applied,
      '1|0001-initial.sql\n2|0002-cluster.sql\n3|0003-leader-epochs.sql\n4|0004-object-gc.sql\n' +
        '5|0005-schema-registry.sql',
    );
    // Producer id blocks taken at once through different stores never overlap.
    const firsts = await Promise.all(stores.map((store) => store.allocateProducerIds(100)));
    const sorted = firsts.toSorted((a, b) => (a < b ? -1 : 1));
    assert.deepEqual(sorted, [0n, 100n, 200n, 300n]);
    await stores[0]?.createTopic({
      name: 'seen',
      topicId: newTopicId(),
      partitionCount: 1,
      configs: {},
    });
    assert.deepEqual(
      (await stores[3]?.listTopics())?.map((topic) => topic.name),
      ['seen'],
    );
    await Promise.all(stores.map((store) => store.close()));
  });

  it('refuses a database migrated by a newer build', async () => {
    const url = await freshDatabase('newer');
    await (await PostgresMetadataStore.open({ url })).close();
    const database = url.split('/').at(-1) ?? '';
    await server.psql(
      database,
      "INSERT INTO schema_migrations (version, name) VALUES (99, '0099-future.sql')",
    );
    await assert.rejects(PostgresMetadataStore.open({ url }), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.code, 'STORAGE_FAILURE');
      assert.match(error.message, /schema version 99 is newer than this build \(5\)/);
      return true;
    });
  });

  it('rolls a failed compaction commit back whole', async () => {
    const store = await PostgresMetadataStore.open({ url: await freshDatabase('rollback') });
    const topicId = newTopicId();
    const range = {
      topicId,
      partition: 0,
      baseOffset: 0n,
      lastOffset: 9n,
      position: 0,
      sizeBytes: 100,
      maxTimestamp: 1n,
    };
    await store.addObject({ name: 'a.obj', segmentId: 1, sizeBytes: 100, ranges: [range] });
    // The new object's name is taken: the ranges already removed from a.obj must come back.
    const change = {
      object: { name: 'a.obj', segmentId: 2, sizeBytes: 100, ranges: [range] },
      topicId,
      partition: 0,
      replacedObjects: ['a.obj'],
    };
    await assert.rejects(store.replacePartitionRanges(change), {
      code: 'STORAGE_FAILURE',
      message: /object a\.obj exists/,
    });
    assert.deepEqual(await store.listObjects(), [
      { name: 'a.obj', segmentId: 1, sizeBytes: 100, ranges: [range] },
    ]);
    await store.close();
  });

  it('rejects calls after close with CLOSED', async () => {
    const store = await PostgresMetadataStore.open({ url: await freshDatabase('closed') });
    await store.close();
    await assert.rejects(store.listTopics(), { code: 'CLOSED' });
  });

  it('refuses a URL that is not postgres://', async () => {
    await assert.rejects(PostgresMetadataStore.open({ url: 'mysql://127.0.0.1/x' }), {
      code: 'INVALID_CONFIG',
    });
  });

  it(
    'fails with STORAGE_FAILURE naming the server when nothing listens',
    { timeout: hangBoundMs },
    async () => {
      const url = `postgres://tributary:secret@127.0.0.1:${await closedPort()}/tributary`;
      await assert.rejects(PostgresMetadataStore.open({ url }), (error: unknown) => {
        assert.ok(error instanceof StorageError);
        assert.equal(error.code, 'STORAGE_FAILURE');
        assert.match(
          error.message,
          /127\.0\.0\.1:\d+\/tributary: migrating the schema failed: unreachable/,
        );
        assert.doesNotMatch(error.message, /secret/);
        return true;
      });
    },
  );

  it('gives up on a hung server within its timeouts', { timeout: hangBoundMs }, async () => {
    const url = await freshDatabase('hung');
    const store = await PostgresMetadataStore.open({
      url,
      statementTimeoutMs: 1_000,
      connectTimeoutMs: 1_000,
    });
    await store.listTopics();
    server.pause();
    try {
      // The pooled connection is open but gets no reply; a new one gets no handshake.
      await assert.rejects(store.listTopics(), {
        code: 'STORAGE_FAILURE',
        message: /no answer in time/,
      });
      const topic = { name: 'late', topicId: newTopicId(), partitionCount: 1, configs: {} };
      await assert.rejects(store.createTopic(topic), {
        code: 'STORAGE_FAILURE',
        message: /createTopic failed: no answer in time/,
      });
      await assert.rejects(PostgresMetadataStore.open({ url, connectTimeoutMs: 1_000 }), {
        code: 'STORAGE_FAILURE',
        message: /no answer in time/,
      });
    } finally {
      server.resume();
    }
    // Once the server answers again, the store works again (the hung connections were
    // dropped), and the transaction that got no answer left nothing behind.
    assert.deepEqual(await store.listTopics(), []);
    await store.close();
  });
});

/** A loopback port that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        resolve(typeof address === 'object' && address !== null ? address.port : 0),
      );
    });
  });
}
