/**
 * Decodes the "consumer" protocol's member assignment bytes (ConsumerProtocolAssignment): int16
 * version, an array of (topic string, int32 array of partitions), then nullable user data (v0+)
 * and, from v1, nothing else the admin view needs. Empty bytes mean no assignment yet (a member
 * between JoinGroup and SyncGroup). Anything inconsistent throws, so a caller can show the raw
 * size instead of a wrong assignment.
 */

export interface TopicAssignment {
  readonly topic: string;
  readonly partitions: readonly number[];
}

export interface ConsumerAssignment {
  readonly version: number;
  readonly topics: readonly TopicAssignment[];
  readonly userData: Buffer | null;
}

export function decodeConsumerAssignment(bytes: Buffer): ConsumerAssignment {
  if (bytes.length === 0) return { version: 0, topics: [], userData: null };
  let position = 0;
  const need = (count: number): void => {
    if (position + count > bytes.length) {
      throw new Error(`assignment of ${bytes.length} bytes ends early at byte ${position}`);
    }
  };
  const int16 = (): number => {
    need(2);
    position += 2;
    return bytes.readInt16BE(position - 2);
  };
  const int32 = (): number => {
    need(4);
    position += 4;
    return bytes.readInt32BE(position - 4);
  };
  const version = int16();
  const topics: TopicAssignment[] = [];
  const topicCount = int32();
  for (let i = 0; i < topicCount; i++) {
    const nameLength = int16();
    need(nameLength);
    const topic = bytes.toString('utf8', position, position + nameLength);
    position += nameLength;
    const partitionCount = int32();
    need(partitionCount * 4);
    const partitions: number[] = [];
    for (let p = 0; p < partitionCount; p++) partitions.push(int32());
    topics.push({ topic, partitions });
  }
  let userData: Buffer | null = null;
  // Some clients end the assignment right after the topics; the user data is then absent.
  if (position + 4 <= bytes.length) {
    const length = int32();
    if (length >= 0) {
      need(length);
      userData = bytes.subarray(position, position + length);
    }
  }
  return { version, topics, userData };
}
