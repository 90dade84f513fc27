/**
 * The partition limits (`max.partitions.per.topic`, `max.partitions`; docs/adr/0015) that
 * CreateTopics and CreatePartitions check before anything is created. A topic past the per-topic
 * limit is INVALID_PARTITIONS (the count itself is refused); one that fits but would take the
 * cluster past the total is POLICY_VIOLATION (the cluster's policy refuses it), each with a
 * message naming the setting and the numbers.
 */
import { ErrorCode } from '@tributary/protocol';
import type { BrokerRuntime } from './broker-runtime.ts';

export interface PartitionLimitRefusal {
  readonly errorCode: number;
  readonly errorMessage: string;
}

/**
 * Why a topic may not have `wantedCount` partitions when it has `currentCount` now (0 for a new
 * topic), or undefined when it may.
 */
export function partitionLimitRefusal(
  runtime: BrokerRuntime,
  wantedCount: number,
  currentCount: number,
): PartitionLimitRefusal | undefined {
  const { maxPartitionsPerTopic, maxPartitions } = runtime.config;
  if (wantedCount > maxPartitionsPerTopic) {
    const limit = `max.partitions.per.topic (${maxPartitionsPerTopic})`;
    return {
      errorCode: ErrorCode.INVALID_PARTITIONS,
      errorMessage: `${wantedCount} partitions exceed ${limit}`,
    };
  }
  const existing = totalPartitions(runtime);
  const after = existing + wantedCount - currentCount;
  if (after > maxPartitions) {
    return {
      errorCode: ErrorCode.POLICY_VIOLATION,
      errorMessage:
        `${wantedCount - currentCount} more partitions would make ${after}, over ` +
        `max.partitions (${maxPartitions}; ${existing} exist)`,
    };
  }
  return undefined;
}

function totalPartitions(runtime: BrokerRuntime): number {
  let total = 0;
  for (const topic of runtime.storage.listTopics()) total += topic.partitionCount;
  return total;
}
