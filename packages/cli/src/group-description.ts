/**
 * `tributary groups describe GROUP`: the group's type (classic or KIP-848 consumer), state and
 * protocol or epochs, its members with their decoded assignments (a consumer group's with their
 * member epochs and target assignments), and per partition the committed offset, log end offset
 * and lag, in offsets and in seconds. Partitions shown are those the group has committed offsets
 * for or a member is assigned. Lag in seconds is now minus the timestamp of the first record
 * after the committed offset (0 when caught up, '-' when unknown), read with one Fetch per
 * lagging partition.
 */
import { decodeConsumerAssignment } from './consumer-assignment.ts';
import type { CommandIo } from './command-io.ts';
import {
  EARLIEST_TIMESTAMP,
  LATEST_TIMESTAMP,
  describeConsumerGroup,
  describeGroup,
  fetchCommittedOffsets,
  firstRecordTimestamp,
  listOffsets,
  type DescribedConsumerGroup,
  type DescribedGroup,
} from './group-admin.ts';
import type { KafkaConnection } from './kafka-connection.ts';
import { formatTable } from './text-table.ts';

interface MemberView {
  readonly memberId: string;
  readonly instanceId: string;
  readonly clientId: string;
  readonly host: string;
  readonly assignment: Map<string, number[]>;
  readonly assignmentText: string;
}

function memberView(group: DescribedGroup, member: DescribedGroup['members'][number]): MemberView {
  const assignment = new Map<string, number[]>();
  let assignmentText: string;
  if (group.protocolType === 'consumer') {
    try {
      for (const { topic, partitions } of decodeConsumerAssignment(member.memberAssignment)
        .topics) {
        assignment.set(topic, [...(assignment.get(topic) ?? []), ...partitions]);
      }
      assignmentText = [...assignment]
        .map(([topic, partitions]) => `${topic}:${partitions.join(',')}`)
        .join(' ');
    } catch (error: unknown) {
      assignmentText = `undecodable (${error instanceof Error ? error.message : String(error)})`;
    }
  } else {
    assignmentText = `${member.memberAssignment.length} bytes`;
  }
  return {
    memberId: member.memberId,
    instanceId: member.groupInstanceId ?? '-',
    clientId: member.clientId,
    host: member.clientHost,
    assignment,
    assignmentText: assignmentText === '' ? '-' : assignmentText,
  };
}

/** Each partition the group has an offset for or is assigned, by topic, sorted. */
function partitionsToShow(
  committed: Map<string, Map<number, bigint>>,
  members: readonly MemberView[],
): Map<string, number[]> {
  const sets = new Map<string, Set<number>>();
  const add = (topic: string, partition: number): void => {
    const set = sets.get(topic) ?? new Set<number>();
    set.add(partition);
    sets.set(topic, set);
  };
  for (const [topic, partitions] of committed) for (const p of partitions.keys()) add(topic, p);
  for (const member of members) {
    for (const [topic, partitions] of member.assignment) for (const p of partitions) add(topic, p);
  }
  return new Map(
    [...sets]
      .toSorted(([a], [b]) => a.localeCompare(b))
      .map(([topic, set]) => [topic, [...set].toSorted((a, b) => a - b)]),
  );
}

export async function describeGroupCommand(
  connection: KafkaConnection,
  groupId: string,
  io: CommandIo,
): Promise<number> {
  const consumerGroup = await describeConsumerGroup(connection, groupId);
  const committed = await fetchCommittedOffsets(connection, groupId);
  if (consumerGroup !== undefined) {
    const members = describeConsumerMembers(consumerGroup, io);
    return printOffsets({ connection, io, groupId, committed, members });
  }
  const group = await describeGroup(connection, groupId);
  if (group.groupState === 'Dead' && committed.size === 0) {
    io.err(`tributary: consumer group '${groupId}' does not exist\n`);
    return 1;
  }
  const members = group.members.map((member) => memberView(group, member));
  const protocol = group.protocolData === '' ? '-' : group.protocolData;
  io.out(
    `GROUP ${groupId}  TYPE classic  STATE ${group.groupState}  ` +
      `PROTOCOL-TYPE ${group.protocolType || '-'}  PROTOCOL ${protocol}  ` +
      `MEMBERS ${members.length}\n\n`,
  );
  if (members.length > 0) {
    const rows = members.map((m) => [
      m.memberId,
      m.instanceId,
      m.clientId,
      m.host,
      m.assignmentText,
    ]);
    io.out(formatTable(['MEMBER-ID', 'INSTANCE-ID', 'CLIENT-ID', 'HOST', 'ASSIGNMENT'], rows));
    io.out('\n');
  }
  return printOffsets({ connection, io, groupId, committed, members });
}

type ConsumerAssignment = DescribedConsumerGroup['members'][number]['assignment'];

function assignmentByTopic(assignment: ConsumerAssignment): Map<string, number[]> {
  const byTopic = new Map<string, number[]>();
  for (const { topicId, topicName, partitions } of assignment.topicPartitions) {
    const topic = topicName === '' ? topicId : topicName;
    byTopic.set(
      topic,
      [...(byTopic.get(topic) ?? []), ...partitions].toSorted((a, b) => a - b),
    );
  }
  return byTopic;
}

function topicsText(byTopic: Map<string, number[]>): string {
  const text = [...byTopic]
    .toSorted(([a], [b]) => a.localeCompare(b))
    .map(([topic, partitions]) => `${topic}:${partitions.join(',')}`)
    .join(' ');
  return text === '' ? '-' : text;
}

/** Prints a KIP-848 group's header and members; returns the members for the offsets table. */
function describeConsumerMembers(group: DescribedConsumerGroup, io: CommandIo): MemberView[] {
  io.out(
    `GROUP ${group.groupId}  TYPE consumer  STATE ${group.groupState}  ` +
      `GROUP-EPOCH ${group.groupEpoch}  ASSIGNMENT-EPOCH ${group.assignmentEpoch}  ` +
      `ASSIGNOR ${group.assignorName || '-'}  MEMBERS ${group.members.length}\n\n`,
  );
  const members = group.members.map((member) => {
    const assignment = assignmentByTopic(member.assignment);
    return {
      memberId: member.memberId,
      instanceId: member.instanceId ?? '-',
      clientId: member.clientId,
      host: member.clientHost,
      assignment,
      assignmentText: topicsText(assignment),
      epoch: String(member.memberEpoch),
      target: topicsText(assignmentByTopic(member.targetAssignment)),
    };
  });
  if (members.length > 0) {
    const headers = ['MEMBER-ID', 'INSTANCE-ID', 'EPOCH', 'CLIENT-ID', 'HOST'];
    const rows = members.map((m) => [
      m.memberId,
      m.instanceId,
      m.epoch,
      m.clientId,
      m.host,
      m.assignmentText,
      m.target,
    ]);
    io.out(formatTable([...headers, 'ASSIGNMENT', 'TARGET-ASSIGNMENT'], rows));
    io.out('\n');
  }
  return members;
}

interface OffsetsInput {
  readonly connection: KafkaConnection;
  readonly io: CommandIo;
  readonly groupId: string;
  readonly committed: Map<string, Map<number, bigint>>;
  readonly members: readonly MemberView[];
}

/** The per-partition table: committed offset, log end, lag and owner. */
async function printOffsets(input: OffsetsInput): Promise<number> {
  const { connection, io, groupId, committed, members } = input;
  const rows: string[][] = [];
  for (const [topic, partitions] of partitionsToShow(committed, members)) {
    rows.push(
      ...(await partitionRows({ connection, io, groupId, topic, partitions, committed, members })),
    );
  }
  if (rows.length === 0) {
    io.out(`Consumer group '${groupId}' has no committed offsets and no assignments.\n`);
    return 0;
  }
  const headers = ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG'];
  io.out(formatTable([...headers, 'LAG-SECONDS', 'MEMBER-ID', 'HOST', 'CLIENT-ID'], rows));
  return 0;
}

interface TopicRowsInput {
  readonly connection: KafkaConnection;
  readonly io: CommandIo;
  readonly groupId: string;
  readonly topic: string;
  readonly partitions: readonly number[];
  readonly committed: Map<string, Map<number, bigint>>;
  readonly members: readonly MemberView[];
}

async function partitionRows(input: TopicRowsInput): Promise<string[][]> {
  const { connection, topic, partitions } = input;
  const ends = await listOffsets(connection, topic, partitions, LATEST_TIMESTAMP);
  const starts = await listOffsets(connection, topic, partitions, EARLIEST_TIMESTAMP);
  const rows: string[][] = [];
  for (const partition of partitions) {
    const current = input.committed.get(topic)?.get(partition);
    const end = ends.get(partition) ?? null;
    const start = starts.get(partition) ?? 0n;
    const owner = input.members.find((m) => m.assignment.get(topic)?.includes(partition));
    let lag = '-';
    let lagSeconds = '-';
    if (current !== undefined && end !== null) {
      lag = String(end > current ? end - current : 0n);
      lagSeconds = await lagSecondsText({ ...input, partition, current, start, end });
    }
    rows.push([
      input.groupId,
      topic,
      String(partition),
      current === undefined ? '-' : String(current),
      end === null ? '-' : String(end),
      lag,
      lagSeconds,
      owner?.memberId ?? '-',
      owner?.host ?? '-',
      owner?.clientId ?? '-',
    ]);
  }
  return rows;
}

interface LagInput extends TopicRowsInput {
  readonly partition: number;
  readonly current: bigint;
  readonly start: bigint;
  readonly end: bigint;
}

async function lagSecondsText(input: LagInput): Promise<string> {
  if (input.current >= input.end) return '0';
  const from = input.current < input.start ? input.start : input.current;
  const timestamp = await firstRecordTimestamp(
    input.connection,
    input.topic,
    input.partition,
    from,
  );
  if (timestamp === null) return '-';
  const lagMs = input.io.nowMs() - Number(timestamp);
  return (Math.max(0, lagMs) / 1000).toFixed(1);
}
