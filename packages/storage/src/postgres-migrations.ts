/**
 * The PostgreSQL metadata schema's migrations: numbered SQL files in
 * packages/storage/migrations/postgres (`0001-initial.sql`, `0002-...`), applied in order by
 * `applyPostgresMigrations`, each recorded in `schema_migrations` (docs/FORMATS.md).
 *
 * Invariants: all pending migrations and their records commit in one transaction, or none does;
 * the transaction first takes a transaction-level advisory lock, so brokers starting at once
 * apply each migration exactly once (the others wait, then find nothing left to do); a database
 * with a migration this build does not know is refused, never written to.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { ClientBase } from 'pg';
import { StorageError } from './storage-error.ts';

export interface PostgresMigration {
  /** 1, 2, ...: the file name's number. */
  version: number;
  /** The file name. */
  name: string;
  sql: string;
}

/**
 * The advisory lock every broker takes before migrating: a fixed 64-bit key ("tributar" in
 * ASCII), chosen so other applications sharing the database are unlikely to use it.
 */
export const migrationLockKey = 0x7472696275746172n;

const migrationsDir = new URL('../migrations/postgres/', import.meta.url);
const fileNamePattern = /^(\d{4})-[a-z0-9-]+\.sql$/;

let loaded: Promise<PostgresMigration[]> | undefined;

/** The migrations shipped with this build, by version; numbered 1..n without gaps. */
export function postgresMigrations(): Promise<PostgresMigration[]> {
  loaded ??= loadMigrations();
  return loaded;
}

async function loadMigrations(): Promise<PostgresMigration[]> {
  const names = (await readdir(migrationsDir)).filter((name) => fileNamePattern.test(name));
  const migrations = await Promise.all(
    names.toSorted().map(async (name, index) => {
      const version = Number(fileNamePattern.exec(name)?.[1]);
      if (version !== index + 1) {
        throw new Error(`PostgreSQL migration ${name} should be number ${index + 1}`);
      }
      return { version, name, sql: await readFile(new URL(name, migrationsDir), 'utf8') };
    }),
  );
  return migrations;
}

/**
 * Brings the database to the newest schema on `client` (a connection of its own: the caller
 * sets its timeouts). Returns the versions it applied (none when another broker did it first).
 */
export async function applyPostgresMigrations(client: ClientBase): Promise<number[]> {
  const migrations = await postgresMigrations();
  const newest = migrations.at(-1)?.version ?? 0;
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, ' +
        'name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const rows = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.rows.map((row) => row.version));
    const unknown = [...applied].filter((version) => version > newest);
    if (unknown.length > 0) {
      throw new StorageError(
        'STORAGE_FAILURE',
        `metadata schema version ${Math.max(...unknown)} is newer than this build (${newest})`,
      );
    }
    const pending = migrations.filter((migration) => !applied.has(migration.version));
    for (const migration of pending) {
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
    }
    await client.query('COMMIT');
    return pending.map((migration) => migration.version);
  } catch (error: unknown) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
