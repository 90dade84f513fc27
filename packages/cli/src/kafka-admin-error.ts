/**
 * The error the admin commands throw when the broker answers with a Kafka error code: it carries
 * the code and reads "ACTION: ERROR_NAME", as Kafka's own tools print it.
 */
import { ErrorCode, errorName } from '@tributary/protocol';

export class KafkaAdminError extends Error {
  override readonly name = 'KafkaAdminError';
  readonly errorCode: number;

  constructor(action: string, errorCode: number) {
    super(`${action}: ${errorName(errorCode)}`);
    this.errorCode = errorCode;
  }
}

/** Throws a KafkaAdminError for `action` unless `errorCode` is NONE. */
export function checkErrorCode(action: string, errorCode: number): void {
  if (errorCode !== ErrorCode.NONE) throw new KafkaAdminError(action, errorCode);
}
