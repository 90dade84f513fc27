/**
 * RecordBatchError: the one typed error the record-batch code throws for bytes it cannot accept.
 * Everything here decodes bytes a client or a disk handed us, so every failure carries both a
 * stable `code` and the Kafka error code (`errorCode`) a handler should answer with; callers
 * never need to parse a message or see a RangeError from a bounds check.
 */

/** Kafka error codes the record-batch code can produce (values from Kafka's Errors.java). */
export const RecordErrorCode = {
  CORRUPT_MESSAGE: 2,
  MESSAGE_TOO_LARGE: 10,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  INVALID_RECORD: 87,
} as const;

export type RecordBatchErrorCode =
  | 'CORRUPT_MESSAGE'
  | 'INVALID_RECORD'
  | 'UNSUPPORTED_MAGIC'
  | 'UNSUPPORTED_COMPRESSION'
  | 'DECOMPRESSED_TOO_LARGE';

const kafkaCodes: Readonly<Record<RecordBatchErrorCode, number>> = {
  CORRUPT_MESSAGE: RecordErrorCode.CORRUPT_MESSAGE,
  INVALID_RECORD: RecordErrorCode.INVALID_RECORD,
  UNSUPPORTED_MAGIC: RecordErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
  UNSUPPORTED_COMPRESSION: RecordErrorCode.CORRUPT_MESSAGE,
  // The Java producer answers MESSAGE_TOO_LARGE by splitting the batch, which is the useful move.
  DECOMPRESSED_TOO_LARGE: RecordErrorCode.MESSAGE_TOO_LARGE,
};

export class RecordBatchError extends Error {
  readonly code: RecordBatchErrorCode;
  /** The Kafka error code to answer a client with. */
  readonly errorCode: number;

  constructor(code: RecordBatchErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RecordBatchError';
    this.code = code;
    this.errorCode = kafkaCodes[code];
  }
}

/** A batch rejected by `splitBatches`: the Kafka error code to answer with and why. */
export interface BatchError {
  readonly code: number;
  readonly message: string;
}

/** The error a codec throws when its output would pass the caller's cap. */
export function tooLarge(codec: string, maxOutputBytes: number, cause?: unknown): RecordBatchError {
  return new RecordBatchError(
    'DECOMPRESSED_TOO_LARGE',
    `${codec} data decompresses to more than ${maxOutputBytes} bytes`,
    cause === undefined ? undefined : { cause },
  );
}

export function corrupt(message: string, cause?: unknown): RecordBatchError {
  return new RecordBatchError(
    'CORRUPT_MESSAGE',
    message,
    cause === undefined ? undefined : { cause },
  );
}
