/**
 * SqliteMetadataStore: the MetadataStore in one SQLite file (node:sqlite), journal_mode=WAL and
 * synchronous=FULL so a committed transaction survives a power loss. The schema version is
 * PRAGMA user_version (docs/FORMATS.md, "Metadata store"); opening a newer version fails rather
 * than guessing. node:sqlite is synchronous: each call is one short transaction.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type {
  ClusterIdentity,
  MetadataStore,
  ObjectRange,
  ObjectRecord,
  PartitionRangeChange,
  PartitionStart,
} from './metadata-store.ts';
import { StorageError } from './storage-error.ts';
import type { TopicId, TopicRecord } from './types.ts';

export const metadataSchemaVersion = 1;

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

type Row = Record<string, unknown>;

export class SqliteMetadataStore implements MetadataStore {
  readonly #db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens (creating when absent) the database at `path`; ':memory:' for a throwaway one. */
  static open(path: string): SqliteMetadataStore {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path);
    try {
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;');
      migrate(db);
    } catch (error: unknown) {
      db.close();
      throw error;
    }
    return new SqliteMetadataStore(db);
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

  listTopics(): Promise<TopicRecord[]> {
    return this.#transaction(() =>
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
    return this.#transaction(() =>
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
    return this.#transaction(() => {
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

  close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
    return Promise.resolve();
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

  /** Runs `work` in one IMMEDIATE transaction; errors roll back and reject. */
  #transaction<T>(work: () => T): Promise<T> {
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
  if (version === 0) {
    db.exec('BEGIN');
    db.exec(schemaV1);
    db.exec(`PRAGMA user_version = ${metadataSchemaVersion}`);
    db.exec('COMMIT');
  }
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
