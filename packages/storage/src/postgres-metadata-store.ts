/**
 * PostgresMetadataStore: the MetadataStore in a PostgreSQL database shared by every broker of a
 * cluster (the `metadata.url` setting), through node-postgres with one pool per store. `open`
 * applies the schema migrations (postgres-migrations.ts; tables in docs/FORMATS.md) before it
 * returns, so a store that opened has the schema this build expects.
 *
 * Invariants: each method is one statement or one transaction, so it is atomic and, once its
 * promise resolves, committed (PostgreSQL's synchronous commit: durable by the server's
 * settings). Read-modify-write operations lock what they read or are single statements, so
 * brokers calling at once cannot interleave (producer id blocks never overlap). Every wait is
 * bounded: connecting, each statement (server-side timeout, and a client-side bound on the
 * reply for a server that does not answer at all) and a session left idle inside a transaction
 * (a paused broker cannot hold locks forever). Failures reject with StorageError; messages name
 * the server as host:port/database, never the URL's password. Topic changes and log start moves
 * notify `tributary_topics` in their own statement or transaction, so other brokers' cluster
 * catalogs hear of them once committed (clusterCatalog(), docs/FORMATS.md section 6a).
 */
import pg from 'pg';
import {
  aclBindingFields,
  compareAclBindings,
  type AclBinding,
  type ScramCredential,
  type ScramCredentialChange,
} from './security-metadata.ts';
import type {
  BrokerConfigScope,
  ClusterIdentity,
  MetadataStore,
  ObjectRange,
  ObjectRecord,
  PartitionRangeChange,
  PartitionStart,
} from './metadata-store.ts';
import { PostgresClusterCatalog, topicsChannel } from './cluster/postgres-cluster-catalog.ts';
import { storageErrorOf } from './postgres-errors.ts';
import { applyPostgresMigrations } from './postgres-migrations.ts';
import { runTransaction } from './postgres-transaction.ts';
import { StorageError } from './storage-error.ts';
import type { TopicId, TopicRecord } from './types.ts';

export interface PostgresMetadataStoreOptions {
  /** `postgres://[user[:password]@]host[:port]/database`; PG* environment variables fill gaps. */
  url: string;
  /** Connections the store's pool opens at most. */
  poolMaxConnections?: number;
  /** Bound on opening one connection (TCP, TLS, authentication). */
  connectTimeoutMs?: number;
  /** Server-side bound on one statement; the client also gives up on the reply a bit later. */
  statementTimeoutMs?: number;
  /** The server ends a session that sits inside a transaction this long without a statement. */
  idleInTransactionTimeoutMs?: number;
  /** Bound on applying migrations, waiting for another broker's migration included. */
  migrationTimeoutMs?: number;
}

const defaultPoolMaxConnections = 10;
const defaultConnectTimeoutMs = 5_000;
const defaultStatementTimeoutMs = 10_000;
const defaultIdleInTransactionTimeoutMs = 10_000;
const defaultMigrationTimeoutMs = 60_000;
/** An idle pooled connection is closed after this long. */
const poolIdleTimeoutMs = 30_000;
/** Past the server's statement timeout, how long the client waits for the cancellation reply. */
const replyGraceMs = 2_000;

interface TopicRow {
  name: string;
  topic_id: string;
  partition_count: number;
  configs: Record<string, string>;
}

interface ObjectRangeRow {
  name: string;
  segment_id: string;
  object_size_bytes: string;
  topic_id: string | null;
  partition: number;
  base_offset: string;
  last_offset: string;
  position: string;
  size_bytes: string;
  max_timestamp: string;
}

interface ScramRow {
  user_name: string;
  mechanism: number;
  salt: Buffer;
  stored_key: Buffer;
  server_key: Buffer;
  iterations: number;
}

/** Tells every broker's cluster catalog listener that topics or log starts changed. */
const notifyTopics = `SELECT pg_notify('${topicsChannel}', '')`;

const aclColumns =
  'resource_type, resource_name, pattern_type, principal, host, operation, permission_type';

export class PostgresMetadataStore implements MetadataStore {
  readonly #pool: pg.Pool;
  /** host:port/database, for messages. */
  readonly #server: string;
  /** The pool's connection settings, for the cluster catalog's LISTEN connection. */
  readonly #connection: pg.ClientConfig;
  #catalog: PostgresClusterCatalog | undefined;
  #closed = false;

  private constructor(pool: pg.Pool, server: string, connection: pg.ClientConfig) {
    this.#pool = pool;
    this.#server = server;
    this.#connection = connection;
  }

  /** Connects, applies pending migrations and returns the store; rejects with StorageError. */
  static async open(options: PostgresMetadataStoreOptions): Promise<PostgresMetadataStore> {
    const server = describeServer(options.url);
    const statementTimeoutMs = options.statementTimeoutMs ?? defaultStatementTimeoutMs;
    const connection = {
      connectionString: options.url,
      connectionTimeoutMillis: options.connectTimeoutMs ?? defaultConnectTimeoutMs,
      idle_in_transaction_session_timeout:
        options.idleInTransactionTimeoutMs ?? defaultIdleInTransactionTimeoutMs,
      application_name: 'tributary',
      keepAlive: true,
    };
    await migrate(server, {
      ...connection,
      statement_timeout: options.migrationTimeoutMs ?? defaultMigrationTimeoutMs,
      query_timeout: (options.migrationTimeoutMs ?? defaultMigrationTimeoutMs) + replyGraceMs,
    });
    const sessionConfig = {
      ...connection,
      statement_timeout: statementTimeoutMs,
      query_timeout: statementTimeoutMs + replyGraceMs,
    };
    const pool = new pg.Pool({
      ...sessionConfig,
      max: options.poolMaxConnections ?? defaultPoolMaxConnections,
      idleTimeoutMillis: poolIdleTimeoutMs,
    });
    // An idle pooled connection that breaks (server restart) is dropped by the pool and the
    // next call opens a new one; without a listener the error would end the process.
    pool.on('error', () => undefined);
    return new PostgresMetadataStore(pool, server, sessionConfig);
  }

  /**
   * The cluster catalog (leases, brokers, the batch index) in the same database, sharing this
   * store's pool; it stops working when the store closes.
   */
  clusterCatalog(): PostgresClusterCatalog {
    this.#catalog ??= new PostgresClusterCatalog({
      pool: this.#pool,
      server: this.#server,
      connection: this.#connection,
      isClosed: () => this.#closed,
    });
    return this.#catalog;
  }

  initCluster(proposed: ClusterIdentity): Promise<ClusterIdentity> {
    return this.#transaction('initCluster', async (client) => {
      await client.query(
        'INSERT INTO cluster (cluster_id, node_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [proposed.clusterId, proposed.nodeId],
      );
      const result = await client.query<{ cluster_id: string; node_id: number }>(
        'SELECT cluster_id, node_id FROM cluster',
      );
      const row = result.rows[0];
      if (row === undefined) throw new StorageError('STORAGE_FAILURE', 'no cluster row');
      return { clusterId: row.cluster_id, nodeId: row.node_id };
    });
  }

  async allocateProducerIds(count: number): Promise<bigint> {
    const result = await this.#query<{ first: string }>(
      'allocateProducerIds',
      'UPDATE producer_ids SET next_producer_id = next_producer_id + $1 ' +
        'RETURNING next_producer_id - $1 AS first',
      [count],
    );
    const row = result.rows[0];
    if (row === undefined) throw new StorageError('STORAGE_FAILURE', 'no producer_ids row');
    return BigInt(row.first);
  }

  async listAcls(): Promise<AclBinding[]> {
    const result = await this.#query<Record<string, unknown>>(
      'listAcls',
      `SELECT ${aclColumns} FROM acls`,
      [],
    );
    return result.rows.map(aclFromRow).toSorted(compareAclBindings);
  }

  async createAcls(bindings: readonly AclBinding[]): Promise<void> {
    // One statement: atomic, and ON CONFLICT skips stored bindings and repeats in `bindings`.
    await this.#query(
      'createAcls',
      `INSERT INTO acls (${aclColumns}) SELECT * FROM unnest($1::int[], $2::text[], ` +
        '$3::int[], $4::text[], $5::text[], $6::int[], $7::int[]) ON CONFLICT DO NOTHING',
      aclColumnArrays(bindings),
    );
  }

  deleteAcls(bindings: readonly AclBinding[]): Promise<AclBinding[]> {
    return this.#transaction('deleteAcls', async (client) => {
      const deleted: AclBinding[] = [];
      for (const binding of bindings) {
        const result = await client.query(
          'DELETE FROM acls WHERE resource_type = $1 AND resource_name = $2 AND ' +
            'pattern_type = $3 AND principal = $4 AND host = $5 AND operation = $6 AND ' +
            'permission_type = $7',
          aclBindingFields(binding),
        );
        if (result.rowCount !== 0) deleted.push(binding);
      }
      return deleted;
    });
  }

  async listScramCredentials(): Promise<ScramCredential[]> {
    const result = await this.#query<ScramRow>(
      'listScramCredentials',
      'SELECT * FROM scram_credentials',
      [],
    );
    return result.rows
      .map((row) => ({
        user: row.user_name,
        mechanism: row.mechanism,
        salt: row.salt,
        storedKey: row.stored_key,
        serverKey: row.server_key,
        iterations: row.iterations,
      }))
      .toSorted((a, b) => compareText(a.user, b.user) || a.mechanism - b.mechanism);
  }

  alterScramCredentials(change: ScramCredentialChange): Promise<void> {
    return this.#transaction('alterScramCredentials', async (client) => {
      for (const key of change.deletions) {
        await client.query(
          'DELETE FROM scram_credentials WHERE user_name = $1 AND mechanism = $2',
          [key.user, key.mechanism],
        );
      }
      for (const credential of change.upserts) {
        const { user, mechanism, salt, storedKey, serverKey, iterations } = credential;
        await client.query(
          'INSERT INTO scram_credentials VALUES ($1, $2, $3, $4, $5, $6) ' +
            'ON CONFLICT (user_name, mechanism) DO UPDATE SET salt = excluded.salt, ' +
            'stored_key = excluded.stored_key, server_key = excluded.server_key, ' +
            'iterations = excluded.iterations',
          [user, mechanism, salt, storedKey, serverKey, iterations],
        );
      }
    });
  }

  async listTopics(): Promise<TopicRecord[]> {
    const result = await this.#query<TopicRow>(
      'listTopics',
      'SELECT * FROM topics ORDER BY name COLLATE "C"',
      [],
    );
    return result.rows.map((row) => ({
      name: row.name,
      topicId: row.topic_id as TopicId,
      partitionCount: row.partition_count,
      configs: row.configs,
    }));
  }

  createTopic(topic: TopicRecord): Promise<void> {
    return this.#transaction('createTopic', async (client) => {
      const inserted = await client.query(
        'INSERT INTO topics VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING',
        [topic.name, topic.topicId, topic.partitionCount, JSON.stringify(topic.configs)],
      );
      if (inserted.rowCount === 0) {
        throw new StorageError('TOPIC_EXISTS', `topic ${topic.name} exists`);
      }
      await addPartitions(client, topic.topicId, 0, topic.partitionCount);
      await client.query(notifyTopics);
    });
  }

  updateTopic(topic: TopicRecord): Promise<void> {
    return this.#transaction('updateTopic', async (client) => {
      // FOR UPDATE: a concurrent update of the same topic waits, so partition counts only grow
      // from the count this transaction saw.
      const old = await client.query<{ topic_id: string; partition_count: number }>(
        'SELECT topic_id, partition_count FROM topics WHERE name = $1 FOR UPDATE',
        [topic.name],
      );
      const row = old.rows[0];
      if (row === undefined) throw new StorageError('UNKNOWN_TOPIC', `no topic ${topic.name}`);
      await client.query('UPDATE topics SET partition_count = $2, configs = $3 WHERE name = $1', [
        topic.name,
        topic.partitionCount,
        JSON.stringify(topic.configs),
      ]);
      await addPartitions(client, row.topic_id, row.partition_count, topic.partitionCount);
      await client.query(notifyTopics);
    });
  }

  async deleteTopic(name: string): Promise<void> {
    // Its partitions go with it (ON DELETE CASCADE), in the same statement, which also tells
    // the other brokers (one notice per deleted row: none when there was no such topic).
    const result = await this.#query(
      'deleteTopic',
      'WITH deleted AS (DELETE FROM topics WHERE name = $1 RETURNING 1) ' +
        `SELECT pg_notify('${topicsChannel}', '') FROM deleted`,
      [name],
    );
    if (result.rowCount === 0) throw new StorageError('UNKNOWN_TOPIC', `no topic ${name}`);
  }

  async listLogStartOffsets(): Promise<PartitionStart[]> {
    const result = await this.#query<{
      topic_id: string;
      partition: number;
      log_start_offset: string;
    }>('listLogStartOffsets', 'SELECT * FROM partitions', []);
    return result.rows.map((row) => ({
      topicId: row.topic_id as TopicId,
      partition: row.partition,
      logStartOffset: BigInt(row.log_start_offset),
    }));
  }

  async setLogStartOffset(topicId: TopicId, partition: number, offset: bigint): Promise<void> {
    // Other brokers hear of a move (and only of a move) in the same statement.
    await this.#query(
      'setLogStartOffset',
      'WITH moved AS (UPDATE partitions SET log_start_offset = $3 ' +
        'WHERE topic_id = $1 AND partition = $2 AND log_start_offset < $3 RETURNING 1) ' +
        `SELECT pg_notify('${topicsChannel}', '') FROM moved`,
      [topicId, partition, offset],
    );
  }

  addObject(object: ObjectRecord): Promise<void> {
    return this.#transaction('addObject', (client) => insertObject(client, object));
  }

  replacePartitionRanges(change: PartitionRangeChange): Promise<void> {
    return this.#transaction('replacePartitionRanges', async (client) => {
      await client.query(
        'DELETE FROM object_ranges ' +
          'WHERE object_name = ANY($1::text[]) AND topic_id = $2 AND partition = $3',
        [[...change.replacedObjects], change.topicId, change.partition],
      );
      await insertObject(client, change.object);
    });
  }

  async listObjects(): Promise<ObjectRecord[]> {
    // One statement, so one snapshot: no object is seen without its ranges.
    const result = await this.#query<ObjectRangeRow>(
      'listObjects',
      'SELECT o.name, o.segment_id, o.size_bytes AS object_size_bytes, r.topic_id, ' +
        'r.partition, r.base_offset, r.last_offset, r.position, r.size_bytes, r.max_timestamp ' +
        'FROM objects o LEFT JOIN object_ranges r ON r.object_name = o.name ' +
        'ORDER BY o.segment_id, o.name COLLATE "C", r.ordinal',
      [],
    );
    const objects = new Map<string, ObjectRecord>();
    for (const row of result.rows) {
      let object = objects.get(row.name);
      if (object === undefined) {
        object = {
          name: row.name,
          segmentId: Number(row.segment_id),
          sizeBytes: Number(row.object_size_bytes),
          ranges: [],
        };
        objects.set(row.name, object);
      }
      if (row.topic_id !== null) object.ranges.push(rangeFromRow(row, row.topic_id));
    }
    return [...objects.values()];
  }

  async deleteObject(name: string): Promise<void> {
    await this.#query('deleteObject', 'DELETE FROM objects WHERE name = $1', [name]);
  }

  async listBrokerConfigs(): Promise<BrokerConfigScope[]> {
    const result = await this.#query<{ scope: string; configs: Record<string, string> }>(
      'listBrokerConfigs',
      'SELECT scope, configs FROM broker_configs',
      [],
    );
    return result.rows
      .map((row) => ({ scope: row.scope, configs: row.configs }))
      .toSorted((a, b) => compareText(a.scope, b.scope));
  }

  async setBrokerConfigs(scope: string, configs: Readonly<Record<string, string>>): Promise<void> {
    if (Object.keys(configs).length === 0) {
      await this.#query('setBrokerConfigs', 'DELETE FROM broker_configs WHERE scope = $1', [scope]);
      return;
    }
    await this.#query(
      'setBrokerConfigs',
      'INSERT INTO broker_configs VALUES ($1, $2) ' +
        'ON CONFLICT (scope) DO UPDATE SET configs = excluded.configs',
      [scope, JSON.stringify(configs)],
    );
  }

  /** Waits for calls in flight, then closes every connection; later calls reject CLOSED. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  async #query<Row extends pg.QueryResultRow = pg.QueryResultRow>(
    operation: string,
    text: string,
    values: readonly unknown[],
  ): Promise<pg.QueryResult<Row>> {
    if (this.#closed) throw new StorageError('CLOSED', 'metadata store closed');
    try {
      return await this.#pool.query<Row>(text, [...values]);
    } catch (error: unknown) {
      throw storageErrorOf(error, operation, this.#server);
    }
  }

  /**
   * Runs `work` in one transaction (READ COMMITTED, with row locks where a method reads what it
   * writes) on one pooled connection (postgres-transaction.ts); a COMMIT whose reply is lost
   * leaves the outcome unknown, and the error says so.
   */
  #transaction<T>(operation: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StorageError('CLOSED', 'metadata store closed'));
    return runTransaction(this.#pool, this.#server, operation, work);
  }
}

/** Applies pending migrations on a connection of its own, with the migration timeouts. */
async function migrate(server: string, config: pg.ClientConfig): Promise<void> {
  const client = new pg.Client(config);
  // A connection that breaks mid-migration fails the pending query; this keeps the client's
  // 'error' event from ending the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await applyPostgresMigrations(client);
  } catch (error: unknown) {
    throw storageErrorOf(error, 'migrating the schema', server);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function addPartitions(
  client: pg.PoolClient,
  topicId: string,
  from: number,
  to: number,
): Promise<void> {
  if (to <= from) return;
  await client.query(
    'INSERT INTO partitions (topic_id, partition, log_start_offset) ' +
      'SELECT $1, p, 0 FROM generate_series($2::int, $3::int - 1) AS p ' +
      'ON CONFLICT (topic_id, partition) DO UPDATE SET log_start_offset = 0',
    [topicId, from, to],
  );
}

/** Inserts the object and its ranges; an existing name fails (nothing is replaced). */
async function insertObject(client: pg.PoolClient, object: ObjectRecord): Promise<void> {
  const inserted = await client.query(
    'INSERT INTO objects VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING',
    [object.name, object.segmentId, object.sizeBytes],
  );
  if (inserted.rowCount === 0) {
    throw new StorageError('STORAGE_FAILURE', `object ${object.name} exists`);
  }
  if (object.ranges.length === 0) return;
  const column = <T>(pick: (range: ObjectRange) => T): T[] => object.ranges.map(pick);
  await client.query(
    'INSERT INTO object_ranges SELECT $1, r.ordinal - 1, r.topic_id, r.partition, ' +
      'r.base_offset, r.last_offset, r.position, r.size_bytes, r.max_timestamp ' +
      'FROM unnest($2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::bigint[], ' +
      '$7::bigint[], $8::bigint[]) WITH ORDINALITY AS r(topic_id, partition, base_offset, ' +
      'last_offset, position, size_bytes, max_timestamp, ordinal)',
    [
      object.name,
      column((range) => range.topicId),
      column((range) => range.partition),
      column((range) => String(range.baseOffset)),
      column((range) => String(range.lastOffset)),
      column((range) => range.position),
      column((range) => range.sizeBytes),
      column((range) => String(range.maxTimestamp)),
    ],
  );
}

/** The bindings as one array per column, in aclColumns' order (for unnest). */
function aclColumnArrays(bindings: readonly AclBinding[]): unknown[][] {
  return [
    bindings.map((binding) => binding.resourceType),
    bindings.map((binding) => binding.resourceName),
    bindings.map((binding) => binding.patternType),
    bindings.map((binding) => binding.principal),
    bindings.map((binding) => binding.host),
    bindings.map((binding) => binding.operation),
    bindings.map((binding) => binding.permissionType),
  ];
}

function aclFromRow(row: Record<string, unknown>): AclBinding {
  return {
    resourceType: Number(row['resource_type']),
    resourceName: String(row['resource_name']),
    patternType: Number(row['pattern_type']),
    principal: String(row['principal']),
    host: String(row['host']),
    operation: Number(row['operation']),
    permissionType: Number(row['permission_type']),
  };
}

function rangeFromRow(row: ObjectRangeRow, topicId: string): ObjectRange {
  return {
    topicId: topicId as TopicId,
    partition: row.partition,
    baseOffset: BigInt(row.base_offset),
    lastOffset: BigInt(row.last_offset),
    position: Number(row.position),
    sizeBytes: Number(row.size_bytes),
    maxTimestamp: BigInt(row.max_timestamp),
  };
}

/** `host:port/database` of a metadata URL, without credentials; INVALID_CONFIG if unusable. */
function describeServer(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StorageError('INVALID_CONFIG', 'metadata.url is not a URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new StorageError(
      'INVALID_CONFIG',
      `metadata.url must be postgres://host:port/database, not ${parsed.protocol}//...`,
    );
  }
  return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${parsed.pathname}`;
}

function compareText(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
