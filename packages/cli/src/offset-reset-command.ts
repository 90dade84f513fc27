/**
 * `tributary groups reset-offsets GROUP --topic T[:P,P...] MODE [--execute]`. Prints each
 * partition's current and new offset; only with --execute does it commit them, with
 * OffsetCommit at generation -1 and no member id. As kafka-consumer-groups does, it refuses
 * (preview included) unless the group is inactive (Empty, or unknown to the broker, which
 * creates it), because an active member would overwrite the reset with its next commit.
 */
import { parseArgs } from 'node:util';
import { UsageError, type CommandIo } from './command-io.ts';
import {
  EARLIEST_TIMESTAMP,
  LATEST_TIMESTAMP,
  commitOffsets,
  describeConsumerGroup,
  describeGroup,
  fetchCommittedOffsets,
  listOffsets,
  topicPartitions,
} from './group-admin.ts';
import { parseIsoDurationMs } from './iso-duration.ts';
import type { KafkaConnection } from './kafka-connection.ts';
import { planResetOffset, resetTimestampMs, type ResetSpec } from './offset-reset-plan.ts';
import { formatTable } from './text-table.ts';

export const resetOffsetsOptions = {
  topic: { type: 'string', multiple: true },
  'to-earliest': { type: 'boolean' },
  'to-latest': { type: 'boolean' },
  'to-datetime': { type: 'string' },
  'by-duration': { type: 'string' },
  'to-offset': { type: 'string' },
  'shift-by': { type: 'string' },
  execute: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
} as const;

type ResetValues = ReturnType<typeof parseArgs<{ options: typeof resetOffsetsOptions }>>['values'];

function parseInteger(flag: string, text: string): bigint {
  if (!/^[+-]?\d+$/.test(text.trim()))
    throw new UsageError(`--${flag} needs an integer, not '${text}'`);
  return BigInt(text.trim());
}

/** The one reset mode the flags name; a usage error for none or several. */
export function resetSpecFrom(values: ResetValues): ResetSpec {
  const specs: ResetSpec[] = [];
  if (values['to-earliest'] === true) specs.push({ kind: 'to-earliest' });
  if (values['to-latest'] === true) specs.push({ kind: 'to-latest' });
  const datetime = values['to-datetime'];
  if (datetime !== undefined) {
    const ms = Date.parse(datetime);
    if (Number.isNaN(ms)) throw new UsageError(`--to-datetime '${datetime}' is not an ISO date`);
    specs.push({ kind: 'to-datetime', timestampMs: BigInt(ms) });
  }
  const duration = values['by-duration'];
  if (duration !== undefined) {
    try {
      specs.push({ kind: 'by-duration', durationMs: parseIsoDurationMs(duration) });
    } catch (error: unknown) {
      throw new UsageError(`--by-duration: ${error instanceof Error ? error.message : ''}`);
    }
  }
  const offset = values['to-offset'];
  if (offset !== undefined)
    specs.push({ kind: 'to-offset', offset: parseInteger('to-offset', offset) });
  const shift = values['shift-by'];
  if (shift !== undefined) specs.push({ kind: 'shift-by', shift: parseInteger('shift-by', shift) });
  const [only, ...others] = specs;
  if (only === undefined || others.length > 0) {
    throw new UsageError(
      'give exactly one of --to-earliest, --to-latest, --to-datetime, --by-duration, ' +
        '--to-offset, --shift-by',
    );
  }
  return only;
}

/** `T` or `T:0,2`: a topic and, optionally, some of its partitions. */
function parseTopicArgument(text: string): { topic: string; partitions: number[] | null } {
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { topic: text, partitions: null };
  const list = text.slice(colon + 1).split(',');
  if (list.some((part) => !/^\d+$/.test(part))) {
    throw new UsageError(`--topic '${text}' is not TOPIC or TOPIC:PARTITION,PARTITION`);
  }
  return { topic: text.slice(0, colon), partitions: list.map(Number) };
}

export async function resetOffsetsCommand(
  connection: KafkaConnection,
  groupId: string,
  values: ResetValues,
  io: CommandIo,
): Promise<number> {
  const spec = resetSpecFrom(values);
  const topics = (values.topic ?? []).map(parseTopicArgument);
  if (topics.length === 0) throw new UsageError('reset-offsets needs --topic TOPIC');
  const group =
    (await describeConsumerGroup(connection, groupId)) ??
    (await describeGroup(connection, groupId));
  if ((group.groupState !== 'Empty' && group.groupState !== 'Dead') || group.members.length > 0) {
    io.err(
      `tributary: assignments can only be reset if the group '${groupId}' is inactive, but ` +
        `the current state is ${group.groupState} with ${group.members.length} active member(s)\n`,
    );
    return 1;
  }
  const committed = await fetchCommittedOffsets(connection, groupId);
  const rows: string[][] = [];
  const plans: { topic: string; offsets: { partition: number; offset: bigint }[] }[] = [];
  for (const { topic, partitions: wanted } of topics) {
    const existing = await topicPartitions(connection, topic);
    const partitions = wanted ?? existing;
    const missing = partitions.filter((partition) => !existing.includes(partition));
    if (missing.length > 0) {
      io.err(`tributary: topic '${topic}' has no partition ${missing.join(', ')}\n`);
      return 1;
    }
    const starts = await listOffsets(connection, topic, partitions, EARLIEST_TIMESTAMP);
    const ends = await listOffsets(connection, topic, partitions, LATEST_TIMESTAMP);
    const timestamp = resetTimestampMs(spec, io.nowMs());
    const forTime =
      timestamp === null ? null : await listOffsets(connection, topic, partitions, timestamp);
    const offsets = partitions.map((partition) => {
      const committedOffset = committed.get(topic)?.get(partition) ?? null;
      const offset = planResetOffset(spec, {
        topic,
        partition,
        committedOffset,
        logStartOffset: starts.get(partition) ?? 0n,
        logEndOffset: ends.get(partition) ?? 0n,
        offsetForTimestamp: forTime?.get(partition) ?? null,
      });
      const current = committedOffset === null ? '-' : String(committedOffset);
      rows.push([groupId, topic, String(partition), current, String(offset)]);
      return { partition, offset };
    });
    plans.push({ topic, offsets });
  }
  io.out(formatTable(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'], rows));
  if (values.execute !== true) {
    io.err('tributary: preview only; add --execute to commit these offsets\n');
    return 0;
  }
  for (const plan of plans) await commitOffsets(connection, groupId, plan.topic, plan.offsets);
  io.err(`tributary: committed new offsets for group '${groupId}'\n`);
  return 0;
}
