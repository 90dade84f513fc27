/**
 * The one produce check that needs the records themselves: a compacted topic (cleanup.policy
 * contains "compact") refuses a record without a key, as Kafka's LogValidator does, because
 * compaction keeps the last record per key and a keyless record has none.
 *
 * Kafka's answer, reproduced here: INVALID_RECORD for the partition, one RecordError per keyless
 * record of the first batch that has any (batchIndex = the record's index in its batch, message
 * "Compacted topic cannot accept message without key in topic partition <topic>-<partition>"),
 * and the partition's error message naming the count and up to three of them. Nothing of that
 * partition's data is stored. One difference: Kafka lists every keyless record, which for a
 * batch of millions of tiny records is a response of hundreds of megabytes; this broker lists
 * the first `recordErrorsMaxCount` (the message still gives the total).
 *
 * Only compacted topics get here, so the non-compacted hot path decodes no records. Decoding is
 * bounded by `maxDecompressedBytes`; a batch whose records do not decode is refused with the
 * decoder's code (CORRUPT_MESSAGE, or MESSAGE_TOO_LARGE past the bound), since compaction would
 * later have to decode it too.
 */
import { ErrorCode, findKeylessRecords } from '@tributary/protocol';
import { toKafkaError } from './kafka-errors.ts';

export interface RecordError {
  batchIndex: number;
  batchIndexErrorMessage: string | null;
}

export interface KeyProblem {
  errorCode: number;
  errorMessage: string;
  recordErrors: RecordError[];
}

export interface KeyCheckTarget {
  topic: string;
  partition: number;
  maxDecompressedBytes: number;
}

/** Kafka's LogValidator shows at most this many record errors in the partition's message. */
const shownRecordErrors = 3;
/** RecordErrors listed in one partition's answer; the message counts all of them. */
export const recordErrorsMaxCount = 1000;

/** Why these batches may not go to a compacted topic, or undefined when every record has a key. */
export function compactedKeyProblem(
  batches: readonly Buffer[],
  target: KeyCheckTarget,
): KeyProblem | undefined {
  const message =
    'Compacted topic cannot accept message without key in topic partition ' +
    `${target.topic}-${target.partition}`;
  for (const batch of batches) {
    let keyless: { count: number; indexes: number[] };
    try {
      keyless = findKeylessRecords(batch, {
        maxDecompressedBytes: target.maxDecompressedBytes,
        maxIndexes: recordErrorsMaxCount,
      });
    } catch (error: unknown) {
      const { errorCode, errorMessage } = toKafkaError(error);
      return { errorCode, errorMessage, recordErrors: [] };
    }
    if (keyless.count === 0) continue;
    const recordErrors = keyless.indexes.map((batchIndex) => ({
      batchIndex,
      batchIndexErrorMessage: message,
    }));
    const shown = recordErrors
      .slice(0, shownRecordErrors)
      .map((error) => `RecordError(batchIndex=${error.batchIndex}, message='${message}')`);
    return {
      errorCode: ErrorCode.INVALID_RECORD,
      errorMessage:
        `One or more records have been rejected due to ${keyless.count} record errors ` +
        `in total, and only showing the first three errors at most: [${shown.join(', ')}]`,
      recordErrors,
    };
  }
  return undefined;
}
