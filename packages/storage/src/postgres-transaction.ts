/**
 * One transaction on one pooled PostgreSQL connection, shared by PostgresMetadataStore and the
 * cluster catalog. Any error rolls back; a connection that did not answer is destroyed, not
 * returned to the pool. A COMMIT whose reply is lost leaves the outcome unknown: `onLostCommit`
 * settles it when given, else the error says so.
 */
import pg from 'pg';
import { storageErrorOf } from './postgres-errors.ts';
import { StorageError } from './storage-error.ts';

/** A COMMIT sent whose reply never came: the session it ran on, to settle the outcome. */
export interface LostCommit {
  backendPid: number | null;
  error: unknown;
}

export async function runTransaction<T>(
  pool: pg.Pool,
  server: string,
  operation: string,
  work: (client: pg.PoolClient) => Promise<T>,
  onLostCommit?: (lost: LostCommit) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error: unknown) {
    throw storageErrorOf(error, operation, server);
  }
  // A checked-out client has no 'error' listener of the pool's: a connection that breaks
  // mid-transaction would emit an unhandled 'error' (ending the process) beside failing the
  // pending query, which is what reports it here.
  client.on('error', ignoreClientError);
  let committing = false;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    committing = true;
    await client.query('COMMIT');
    client.off('error', ignoreClientError);
    client.release();
    return result;
  } catch (error: unknown) {
    // The server's own errors and ours leave the connection usable: roll back and reuse it.
    // Anything else (no reply, a broken socket) destroys it, and the server rolls back.
    const usable = error instanceof StorageError || error instanceof pg.DatabaseError;
    const rolledBack =
      usable &&
      (await client.query('ROLLBACK').then(
        () => true,
        () => false,
      ));
    client.off('error', ignoreClientError);
    client.release(!rolledBack);
    if (committing && onLostCommit !== undefined) {
      if (usable) throw storageErrorOf(error, operation, server);
      const backendPid = (client as unknown as { processID: number | null }).processID;
      return onLostCommit({ backendPid, error });
    }
    const context = committing ? `${operation} (commit outcome unknown)` : operation;
    throw storageErrorOf(error, context, server);
  }
}

function ignoreClientError(): void {
  // The failed query reports the error; see runTransaction.
}
