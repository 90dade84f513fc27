/**
 * The admin requests behind `tributary groups`, each one Kafka API at a fixed version over a
 * KafkaConnection: list and describe groups, read and commit a group's offsets, look up a
 * partition's log start, log end and offset for a timestamp, and read the timestamp of the
 * first record at an offset. Any Kafka error code in a response becomes a KafkaAdminError
 * carrying the error's name, so the command can print it as Kafka's tools do.
 * Requests all go to the one broker connected to: with a single broker it is both the group
 * coordinator and every partition's leader.
 */
import {
  ErrorCode,
  consumerGroupDescribeApi,
  decodeRecords,
  describeGroupsApi,
  fetchApi,
  listGroupsApi,
  listOffsetsApi,
  metadataApi,
  offsetCommitApi,
  offsetFetchApi,
  readBatchHeader,
  type ConsumerGroupDescribeResponseDescribedGroup,
  type DescribeGroupsResponseDescribedGroup,
} from '@tributary/protocol';
import { KafkaAdminError, checkErrorCode } from './kafka-admin-error.ts';
import type { KafkaConnection } from './kafka-connection.ts';

export interface ListedGroup {
  readonly groupId: string;
  /** 'classic' or 'consumer' (KIP-848), from ListGroups v5. */
  readonly type: string;
  readonly protocolType: string;
  readonly state: string;
}

export type DescribedGroup = DescribeGroupsResponseDescribedGroup;
export type DescribedConsumerGroup = ConsumerGroupDescribeResponseDescribedGroup;

/** Committed offsets by topic, then partition. */
export type CommittedOffsets = Map<string, Map<number, bigint>>;

export const LATEST_TIMESTAMP = -1n;
export const EARLIEST_TIMESTAMP = -2n;
const fetchMaxBytes = 1024 * 1024;
const decompressedMaxBytes = 64 * 1024 * 1024;
const timestampFetchMaxAttempts = 5;

export async function listGroups(connection: KafkaConnection): Promise<ListedGroup[]> {
  const response = await connection.request(listGroupsApi, 5, {
    statesFilter: [],
    typesFilter: [],
  });
  checkErrorCode('ListGroups', response.errorCode);
  return response.groups
    .map((group) => ({
      groupId: group.groupId,
      type: group.groupType,
      protocolType: group.protocolType,
      state: group.groupState,
    }))
    .toSorted((a, b) => a.groupId.localeCompare(b.groupId));
}

/** Describes one group; a group the broker does not know comes back in state 'Dead'. */
export async function describeGroup(
  connection: KafkaConnection,
  groupId: string,
): Promise<DescribedGroup> {
  const response = await connection.request(describeGroupsApi, 5, { groups: [groupId] });
  const group = response.groups.find((described) => described.groupId === groupId);
  if (group === undefined) throw new Error(`DescribeGroups answered nothing for '${groupId}'`);
  checkErrorCode(`DescribeGroups '${groupId}'`, group.errorCode);
  return group;
}

/**
 * Describes a KIP-848 consumer group with ConsumerGroupDescribe; undefined when the group is
 * not one (GROUP_ID_NOT_FOUND: a classic group, or none at all).
 */
export async function describeConsumerGroup(
  connection: KafkaConnection,
  groupId: string,
): Promise<DescribedConsumerGroup | undefined> {
  const response = await connection.request(consumerGroupDescribeApi, 1, {
    groupIds: [groupId],
    includeAuthorizedOperations: false,
  });
  const group = response.groups.find((described) => described.groupId === groupId);
  if (group === undefined || group.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) return undefined;
  checkErrorCode(`ConsumerGroupDescribe '${groupId}'`, group.errorCode);
  return group;
}

export async function fetchCommittedOffsets(
  connection: KafkaConnection,
  groupId: string,
): Promise<CommittedOffsets> {
  const response = await connection.request(offsetFetchApi, 7, { groupId, topics: null });
  checkErrorCode(`OffsetFetch '${groupId}'`, response.errorCode);
  const offsets: CommittedOffsets = new Map();
  for (const topic of response.topics) {
    const partitions = new Map<number, bigint>();
    for (const partition of topic.partitions) {
      checkErrorCode(`OffsetFetch ${topic.name}-${partition.partitionIndex}`, partition.errorCode);
      if (partition.committedOffset >= 0n) {
        partitions.set(partition.partitionIndex, partition.committedOffset);
      }
    }
    if (partitions.size > 0) offsets.set(topic.name, partitions);
  }
  return offsets;
}

/** The partition indexes of a topic, ascending; UNKNOWN_TOPIC_OR_PARTITION when it is absent. */
export async function topicPartitions(
  connection: KafkaConnection,
  topic: string,
): Promise<number[]> {
  const response = await connection.request(metadataApi, 12, {
    topics: [{ name: topic }],
    allowAutoTopicCreation: false,
  });
  const found = response.topics.find((candidate) => candidate.name === topic);
  if (found === undefined) {
    throw new KafkaAdminError(`Metadata '${topic}'`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  checkErrorCode(`Metadata '${topic}'`, found.errorCode);
  return found.partitions.map((partition) => partition.partitionIndex).toSorted((a, b) => a - b);
}

/**
 * ListOffsets for each partition at one timestamp (LATEST_TIMESTAMP, EARLIEST_TIMESTAMP or
 * milliseconds). An offset of -1 (no record at or after the time) comes back as null.
 */
export async function listOffsets(
  connection: KafkaConnection,
  topic: string,
  partitions: readonly number[],
  timestamp: bigint,
): Promise<Map<number, bigint | null>> {
  const response = await connection.request(listOffsetsApi, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [
      {
        name: topic,
        partitions: partitions.map((partitionIndex) => ({
          partitionIndex,
          currentLeaderEpoch: -1,
          timestamp,
        })),
      },
    ],
  });
  const result = new Map<number, bigint | null>();
  for (const answered of response.topics) {
    for (const partition of answered.partitions) {
      checkErrorCode(`ListOffsets ${topic}-${partition.partitionIndex}`, partition.errorCode);
      result.set(partition.partitionIndex, partition.offset < 0n ? null : partition.offset);
    }
  }
  return result;
}

export interface CommitOffset {
  readonly partition: number;
  readonly offset: bigint;
}

/** Commits as an admin: generation -1 and no member id, which a group with members refuses. */
export async function commitOffsets(
  connection: KafkaConnection,
  groupId: string,
  topic: string,
  offsets: readonly CommitOffset[],
): Promise<void> {
  const response = await connection.request(offsetCommitApi, 8, {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      {
        name: topic,
        partitions: offsets.map(({ partition, offset }) => ({
          partitionIndex: partition,
          committedOffset: offset,
          committedLeaderEpoch: -1,
          committedMetadata: '',
        })),
      },
    ],
  });
  for (const answered of response.topics) {
    for (const partition of answered.partitions) {
      checkErrorCode(
        `OffsetCommit ${answered.name}-${partition.partitionIndex}`,
        partition.errorCode,
      );
    }
  }
}

/**
 * The timestamp of the first data record at or after `offset`, read with Fetch; null when
 * there is none (end of log) or it carries no timestamp (-1). Control batches are skipped.
 */
export async function firstRecordTimestamp(
  connection: KafkaConnection,
  topic: string,
  partition: number,
  offset: bigint,
): Promise<bigint | null> {
  let fetchOffset = offset;
  for (let attempt = 0; attempt < timestampFetchMaxAttempts; attempt++) {
    const records = await fetchRecords(connection, topic, partition, fetchOffset);
    if (records === null || records.length === 0) return null;
    const found = scanBatches(records, offset);
    if (found.timestamp !== undefined) return found.timestamp < 0n ? null : found.timestamp;
    if (found.nextOffset <= fetchOffset) return null;
    fetchOffset = found.nextOffset;
  }
  return null;
}

async function fetchRecords(
  connection: KafkaConnection,
  topic: string,
  partition: number,
  fetchOffset: bigint,
): Promise<Buffer | null> {
  const response = await connection.request(fetchApi, 12, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: fetchMaxBytes,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic,
        partitions: [
          { partition, fetchOffset, partitionMaxBytes: fetchMaxBytes, currentLeaderEpoch: -1 },
        ],
      },
    ],
  });
  checkErrorCode('Fetch', response.errorCode);
  const data = response.responses[0]?.partitions[0];
  if (data === undefined) return null;
  checkErrorCode(`Fetch ${topic}-${partition}`, data.errorCode);
  return data.records;
}

/** Walks whole batches; a partial batch at the end of a fetch response is ignored. */
function scanBatches(records: Buffer, offset: bigint): { timestamp?: bigint; nextOffset: bigint } {
  let position = 0;
  let nextOffset = offset;
  while (position + 12 <= records.length) {
    const size = 12 + records.readInt32BE(position + 8);
    if (position + size > records.length) break;
    const batch = records.subarray(position, position + size);
    position += size;
    const header = readBatchHeader(batch);
    const lastOffset = header.baseOffset + BigInt(header.lastOffsetDelta);
    if (lastOffset + 1n > nextOffset) nextOffset = lastOffset + 1n;
    if (header.isControl || lastOffset < offset) continue;
    const decoded = decodeRecords(batch, { maxDecompressedBytes: decompressedMaxBytes });
    const first = decoded.find((record) => record.offset >= offset);
    if (first !== undefined) return { timestamp: first.timestamp, nextOffset };
  }
  return { nextOffset };
}
