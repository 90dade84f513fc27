/**
 * The one place where operating failures become Kafka error codes. Handlers catch what storage
 * (or later, coordinators) throw and call `toKafkaError`; nothing else picks a code for a thrown
 * error, so the retriable/non-retriable choice clients depend on is made consistently.
 */
import { ErrorCode, ProtocolError, RecordBatchError } from '@tributary/protocol';
import { StorageError } from '@tributary/storage';

export interface KafkaError {
  readonly errorCode: number;
  readonly errorMessage: string;
}

const storageCodes: Readonly<Record<string, number>> = {
  TOPIC_EXISTS: ErrorCode.TOPIC_ALREADY_EXISTS,
  UNKNOWN_TOPIC: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  INVALID_PARTITIONS: ErrorCode.INVALID_PARTITIONS,
  OFFSET_OUT_OF_RANGE: ErrorCode.OFFSET_OUT_OF_RANGE,
  INVALID_CONFIG: ErrorCode.INVALID_CONFIG,
  STORAGE_FAILURE: ErrorCode.KAFKA_STORAGE_ERROR,
  // The broker is shutting down: a retriable code that sends the client back to metadata.
  CLOSED: ErrorCode.NOT_LEADER_OR_FOLLOWER,
  // Cluster mode: the lease moved (or was never here); the client refreshes metadata.
  NOT_LEADER: ErrorCode.NOT_LEADER_OR_FOLLOWER,
};

export function toKafkaError(error: unknown): KafkaError {
  if (error instanceof StorageError) {
    return {
      errorCode: storageCodes[error.code] ?? ErrorCode.KAFKA_STORAGE_ERROR,
      errorMessage: error.message,
    };
  }
  if (error instanceof RecordBatchError) {
    return { errorCode: error.errorCode, errorMessage: error.message };
  }
  if (error instanceof ProtocolError) {
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: error.message };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: message };
}
