/**
 * ListOffsets (key 2), v1-10. Special timestamps: -1 latest (the high watermark, or the last stable
 * offset for read_committed: the first offset of the earliest open transaction), -2 earliest (log start offset),
 * -3 max timestamp (v7+), -4 earliest local (v8+: everything is "local" here, so the log start
 * offset), -5 earliest pending upload (v9+: answered as -1, nothing is pending from a client's view).
 * A real timestamp finds the first record whose timestamp is at or after it: storage picks the
 * batch by its max timestamp, then the records inside it are scanned. No such record: offset -1.
 */
import {
  ErrorCode,
  findOffsetForTimestamp,
  listOffsetsApi,
  type ListOffsetsRequest,
} from '@tributary/protocol';
import type { PartitionLog } from '@tributary/storage';
import type { BrokerRuntime } from '../broker-runtime.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, topicResource } from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';
import { txnIndexOf } from '../transactions/partition-txn-index.ts';

const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;

type PartitionQuery = ListOffsetsRequest['topics'][number]['partitions'][number];

interface OffsetAnswer {
  partitionIndex: number;
  errorCode: number;
  timestamp: bigint;
  offset: bigint;
  leaderEpoch: number;
}

export const listOffsetsHandler = defineHandler(listOffsetsApi, async (context, request) => {
  const { runtime } = context;
  const topics = await Promise.all(
    request.topics.map(async (wanted) => {
      const topic = runtime.storage.getTopic(wanted.name);
      const describable = authorized(context, AclOperation.DESCRIBE, topicResource(wanted.name));
      const partitions = await Promise.all(
        wanted.partitions.map((query) => {
          if (!describable) return answer(query, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
          const log =
            topic === undefined
              ? undefined
              : runtime.storage.partition(topic.topicId, query.partitionIndex);
          return log === undefined
            ? answer(query, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
            : locate(runtime, log, query, request.isolationLevel === 1);
        }),
      );
      return { name: wanted.name, partitions };
    }),
  );
  return { throttleTimeMs: 0, topics };
});

async function locate(
  runtime: BrokerRuntime,
  log: PartitionLog,
  query: PartitionQuery,
  readCommitted: boolean,
): Promise<OffsetAnswer> {
  try {
    switch (query.timestamp) {
      case LATEST: {
        // read_committed: the last stable offset (first offset of the earliest open transaction).
        const index = readCommitted ? await txnIndexOf(log) : undefined;
        const latest = index?.lastStableOffset(log.highWatermark) ?? log.highWatermark;
        return answer(query, ErrorCode.NONE, -1n, latest);
      }
      case EARLIEST:
      case EARLIEST_LOCAL:
        return answer(query, ErrorCode.NONE, -1n, log.logStartOffset);
      case MAX_TIMESTAMP:
        return await maxTimestamp(runtime, log, query);
      default:
        if (query.timestamp < 0n) return answer(query, ErrorCode.NONE);
        return await byTimestamp(runtime, log, query);
    }
  } catch (error: unknown) {
    return answer(query, toKafkaError(error).errorCode);
  }
}

async function byTimestamp(
  runtime: BrokerRuntime,
  log: PartitionLog,
  query: PartitionQuery,
): Promise<OffsetAnswer> {
  const batch = await log.batchForTimestamp(query.timestamp);
  if (batch === undefined) return answer(query, ErrorCode.NONE);
  const found = findOffsetForTimestamp(batch, query.timestamp, {
    maxDecompressedBytes: runtime.config.decompressedBatchMaxBytes,
  });
  if (found === null || found.offset < log.logStartOffset) {
    return found === null
      ? answer(query, ErrorCode.NONE)
      : answer(query, ErrorCode.NONE, found.timestamp, log.logStartOffset);
  }
  return answer(query, ErrorCode.NONE, found.timestamp, found.offset);
}

/** The first record carrying the partition's largest timestamp (KIP-734). */
async function maxTimestamp(
  runtime: BrokerRuntime,
  log: PartitionLog,
  query: PartitionQuery,
): Promise<OffsetAnswer> {
  const max = log.maxTimestampBatch();
  if (max === undefined) return answer(query, ErrorCode.NONE);
  const [batch] = await log.read(max.baseOffset, 1);
  const found =
    batch === undefined
      ? null
      : findOffsetForTimestamp(batch, max.timestamp, {
          maxDecompressedBytes: runtime.config.decompressedBatchMaxBytes,
        });
  return answer(query, ErrorCode.NONE, max.timestamp, found?.offset ?? max.offset);
}

function answer(
  query: PartitionQuery,
  errorCode: number,
  timestamp = -1n,
  offset = -1n,
): OffsetAnswer {
  return { partitionIndex: query.partitionIndex, errorCode, timestamp, offset, leaderEpoch: 0 };
}
