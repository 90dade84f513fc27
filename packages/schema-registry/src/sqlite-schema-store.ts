/**
 * SqliteSchemaStore: the SchemaStore in the embedded broker's SQLite metadata file, through a
 * second connection of its own (the file is in WAL mode, so both connections read and write it
 * safely). Its tables are prefixed `registry_` and created when absent, independent of the
 * metadata store's own schema version (docs/adr/0019-schema-registry.md). node:sqlite is
 * synchronous: each write is one short transaction, so registrations never interleave.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type {
  NewSchemaVersion,
  RegisterConflict,
  RegisteredVersion,
  SchemaStore,
} from './schema-store.ts';
import {
  isRegistryMode,
  isSchemaType,
  type RegistryMode,
  type SchemaReference,
  type StoredSchema,
  type SubjectConfig,
  type SubjectVersion,
} from './schema-types.ts';

const tables = `
CREATE TABLE IF NOT EXISTS registry_schemas (
  id INTEGER PRIMARY KEY AUTOINCREMENT, schema_type TEXT NOT NULL, schema TEXT NOT NULL,
  fingerprint TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS registry_references (
  schema_id INTEGER NOT NULL REFERENCES registry_schemas(id), position INTEGER NOT NULL,
  name TEXT NOT NULL, subject TEXT NOT NULL, version INTEGER NOT NULL,
  PRIMARY KEY (schema_id, position));
CREATE INDEX IF NOT EXISTS registry_references_by_target ON registry_references (subject, version);
CREATE TABLE IF NOT EXISTS registry_versions (
  subject TEXT NOT NULL, version INTEGER NOT NULL,
  schema_id INTEGER NOT NULL REFERENCES registry_schemas(id), deleted INTEGER NOT NULL,
  PRIMARY KEY (subject, version));
CREATE INDEX IF NOT EXISTS registry_versions_by_schema ON registry_versions (schema_id);
CREATE TABLE IF NOT EXISTS registry_configs (subject TEXT PRIMARY KEY, config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS registry_modes (subject TEXT PRIMARY KEY, mode TEXT NOT NULL);
`;

type Row = Record<string, unknown>;

export class SqliteSchemaStore implements SchemaStore {
  readonly #db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens (creating when absent) the tables in the SQLite file at `path`; ':memory:' works. */
  static open(path: string): SqliteSchemaStore {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path);
    try {
      // A second connection waits for the broker's writes instead of failing with SQLITE_BUSY.
      db.exec('PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
      db.exec(`BEGIN IMMEDIATE; ${tables} COMMIT;`);
    } catch (error: unknown) {
      db.close();
      throw error;
    }
    return new SqliteSchemaStore(db);
  }

  register(input: NewSchemaVersion): Promise<RegisteredVersion | RegisterConflict> {
    return this.#transaction(() => {
      const known = this.#schemaIdOf(input.fingerprint);
      const live = this.#db
        .prepare(
          'SELECT version FROM registry_versions WHERE subject = ? AND schema_id = ? AND ' +
            'deleted = 0 ORDER BY version LIMIT 1',
        )
        .get(input.subject, known ?? -1);
      if (known !== undefined && live !== undefined) {
        return { id: known, version: Number(live.version), created: false };
      }
      const top = this.#db
        .prepare('SELECT MAX(version) AS top FROM registry_versions WHERE subject = ?')
        .get(input.subject);
      const topVersion = Number(top?.top ?? 0);
      if (input.expectedTopVersion !== undefined && input.expectedTopVersion !== topVersion) {
        return { conflict: true } as const;
      }
      const id = known ?? this.#insertSchema(input);
      const version = topVersion + 1;
      this.#db
        .prepare('INSERT INTO registry_versions VALUES (?, ?, ?, 0)')
        .run(input.subject, version, id);
      return { id, version, created: true };
    });
  }

  schemaById(id: number): Promise<StoredSchema | undefined> {
    return this.#read(() => {
      const row = this.#db.prepare('SELECT * FROM registry_schemas WHERE id = ?').get(id);
      if (row === undefined) return undefined;
      const schemaType = String(row.schema_type);
      if (!isSchemaType(schemaType)) throw new Error(`schema ${id} has type ${schemaType}`);
      const references = this.#db
        .prepare('SELECT * FROM registry_references WHERE schema_id = ? ORDER BY position')
        .all(id)
        .map(referenceOf);
      return { id, schemaType, schema: String(row.schema), references };
    });
  }

  schemaIdOf(fingerprint: string): Promise<number | undefined> {
    return this.#read(() => this.#schemaIdOf(fingerprint));
  }

  subjects(includeDeleted: boolean): Promise<string[]> {
    return this.#read(() =>
      this.#db
        .prepare(
          'SELECT DISTINCT subject FROM registry_versions' +
            (includeDeleted ? '' : ' WHERE deleted = 0') +
            ' ORDER BY subject',
        )
        .all()
        .map((row) => String(row.subject)),
    );
  }

  versions(subject: string): Promise<SubjectVersion[]> {
    return this.#read(() =>
      this.#db
        .prepare('SELECT * FROM registry_versions WHERE subject = ? ORDER BY version')
        .all(subject)
        .map(versionOf),
    );
  }

  versionsOfSchema(id: number): Promise<SubjectVersion[]> {
    return this.#read(() =>
      this.#db
        .prepare('SELECT * FROM registry_versions WHERE schema_id = ? ORDER BY subject, version')
        .all(id)
        .map(versionOf),
    );
  }

  markDeleted(subject: string, versions: readonly number[]): Promise<void> {
    return this.#transaction(() => {
      const update = this.#db.prepare(
        'UPDATE registry_versions SET deleted = 1 WHERE subject = ? AND version = ?',
      );
      for (const version of versions) update.run(subject, version);
    });
  }

  removeVersions(subject: string, versions: readonly number[]): Promise<void> {
    return this.#transaction(() => {
      const remove = this.#db.prepare(
        'DELETE FROM registry_versions WHERE subject = ? AND version = ?',
      );
      for (const version of versions) remove.run(subject, version);
    });
  }

  referencedBy(subject: string, version: number): Promise<number[]> {
    return this.#read(() =>
      this.#db
        .prepare(
          'SELECT DISTINCT r.schema_id AS id FROM registry_references r JOIN registry_versions v ' +
            'ON v.schema_id = r.schema_id WHERE r.subject = ? AND r.version = ? AND ' +
            'v.deleted = 0 ORDER BY r.schema_id',
        )
        .all(subject, version)
        .map((row) => Number(row.id)),
    );
  }

  config(subject: string): Promise<SubjectConfig | undefined> {
    return this.#read(() => {
      const row = this.#db
        .prepare('SELECT config FROM registry_configs WHERE subject = ?')
        .get(subject);
      return row === undefined ? undefined : (JSON.parse(String(row.config)) as SubjectConfig);
    });
  }

  setConfig(subject: string, config: SubjectConfig): Promise<void> {
    return this.#transaction(() => {
      this.#db
        .prepare('INSERT OR REPLACE INTO registry_configs VALUES (?, ?)')
        .run(subject, JSON.stringify(config));
    });
  }

  deleteConfig(subject: string): Promise<void> {
    return this.#transaction(() => {
      this.#db.prepare('DELETE FROM registry_configs WHERE subject = ?').run(subject);
    });
  }

  mode(subject: string): Promise<RegistryMode | undefined> {
    return this.#read(() => {
      const row = this.#db
        .prepare('SELECT mode FROM registry_modes WHERE subject = ?')
        .get(subject);
      const mode = row === undefined ? undefined : String(row.mode);
      return isRegistryMode(mode) ? mode : undefined;
    });
  }

  setMode(subject: string, mode: RegistryMode): Promise<void> {
    return this.#transaction(() => {
      this.#db.prepare('INSERT OR REPLACE INTO registry_modes VALUES (?, ?)').run(subject, mode);
    });
  }

  deleteMode(subject: string): Promise<void> {
    return this.#transaction(() => {
      this.#db.prepare('DELETE FROM registry_modes WHERE subject = ?').run(subject);
    });
  }

  close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
    return Promise.resolve();
  }

  #schemaIdOf(fingerprint: string): number | undefined {
    const row = this.#db
      .prepare('SELECT id FROM registry_schemas WHERE fingerprint = ?')
      .get(fingerprint);
    return row === undefined ? undefined : Number(row.id);
  }

  #insertSchema(input: NewSchemaVersion): number {
    const result = this.#db
      .prepare('INSERT INTO registry_schemas (schema_type, schema, fingerprint) VALUES (?, ?, ?)')
      .run(input.schemaType, input.schema, input.fingerprint);
    const id = Number(result.lastInsertRowid);
    const insert = this.#db.prepare('INSERT INTO registry_references VALUES (?, ?, ?, ?, ?)');
    input.references.forEach((reference, position) => {
      insert.run(id, position, reference.name, reference.subject, reference.version);
    });
    return id;
  }

  /**
   * A read, outside any transaction: WAL readers never block the broker's writers, and the
   * rows read together here are immutable or read by one statement.
   */
  #read<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error: unknown) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * One IMMEDIATE write transaction, as a promise like PostgreSQL's. Its body is synchronous,
   * so the broker's own connection in this process never meets it half done; other processes
   * wait on busy_timeout.
   */
  #transaction<T>(work: () => T): Promise<T> {
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
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
}

function versionOf(row: Row): SubjectVersion {
  return {
    subject: String(row.subject),
    version: Number(row.version),
    id: Number(row.schema_id),
    deleted: Number(row.deleted) !== 0,
  };
}

function referenceOf(row: Row): SchemaReference {
  return { name: String(row.name), subject: String(row.subject), version: Number(row.version) };
}
