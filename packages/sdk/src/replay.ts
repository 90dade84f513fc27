/**
 * Replay support: where a new group starts (`seedGroupOffsets`: from a time, by the log's
 * timestamps) and how far a consumer has come towards the end offsets seen when it was asked
 * (`ReplayProgress`). Replaying is an ordinary EventConsumer with a group of its own, so live
 * consumers of the same topics are not affected, and once caught up it simply goes on live.
 */
import { createAdmin, createConsumer, type KafkaConnection } from './kafka-connection.ts';

export interface PartitionProgress {
  readonly topic: string;
  readonly partition: number;
  /** The next offset the group will handle. */
  readonly position: bigint;
  /** The log end offset when the replay was asked about. */
  readonly end: bigint;
}

export interface ReplayProgress {
  readonly partitions: readonly PartitionProgress[];
  /** Records handled since the start offsets, and how many there were to the end. */
  readonly handled: number;
  readonly total: number;
  readonly done: boolean;
}

/**
 * Commits, for each partition of `topics` the group has no committed offset on, the first
 * offset whose timestamp is at or after `from` (the log end when there is none), so the group
 * starts there. Partitions with a committed offset keep it: a restarted replay resumes.
 */
export async function seedGroupOffsets(
  connection: KafkaConnection,
  groupId: string,
  topics: readonly string[],
  from: Date,
): Promise<void> {
  const consumer = createConsumer(connection, groupId);
  const admin = createAdmin(connection);
  try {
    const ends = await consumer.listOffsets({ topics: [...topics] });
    const atTime = await consumer.listOffsets({
      topics: [...topics],
      timestamp: BigInt(from.getTime()),
    });
    const committed = await consumer.listCommittedOffsets({
      topics: topics.map((topic) => ({
        topic,
        partitions: (ends.get(topic) ?? []).map((_, index) => index),
      })),
    });
    const seeded = topics.map((name) => ({
      name,
      partitionOffsets: (ends.get(name) ?? []).flatMap((end, partition) => {
        if ((committed.get(name)?.[partition] ?? -1n) >= 0n) return [];
        const offset = atTime.get(name)?.[partition] ?? -1n;
        return [{ partition, offset: offset >= 0n ? offset : end }];
      }),
    }));
    const topicsToSeed = seeded.filter((topic) => topic.partitionOffsets.length > 0);
    if (topicsToSeed.length > 0) {
      await admin.alterConsumerGroupOffsets({ groupId, topics: topicsToSeed });
    }
  } finally {
    await Promise.allSettled([consumer.close(), admin.close()]);
  }
}

/** The log end offsets of `topics` now, and the group's committed offsets. */
export async function endAndCommitted(
  connection: KafkaConnection,
  groupId: string,
  topics: readonly string[],
): Promise<{ ends: Map<string, bigint[]>; committed: Map<string, bigint[]> }> {
  const consumer = createConsumer(connection, groupId);
  try {
    const ends = await consumer.listOffsets({ topics: [...topics], isolationLevel: 1 });
    const committed = await consumer.listCommittedOffsets({
      topics: topics.map((topic) => ({
        topic,
        partitions: (ends.get(topic) ?? []).map((_, index) => index),
      })),
    });
    return { ends, committed };
  } finally {
    await consumer.close();
  }
}
