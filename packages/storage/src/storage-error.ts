/**
 * StorageError: the one typed error the storage package throws for operating failures and for
 * requests it must refuse. `code` is stable; the broker maps codes to Kafka error codes in one
 * place. `cause` carries the underlying I/O or SQLite error when there is one.
 */

export type StorageErrorCode =
  | 'TOPIC_EXISTS'
  | 'UNKNOWN_TOPIC'
  | 'INVALID_PARTITIONS'
  | 'INVALID_CONFIG'
  | 'OFFSET_OUT_OF_RANGE'
  | 'STORAGE_FAILURE'
  | 'CORRUPT_DATA'
  | 'CLOSED'
  /** Cluster mode: this broker does not (or no longer) lead the partition. */
  | 'NOT_LEADER'
  /** Cluster mode: another live broker registered with the same node.id. */
  | 'NODE_ID_IN_USE';

export class StorageError extends Error {
  readonly code: StorageErrorCode | (string & {});

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
  }
}

/** Wraps an unknown failure as STORAGE_FAILURE, keeping StorageErrors as they are. */
export function asStorageError(error: unknown, context: string): StorageError {
  if (error instanceof StorageError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new StorageError('STORAGE_FAILURE', `${context}: ${detail}`, { cause: error });
}
