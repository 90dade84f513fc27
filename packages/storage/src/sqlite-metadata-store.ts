/**
 * SqliteMetadataStore: the MetadataStore in one SQLite file (node:sqlite), journal_mode=WAL. The
 * schema version is PRAGMA user_version (docs/FORMATS.md, "Metadata store"); opening a newer
 * version fails rather than guessing, an older one is migrated at open. node:sqlite is
 * synchronous: each call is one short transaction.
 *
 * Durability (docs/adr/0031): a call resolves once its transaction survives a power loss, as
 * with synchronous=FULL, but the fsync is not SQLite's. synchronous=FULL fsynced the WAL file
 * inside COMMIT, on the event loop: 2 ms on average and up to 12 ms under produce load, once per
 * sealed segment, with every request on every connection waiting. The store runs
 * synchronous=NORMAL (SQLite still syncs around its checkpoints) and, after each COMMIT, fsyncs
 * the WAL file in the thread pool before resolving; the WAL file's directory entry is synced
 * once per open, as SQLite does at its first sync of a new WAL file.
 */
import { mkdirSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { type OpenFile, syncDirectory } from './directory-segment-files.ts';
import type {
  BrokerConfigScope,
  ClusterIdentity,
  MetadataStore,
  ObjectRange,
  ObjectRecord,
  PartitionRangeChange,
  PartitionStart,
} from './metadata-store.ts';
import {
  aclBindingFields,
  compareAclBindings,
  type AclBinding,
  type ScramCredential,
  type ScramCredentialChange,
} from './security-metadata.ts';
import { StorageError } from './storage-error.ts';
import type { TopicId, TopicRecord } from './types.ts';

export const metadataSchemaVersion = 2;

const schemaV1 = `
CREATE TABLE cluster (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE topics (
  name TEXT PRIMARY KEY, topic_id TEXT NOT NULL UNIQUE,
  partition_count INTEGER NOT NULL, configs TEXT NOT NULL);
CREATE TABLE partitions (
  topic_id TEXT NOT NULL, partition INTEGER NOT NULL, log_start_offset INTEGER NOT NULL,
  PRIMARY KEY (topic_id, partition));
CREATE TABLE objects (
  name TEXT PRIMARY KEY, segment_id INTEGER NOT NULL, size_bytes INTEGER NOT NULL);
CREATE TABLE object_ranges (
  object_name TEXT NOT NULL REFERENCES objects(name) ON DELETE CASCADE,
  topic_id TEXT NOT NULL, partition INTEGER NOT NULL,
  base_offset INTEGER NOT NULL, last_offset INTEGER NOT NULL,
  position INTEGER NOT NULL, size_bytes INTEGER NOT NULL, max_timestamp INTEGER NOT NULL);
CREATE INDEX object_ranges_by_object ON object_ranges (object_name);
`;

/** Version 2 adds ACL bindings and SCRAM credentials (docs/FORMATS.md, "Metadata store"). */
const schemaV2 = `
CREATE TABLE acls (
  resource_type INTEGER NOT NULL, resource_name TEXT NOT NULL, pattern_type INTEGER NOT NULL,
  principal TEXT NOT NULL, host TEXT NOT NULL, operation INTEGER NOT NULL,
  permission_type INTEGER NOT NULL,
  PRIMARY KEY (resource_type, resource_name, pattern_type, principal, host, operation,
    permission_type));
CREATE TABLE scram_credentials (
  user TEXT NOT NULL, mechanism INTEGER NOT NULL, salt BLOB NOT NULL, stored_key BLOB NOT NULL,
  server_key BLOB NOT NULL, iterations INTEGER NOT NULL, PRIMARY KEY (user, mechanism));
`;

type Row = Record<string, unknown>;

/** Prefix of the `cluster` rows that hold dynamic broker settings, one per scope. */
const brokerConfigsKey = 'broker_configs:';

export class SqliteMetadataStore implements MetadataStore {
  readonly #db: DatabaseSync;
  /** SQLite's WAL file (`<path>-wal`), undefined for ':memory:'. */
  readonly #walPath: string | undefined;
  /** The WAL file, opened (and its directory synced) at the first commit. */
  #wal: Promise<FileHandle> | undefined;
  /** Syncs in flight, awaited by close. */
  readonly #syncs = new Set<Promise<void>>();
  /** How the WAL file is opened for its fsyncs (tests watch them). */
  readonly #openFile: OpenFile;

  private constructor(db: DatabaseSync, walPath: string | undefined, openFile: OpenFile) {
    this.#db = db;
    this.#walPath = walPath;
    this.#openFile = openFile;
  }

  /**
   * Opens (creating when absent) the database at `path`; ':memory:' for a throwaway one.
   * `openFile` opens the WAL file for its fsyncs (tests watch them).
   */
  static open(path: string, options: { openFile?: OpenFile } = {}): SqliteMetadataStore {
    const inMemory = path === ':memory:';
    if (!inMemory) mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path);
    try {
      // Migrations commit with SQLite's own syncs; afterwards each commit is synced by #durable.
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;');
      migrate(db);
      db.exec('PRAGMA synchronous = NORMAL;');
    } catch (error: unknown) {
      db.close();
      throw error;
    }
    return new SqliteMetadataStore(
      db,
      inMemory ? undefined : `${path}-wal`,
      options.openFile ?? open,
    );
  }

  initCluster(proposed: ClusterIdentity): Promise<ClusterIdentity> {
    return this.#transaction(() => {
      const insert = this.#prepare('INSERT OR IGNORE INTO cluster (key, value) VALUES (?, ?)');
      insert.run('cluster_id', proposed.clusterId);
      insert.run('node_id', String(proposed.nodeId));
      const rows = this.#prepare('SELECT key, value FROM cluster').all();
      const values = new Map(rows.map((row) => [String(row.key), String(row.value)]));
      return { clusterId: values.get('cluster_id') ?? '', nodeId: Number(values.get('node_id')) };
    });
  }

  allocateProducerIds(count: number): Promise<bigint> {
    return this.#transaction(() => {
      const row = this.#prepare("SELECT value FROM cluster WHERE key = 'next_producer_id'").get();
      const first = row === undefined ? 0n : BigInt(String(row.value));
      this.#prepare('INSERT OR REPLACE INTO cluster (key, value) VALUES (?, ?)').run(
        'next_producer_id',
        String(first + BigInt(count)),
      );
      return first;
    });
  }

  listAcls(): Promise<AclBinding[]> {
    return this.#read(() =>
      this.#prepare('SELECT * FROM acls').all().map(aclFromRow).toSorted(compareAclBindings),
    );
  }

  createAcls(bindings: readonly AclBinding[]): Promise<void> {
    return this.#transaction(() => {
      const insert = this.#prepare('INSERT OR IGNORE INTO acls VALUES (?, ?, ?, ?, ?, ?, ?)');
      for (const binding of bindings) insert.run(...aclBindingFields(binding));
    });
  }

  deleteAcls(bindings: readonly AclBinding[]): Promise<AclBinding[]> {
    return this.#transaction(() => {
      const remove = this.#prepare(
        'DELETE FROM acls WHERE resource_type = ? AND resource_name = ? AND pattern_type = ? ' +
          'AND principal = ? AND host = ? AND operation = ? AND permission_type = ?',
      );
      return bindings.filter(
        (binding) => Number(remove.run(...aclBindingFields(binding)).changes) !== 0,
      );
    });
  }

  listScramCredentials(): Promise<ScramCredential[]> {
    return this.#read(() =>
      this.#prepare('SELECT * FROM scram_credentials ORDER BY user, mechanism')
        .all()
        .map((row) => ({
          user: String(row.user),
          mechanism: Number(row.mechanism),
          salt: Buffer.from(row.salt as Uint8Array),
          storedKey: Buffer.from(row.stored_key as Uint8Array),
          serverKey: Buffer.from(row.server_key as Uint8Array),
          iterations: Number(row.iterations),
        })),
    );
  }

  alterScramCredentials(change: ScramCredentialChange): Promise<void> {
    return this.#transaction(() => {
      const remove = this.#prepare(
        'DELETE FROM scram_credentials WHERE user = ? AND mechanism = ?',
      );
      for (const key of change.deletions) remove.run(key.user, key.mechanism);
      const upsert = this.#prepare(
        'INSERT OR REPLACE INTO scram_credentials VALUES (?, ?, ?, ?, ?, ?)',
      );
      for (const credential of change.upserts) {
        const { user, mechanism, salt, storedKey, serverKey, iterations } = credential;
        upsert.run(user, mechanism, salt, storedKey, serverKey, iterations);
      }
    });
  }

  listTopics(): Promise<TopicRecord[]> {
    return this.#read(() =>
      this.#prepare('SELECT * FROM topics ORDER BY name').all().map(topicFromRow),
    );
  }

  createTopic(topic: TopicRecord): Promise<void> {
    return this.#transaction(() => {
      const existing = this.#prepare('SELECT 1 FROM topics WHERE name = ?').get(topic.name);
      if (existing !== undefined) {
        throw new StorageError('TOPIC_EXISTS', `topic ${topic.name} exists`);
      }
      this.#prepare('INSERT INTO topics VALUES (?, ?, ?, ?)').run(
        topic.name,
        topic.topicId,
        topic.partitionCount,
        JSON.stringify(topic.configs),
      );
      this.#addPartitions(topic.topicId, 0, topic.partitionCount);
    });
  }

  updateTopic(topic: TopicRecord): Promise<void> {
    return this.#transaction(() => {
      const row = this.#prepare('SELECT * FROM topics WHERE name = ?').get(topic.name);
      if (row === undefined) throw new StorageError('UNKNOWN_TOPIC', `no topic ${topic.name}`);
      const old = topicFromRow(row);
      this.#prepare('UPDATE topics SET partition_count = ?, configs = ? WHERE name = ?').run(
        topic.partitionCount,
        JSON.stringify(topic.configs),
        topic.name,
      );
      this.#addPartitions(topic.topicId, old.partitionCount, topic.partitionCount);
    });
  }

  deleteTopic(name: string): Promise<void> {
    return this.#transaction(() => {
      const row = this.#prepare('SELECT topic_id FROM topics WHERE name = ?').get(name);
      if (row === undefined) throw new StorageError('UNKNOWN_TOPIC', `no topic ${name}`);
      this.#prepare('DELETE FROM topics WHERE name = ?').run(name);
      this.#prepare('DELETE FROM partitions WHERE topic_id = ?').run(String(row.topic_id));
    });
  }

  listLogStartOffsets(): Promise<PartitionStart[]> {
    return this.#read(() =>
      this.#prepare('SELECT * FROM partitions')
        .all()
        .map((row) => ({
          topicId: String(row.topic_id) as TopicId,
          partition: Number(row.partition),
          logStartOffset: BigInt(row.log_start_offset as bigint),
        })),
    );
  }

  setLogStartOffset(topicId: TopicId, partition: number, offset: bigint): Promise<void> {
    return this.#transaction(() => {
      this.#prepare(
        'UPDATE partitions SET log_start_offset = ? ' +
          'WHERE topic_id = ? AND partition = ? AND log_start_offset < ?',
      ).run(offset, topicId, partition, offset);
    });
  }

  addObject(object: ObjectRecord): Promise<void> {
    return this.#transaction(() => this.#insertObject(object));
  }

  replacePartitionRanges(change: PartitionRangeChange): Promise<void> {
    return this.#transaction(() => {
      const remove = this.#prepare(
        'DELETE FROM object_ranges WHERE object_name = ? AND topic_id = ? AND partition = ?',
      );
      for (const name of change.replacedObjects) {
        remove.run(name, change.topicId, change.partition);
      }
      this.#insertObject(change.object);
    });
  }

  #insertObject(object: ObjectRecord): void {
    this.#prepare('INSERT INTO objects VALUES (?, ?, ?)').run(
      object.name,
      object.segmentId,
      object.sizeBytes,
    );
    const insert = this.#prepare('INSERT INTO object_ranges VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const range of object.ranges) {
      insert.run(
        object.name,
        range.topicId,
        range.partition,
        range.baseOffset,
        range.lastOffset,
        range.position,
        range.sizeBytes,
        range.maxTimestamp,
      );
    }
  }

  listObjects(): Promise<ObjectRecord[]> {
    return this.#read(() => {
      const objects = new Map<string, ObjectRecord>();
      for (const row of this.#prepare('SELECT * FROM objects ORDER BY segment_id').all()) {
        const name = String(row.name);
        objects.set(name, {
          name,
          segmentId: Number(row.segment_id),
          sizeBytes: Number(row.size_bytes),
          ranges: [],
        });
      }
      for (const row of this.#prepare('SELECT * FROM object_ranges').all()) {
        objects.get(String(row.object_name))?.ranges.push(rangeFromRow(row));
      }
      return [...objects.values()];
    });
  }

  deleteObject(name: string): Promise<void> {
    return this.#transaction(() => {
      this.#prepare('DELETE FROM objects WHERE name = ?').run(name);
    });
  }

  /**
   * Dynamic broker settings live in the `cluster` key/value table, one row per scope: key
   * `broker_configs:<scope>`, value a JSON object of name to text value (docs/FORMATS.md).
   * Rows of an existing table, so they need no schema change.
   */
  listBrokerConfigs(): Promise<BrokerConfigScope[]> {
    return this.#read(() =>
      this.#prepare('SELECT key, value FROM cluster WHERE substr(key, 1, ?) = ? ORDER BY key')
        .all(brokerConfigsKey.length, brokerConfigsKey)
        .map((row) => ({
          scope: String(row.key).slice(brokerConfigsKey.length),
          configs: JSON.parse(String(row.value)) as Record<string, string>,
        })),
    );
  }

  setBrokerConfigs(scope: string, configs: Readonly<Record<string, string>>): Promise<void> {
    return this.#transaction(() => {
      const key = brokerConfigsKey + scope;
      if (Object.keys(configs).length === 0) {
        this.#prepare('DELETE FROM cluster WHERE key = ?').run(key);
      } else {
        this.#prepare('INSERT OR REPLACE INTO cluster (key, value) VALUES (?, ?)').run(
          key,
          JSON.stringify(configs),
        );
      }
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#syncs);
    const wal = this.#wal;
    this.#wal = undefined;
    await (await wal?.catch(() => undefined))?.close();
    if (this.#db.isOpen) this.#db.close();
  }

  #addPartitions(topicId: TopicId, from: number, to: number): void {
    const insert = this.#prepare('INSERT OR REPLACE INTO partitions VALUES (?, ?, 0)');
    for (let partition = from; partition < to; partition++) insert.run(topicId, partition);
  }

  #prepare(sql: string): StatementSync {
    const statement = this.#db.prepare(sql);
    statement.setReadBigInts(true);
    return statement;
  }

  /**
   * Runs `work` in one IMMEDIATE transaction and resolves once it is durable (#durable); errors
   * roll back and reject.
   */
  #transaction<T>(work: () => T): Promise<T> {
    return this.#read(work).then(async (result) => {
      await this.#durable();
      return result;
    });
  }

  /** Runs `work`, which only reads, in one IMMEDIATE transaction; nothing to wait for after. */
  #read<T>(work: () => T): Promise<T> {
    if (!this.#db.isOpen) return Promise.reject(new StorageError('CLOSED', 'metadata closed'));
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        const result = work();
        this.#db.exec('COMMIT');
        return Promise.resolve(result);
      } catch (error: unknown) {
        this.#db.exec('ROLLBACK');
        throw error;
      }
    } catch (error: unknown) {
      if (error instanceof StorageError) return Promise.reject(error);
      return Promise.reject(
        new StorageError('STORAGE_FAILURE', 'metadata store failed', { cause: error }),
      );
    }
  }

  /**
   * Resolves once every transaction committed so far is on disk: one fsync of the WAL file in
   * the thread pool (COMMIT has written its frames there).
   */
  #durable(): Promise<void> {
    const walPath = this.#walPath;
    if (walPath === undefined) return Promise.resolve();
    this.#wal ??= openWal(walPath, this.#openFile);
    const wal = this.#wal;
    const sync = wal
      .then(
        (handle) => handle.sync(),
        (error: unknown) => {
          if (this.#wal === wal) this.#wal = undefined;
          // No WAL file yet: nothing was committed into one, so there is nothing to sync.
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        },
      )
      .catch((error: unknown) => {
        throw new StorageError('STORAGE_FAILURE', 'metadata store could not sync its log', {
          cause: error,
        });
      })
      .finally(() => this.#syncs.delete(sync));
    this.#syncs.add(sync);
    return sync;
  }
}

/** Opens SQLite's WAL file for fsync, and syncs its directory so the file itself is durable. */
async function openWal(walPath: string, openFile: OpenFile): Promise<FileHandle> {
  const handle = await openFile(walPath, 'r');
  try {
    await syncDirectory(dirname(walPath));
  } catch (error: unknown) {
    await handle.close();
    throw error;
  }
  return handle;
}

function migrate(db: DatabaseSync): void {
  const row = db.prepare('PRAGMA user_version').get();
  const version = Number(row?.user_version ?? 0);
  if (version > metadataSchemaVersion) {
    throw new StorageError(
      'STORAGE_FAILURE',
      `metadata schema version ${version} is newer than this build (${metadataSchemaVersion})`,
    );
  }
  if (version === metadataSchemaVersion) return;
  // Each version's statements run once, in order, in one transaction with the version bump.
  db.exec('BEGIN');
  if (version < 1) db.exec(schemaV1);
  if (version < 2) db.exec(schemaV2);
  db.exec(`PRAGMA user_version = ${metadataSchemaVersion}`);
  db.exec('COMMIT');
}

function aclFromRow(row: Row): AclBinding {
  return {
    resourceType: Number(row.resource_type),
    resourceName: String(row.resource_name),
    patternType: Number(row.pattern_type),
    principal: String(row.principal),
    host: String(row.host),
    operation: Number(row.operation),
    permissionType: Number(row.permission_type),
  };
}

function topicFromRow(row: Row): TopicRecord {
  return {
    name: String(row.name),
    topicId: String(row.topic_id) as TopicId,
    partitionCount: Number(row.partition_count),
    configs: JSON.parse(String(row.configs)) as Record<string, string>,
  };
}

function rangeFromRow(row: Row): ObjectRange {
  return {
    topicId: String(row.topic_id) as TopicId,
    partition: Number(row.partition),
    baseOffset: BigInt(row.base_offset as bigint),
    lastOffset: BigInt(row.last_offset as bigint),
    position: Number(row.position),
    sizeBytes: Number(row.size_bytes),
    maxTimestamp: BigInt(row.max_timestamp as bigint),
  };
}
