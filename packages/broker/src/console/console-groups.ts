/**
 * Consumer groups for the console: state, members and assignments (DescribeGroups), committed
 * offsets (OffsetFetch) with lag in records and seconds, and the offset reset, which commits
 * through OffsetCommit as `kafka-consumer-groups --reset-offsets` does: only while the group is
 * empty, so no live member overwrites it, and always planned (dry run) before it is applied.
 */
import type {
  GroupSummary,
  LagSample,
  PartitionLag,
  ResetOffsetsRequest,
  ResetOffsetsResult,
} from '@tributary/console';
import {
  describeGroupsApi,
  errorName,
  listGroupsApi,
  listOffsetsApi,
  offsetCommitApi,
  offsetFetchApi,
} from '@tributary/protocol';
import type { BrokerRuntime } from '../broker-runtime.ts';
import { decodeAssignment, partitionLag, partitionLog } from './console-data.ts';
import { ConsoleRequestError } from './console-request-error.ts';
import { callApi, type ConsoleCaller } from './in-process-api.ts';

export async function groupSummaries(
  runtime: BrokerRuntime,
  caller: ConsoleCaller,
  historyOf: (groupId: string) => readonly LagSample[],
): Promise<GroupSummary[]> {
  const listed = await callApi(runtime, caller, listGroupsApi, 4, {});
  const ids = listed.groups.map((group) => group.groupId).toSorted();
  if (ids.length === 0) return [];
  const described = await callApi(runtime, caller, describeGroupsApi, 5, { groups: ids });
  const summaries: GroupSummary[] = [];
  for (const group of described.groups) {
    const offsets = await groupLag(runtime, caller, group.groupId);
    summaries.push({
      groupId: group.groupId,
      state: group.groupState,
      protocolType: group.protocolType,
      protocol: group.protocolData,
      members: group.members.map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        assignment: decodeAssignment(member.memberAssignment),
      })),
      offsets,
      totalLag: offsets.reduce((total, entry) => total + entry.lag, 0),
      maxLagSeconds: offsets.reduce((most, entry) => Math.max(most, entry.lagSeconds), 0),
      lagHistory: historyOf(group.groupId),
    });
  }
  return summaries;
}

/** Every committed partition of the group with its lag. */
export async function groupLag(
  runtime: BrokerRuntime,
  caller: ConsoleCaller,
  groupId: string,
): Promise<PartitionLag[]> {
  const fetched = await callApi(runtime, caller, offsetFetchApi, 7, { groupId, topics: null });
  const lags: PartitionLag[] = [];
  for (const topic of fetched.topics) {
    for (const partition of topic.partitions) {
      if (partition.errorCode !== 0 || partition.committedOffset < 0n) continue;
      const lag = await partitionLag(runtime, {
        topic: topic.name,
        partition: partition.partitionIndex,
        committedOffset: Number(partition.committedOffset),
      });
      if (lag !== undefined) lags.push(lag);
    }
  }
  return lags.toSorted((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

export async function resetOffsets(
  runtime: BrokerRuntime,
  caller: ConsoleCaller,
  groupId: string,
  request: ResetOffsetsRequest,
): Promise<ResetOffsetsResult> {
  const topic = runtime.storage.getTopic(request.topic);
  if (topic === undefined) throw new ConsoleRequestError(`unknown topic ${request.topic}`, 404);
  const [group] = (await callApi(runtime, caller, describeGroupsApi, 5, { groups: [groupId] }))
    .groups;
  const state = group?.groupState ?? 'Dead';
  if (state !== 'Empty' && state !== 'Dead') {
    throw new ConsoleRequestError(
      `group ${groupId} is ${state}: offsets can be reset only while it has no members`,
      409,
    );
  }
  const partitions = Array.from({ length: topic.partitionCount }, (_, index) => index);
  const fetched = await callApi(runtime, caller, offsetFetchApi, 7, {
    groupId,
    topics: [{ name: request.topic, partitionIndexes: partitions }],
  });
  const current = new Map<number, number>();
  for (const partition of fetched.topics[0]?.partitions ?? []) {
    if (partition.committedOffset >= 0n) {
      current.set(partition.partitionIndex, Number(partition.committedOffset));
    }
  }
  const plan: ResetOffsetsResult['plan'][number][] = [];
  for (const partition of partitions) {
    const target = await targetOffset(runtime, caller, request, partition);
    plan.push({
      topic: request.topic,
      partition,
      current: current.get(partition) ?? null,
      target,
    });
  }
  if (request.dryRun) return { groupId, applied: false, plan };
  await commitPlan(runtime, caller, groupId, plan);
  return { groupId, applied: true, plan };
}

async function targetOffset(
  runtime: BrokerRuntime,
  caller: ConsoleCaller,
  request: ResetOffsetsRequest,
  partition: number,
): Promise<number> {
  const log = partitionLog(runtime, request.topic, partition);
  if (log === undefined) {
    throw new ConsoleRequestError(`partition ${partition} is not held by this broker`, 409);
  }
  const start = Number(log.logStartOffset);
  const end = Number(log.highWatermark);
  switch (request.to) {
    case 'earliest':
      return start;
    case 'latest':
      return end;
    case 'offset':
      if (request.value === undefined || !Number.isSafeInteger(request.value)) {
        throw new ConsoleRequestError('an offset reset needs an integer value');
      }
      return Math.min(Math.max(request.value, start), end);
    case 'timestamp': {
      if (request.value === undefined || !Number.isSafeInteger(request.value)) {
        throw new ConsoleRequestError('a timestamp reset needs milliseconds since the epoch');
      }
      const answer = await callApi(runtime, caller, listOffsetsApi, 7, {
        replicaId: -1,
        topics: [
          {
            name: request.topic,
            partitions: [{ partitionIndex: partition, timestamp: BigInt(request.value) }],
          },
        ],
      });
      const offset = answer.topics[0]?.partitions[0]?.offset ?? -1n;
      return offset < 0n ? end : Number(offset);
    }
    default:
      throw new ConsoleRequestError(`unknown reset target ${String(request.to)}`);
  }
}

async function commitPlan(
  runtime: BrokerRuntime,
  caller: ConsoleCaller,
  groupId: string,
  plan: ResetOffsetsResult['plan'],
): Promise<void> {
  const answer = await callApi(runtime, caller, offsetCommitApi, 8, {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      {
        name: plan[0]?.topic ?? '',
        partitions: plan.map((entry) => ({
          partitionIndex: entry.partition,
          committedOffset: BigInt(entry.target),
          committedLeaderEpoch: -1,
          committedMetadata: '',
        })),
      },
    ],
  });
  const failed = answer.topics
    .flatMap((topic) => topic.partitions)
    .find((partition) => partition.errorCode !== 0);
  if (failed !== undefined) {
    throw new ConsoleRequestError(
      `OffsetCommit failed on partition ${failed.partitionIndex}: ${errorName(failed.errorCode)}`,
      409,
    );
  }
}
