/**
 * PostgresSchemaStore: the SchemaStore in a cluster's PostgreSQL metadata database, so every
 * broker serves the same registry. Its tables come from the metadata store's migration
 * 0005-schema-registry.sql (packages/storage/migrations/postgres), which the broker applies when
 * it opens its metadata store, before this store is opened. Registrations take one
 * transaction-level advisory lock, so two brokers registering at once never hand out one
 * version number twice or give one schema two ids.
 */
import pg from 'pg';
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
  type StoredSchema,
  type SubjectConfig,
  type SubjectVersion,
} from './schema-types.ts';

/** Advisory lock key of registry writes ("schemreg" in ASCII). */
const registryLockKey = 0x736368656d726567n;
const poolMaxConnections = 4;
const statementTimeoutMs = 10_000;
const connectTimeoutMs = 10_000;

export interface PostgresSchemaStoreOptions {
  /** postgres://... of the metadata database (the broker's metadata.url). */
  readonly url: string;
}

interface VersionRow {
  subject: string;
  version: number;
  schema_id: string;
  deleted: boolean;
}

export class PostgresSchemaStore implements SchemaStore {
  readonly #pool: pg.Pool;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  static async open(options: PostgresSchemaStoreOptions): Promise<PostgresSchemaStore> {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: poolMaxConnections,
      connectionTimeoutMillis: connectTimeoutMs,
      statement_timeout: statementTimeoutMs,
      application_name: 'tributary-schema-registry',
    });
    // A broken idle connection is dropped by the pool; without a listener it ends the process.
    pool.on('error', () => undefined);
    await pool.query('SELECT 1 FROM registry_schemas LIMIT 1');
    return new PostgresSchemaStore(pool);
  }

  register(input: NewSchemaVersion): Promise<RegisteredVersion | RegisterConflict> {
    return this.#transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [registryLockKey]);
      const known = await schemaIdOf(client, input.fingerprint);
      const live = await client.query<{ version: number }>(
        'SELECT version FROM registry_versions WHERE subject = $1 AND schema_id = $2 AND ' +
          'NOT deleted ORDER BY version LIMIT 1',
        [input.subject, known ?? -1],
      );
      const existing = live.rows[0];
      if (known !== undefined && existing !== undefined) {
        return { id: known, version: existing.version, created: false };
      }
      const top = await client.query<{ top: number | null }>(
        'SELECT MAX(version) AS top FROM registry_versions WHERE subject = $1',
        [input.subject],
      );
      const topVersion = top.rows[0]?.top ?? 0;
      if (input.expectedTopVersion !== undefined && input.expectedTopVersion !== topVersion) {
        return { conflict: true } as const;
      }
      const id = known ?? (await insertSchema(client, input));
      const version = topVersion + 1;
      await client.query('INSERT INTO registry_versions VALUES ($1, $2, $3, false)', [
        input.subject,
        version,
        id,
      ]);
      return { id, version, created: true };
    });
  }

  async schemaById(id: number): Promise<StoredSchema | undefined> {
    const rows = await this.#pool.query<{ schema_type: string; schema: string }>(
      'SELECT schema_type, schema FROM registry_schemas WHERE id = $1',
      [id],
    );
    const row = rows.rows[0];
    if (row === undefined) return undefined;
    if (!isSchemaType(row.schema_type)) throw new Error(`schema ${id} has type ${row.schema_type}`);
    const references = await this.#pool.query<{ name: string; subject: string; version: number }>(
      'SELECT name, subject, version FROM registry_references WHERE schema_id = $1 ' +
        'ORDER BY position',
      [id],
    );
    return {
      id,
      schemaType: row.schema_type,
      schema: row.schema,
      references: references.rows.map(({ name, subject, version }) => ({ name, subject, version })),
    };
  }

  async schemaIdOf(fingerprint: string): Promise<number | undefined> {
    const client = await this.#pool.connect();
    try {
      return await schemaIdOf(client, fingerprint);
    } finally {
      client.release();
    }
  }

  async subjects(includeDeleted: boolean): Promise<string[]> {
    const rows = await this.#pool.query<{ subject: string }>(
      'SELECT DISTINCT subject FROM registry_versions' +
        (includeDeleted ? '' : ' WHERE NOT deleted') +
        ' ORDER BY subject',
    );
    return rows.rows.map((row) => row.subject);
  }

  async versions(subject: string): Promise<SubjectVersion[]> {
    const rows = await this.#pool.query<VersionRow>(
      'SELECT * FROM registry_versions WHERE subject = $1 ORDER BY version',
      [subject],
    );
    return rows.rows.map(versionOf);
  }

  async versionsOfSchema(id: number): Promise<SubjectVersion[]> {
    const rows = await this.#pool.query<VersionRow>(
      'SELECT * FROM registry_versions WHERE schema_id = $1 ORDER BY subject, version',
      [id],
    );
    return rows.rows.map(versionOf);
  }

  async markDeleted(subject: string, versions: readonly number[]): Promise<void> {
    await this.#pool.query(
      'UPDATE registry_versions SET deleted = true WHERE subject = $1 AND version = ANY($2)',
      [subject, [...versions]],
    );
  }

  async removeVersions(subject: string, versions: readonly number[]): Promise<void> {
    await this.#pool.query(
      'DELETE FROM registry_versions WHERE subject = $1 AND version = ANY($2)',
      [subject, [...versions]],
    );
  }

  async referencedBy(subject: string, version: number): Promise<number[]> {
    const rows = await this.#pool.query<{ id: string }>(
      'SELECT DISTINCT r.schema_id AS id FROM registry_references r JOIN registry_versions v ' +
        'ON v.schema_id = r.schema_id WHERE r.subject = $1 AND r.version = $2 AND NOT v.deleted ' +
        'ORDER BY r.schema_id',
      [subject, version],
    );
    return rows.rows.map((row) => Number(row.id));
  }

  async config(subject: string): Promise<SubjectConfig | undefined> {
    const rows = await this.#pool.query<{ config: SubjectConfig }>(
      'SELECT config FROM registry_configs WHERE subject = $1',
      [subject],
    );
    return rows.rows[0]?.config;
  }

  async setConfig(subject: string, config: SubjectConfig): Promise<void> {
    await this.#pool.query(
      'INSERT INTO registry_configs VALUES ($1, $2) ON CONFLICT (subject) DO UPDATE ' +
        'SET config = EXCLUDED.config',
      [subject, JSON.stringify(config)],
    );
  }

  async deleteConfig(subject: string): Promise<void> {
    await this.#pool.query('DELETE FROM registry_configs WHERE subject = $1', [subject]);
  }

  async mode(subject: string): Promise<RegistryMode | undefined> {
    const rows = await this.#pool.query<{ mode: string }>(
      'SELECT mode FROM registry_modes WHERE subject = $1',
      [subject],
    );
    const mode = rows.rows[0]?.mode;
    return isRegistryMode(mode) ? mode : undefined;
  }

  async setMode(subject: string, mode: RegistryMode): Promise<void> {
    await this.#pool.query(
      'INSERT INTO registry_modes VALUES ($1, $2) ON CONFLICT (subject) DO UPDATE ' +
        'SET mode = EXCLUDED.mode',
      [subject, mode],
    );
  }

  async deleteMode(subject: string): Promise<void> {
    await this.#pool.query('DELETE FROM registry_modes WHERE subject = $1', [subject]);
  }

  close(): Promise<void> {
    return this.#pool.end();
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error: unknown) {
      const rolledBack = await client.query('ROLLBACK').then(
        () => true,
        () => false,
      );
      client.release(!rolledBack);
      throw error;
    }
  }
}

async function schemaIdOf(client: pg.ClientBase, fingerprint: string): Promise<number | undefined> {
  const rows = await client.query<{ id: string }>(
    'SELECT id FROM registry_schemas WHERE fingerprint = $1',
    [fingerprint],
  );
  const id = rows.rows[0]?.id;
  return id === undefined ? undefined : Number(id);
}

async function insertSchema(client: pg.ClientBase, input: NewSchemaVersion): Promise<number> {
  const inserted = await client.query<{ id: string }>(
    'INSERT INTO registry_schemas (schema_type, schema, fingerprint) VALUES ($1, $2, $3) ' +
      'RETURNING id',
    [input.schemaType, input.schema, input.fingerprint],
  );
  const id = Number(inserted.rows[0]?.id);
  for (const [position, reference] of input.references.entries()) {
    await client.query('INSERT INTO registry_references VALUES ($1, $2, $3, $4, $5)', [
      id,
      position,
      reference.name,
      reference.subject,
      reference.version,
    ]);
  }
  return id;
}

function versionOf(row: VersionRow): SubjectVersion {
  return {
    subject: row.subject,
    version: row.version,
    id: Number(row.schema_id),
    deleted: row.deleted,
  };
}
