/**
 * How PostgreSQL failures become StorageErrors, shared by PostgresMetadataStore and
 * PostgresClusterCatalog so both name the operation and the server the same way.
 */
import { StorageError } from './storage-error.ts';

/** SQLSTATE query_canceled: a statement or lock timeout fired on the server. */
const queryCanceled = '57014';

/**
 * The StorageError for a failed call: StorageErrors pass through; a server-side timeout, an
 * unreachable server and anything else become STORAGE_FAILURE with a message naming the
 * operation and the server, and the original error as `cause`.
 */
export function storageErrorOf(error: unknown, operation: string, server: string): StorageError {
  if (error instanceof StorageError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  let detail = error instanceof Error && error.message !== '' ? error.message : String(code);
  if (code === queryCanceled) detail = `statement timed out on the server (${detail})`;
  else if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) detail = `unreachable (${detail})`;
  else if (/timeout/i.test(detail)) detail = `no answer in time (${detail})`;
  return new StorageError(
    'STORAGE_FAILURE',
    `metadata store ${server}: ${operation} failed: ${detail}`,
    {
      cause: error,
    },
  );
}
