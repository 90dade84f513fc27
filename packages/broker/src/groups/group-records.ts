/**
 * The records the group coordinator persists in the internal compacted topic
 * `__consumer_offsets`, and their byte codec. Each record is keyed so that log compaction keeps
 * exactly what replay needs: the latest metadata record per group and the latest committed
 * offset per (group, topic, partition). A null value is a tombstone (deleted group or offset).
 *
 * Key:   int16 key type (1 = offset, 2 = group metadata, 3 = consumer group metadata, 5 = consumer
 *        member, 6 = consumer target assignment epoch, 7 = consumer target assignment of a member,
 *        8 = consumer current assignment of a member, as Kafka numbers them), then strings as
 *        int16 length + UTF-8: the group id, then the topic and an int32 partition (offsets) or
 *        the member id (5, 7, 8).
 * Value: int16 value version (0), then a UTF-8 JSON body; buffers are base64, 64-bit numbers are
 *        decimal strings. The record batch around it carries the CRC (docs/FORMATS.md).
 */
import assert from 'node:assert/strict';
import {
  consumerKeyTypes,
  decodeConsumerRecord,
  isConsumerRecord,
  type ConsumerGroupRecord,
} from './consumer-group-records.ts';

export interface OffsetValue {
  readonly offset: bigint;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
  readonly commitTimestampMs: number;
}

export interface MemberValue {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  /** Metadata of the selected protocol only. */
  readonly subscription: Buffer;
  readonly assignment: Buffer;
}

export interface GroupValue {
  readonly protocolType: string;
  readonly generationId: number;
  readonly protocolName: string | null;
  readonly leaderId: string | null;
  readonly members: readonly MemberValue[];
}

export type GroupRecord =
  | {
      readonly type: 'offset';
      readonly groupId: string;
      readonly topic: string;
      readonly partition: number;
      readonly value: OffsetValue | null;
    }
  | { readonly type: 'group'; readonly groupId: string; readonly value: GroupValue | null }
  | ConsumerGroupRecord;

const OFFSET_KEY = 1;
const GROUP_KEY = 2;
const VALUE_VERSION = 0;

const keyTypes: Readonly<Record<GroupRecord['type'], number>> = {
  offset: OFFSET_KEY,
  group: GROUP_KEY,
  ...consumerKeyTypes,
};

export function encodeGroupRecordKey(record: GroupRecord): Buffer {
  const parts: Buffer[] = [int16(keyTypes[record.type])];
  parts.push(shortString(record.groupId));
  if ('memberId' in record) parts.push(shortString(record.memberId));
  if (record.type === 'offset') {
    parts.push(shortString(record.topic));
    const partition = Buffer.alloc(4);
    partition.writeInt32BE(record.partition);
    parts.push(partition);
  }
  return Buffer.concat(parts);
}

export function encodeGroupRecordValue(record: GroupRecord): Buffer | null {
  if (record.value === null) return null;
  if (isConsumerRecord(record)) {
    return Buffer.concat([int16(VALUE_VERSION), Buffer.from(JSON.stringify(record.value), 'utf8')]);
  }
  const body =
    record.type === 'offset'
      ? { ...record.value, offset: record.value.offset.toString() }
      : {
          ...record.value,
          members: record.value.members.map((member) => ({
            ...member,
            subscription: member.subscription.toString('base64'),
            assignment: member.assignment.toString('base64'),
          })),
        };
  return Buffer.concat([int16(VALUE_VERSION), Buffer.from(JSON.stringify(body), 'utf8')]);
}

/** Decodes a stored record; throws on bytes this version cannot read (never skip silently). */
export function decodeGroupRecord(key: Buffer, value: Buffer | null): GroupRecord {
  const keyType = key.readInt16BE(0);
  const groupId = readShortString(key, 2);
  if (value !== null) {
    const version = value.readInt16BE(0);
    assert.equal(version, VALUE_VERSION, `unknown group record value version ${version}`);
  }
  const body = value === null ? null : (JSON.parse(value.toString('utf8', 2)) as JsonBody);
  if (keyType === OFFSET_KEY) {
    const topicStart = 4 + Buffer.byteLength(groupId);
    const topic = readShortString(key, topicStart);
    const partition = key.readInt32BE(topicStart + 2 + Buffer.byteLength(topic));
    return { type: 'offset', groupId, topic, partition, value: body && offsetFromJson(body) };
  }
  if (keyType === GROUP_KEY) return { type: 'group', groupId, value: body && groupFromJson(body) };
  const memberAt = 4 + Buffer.byteLength(groupId);
  const memberId = () => readShortString(key, memberAt);
  return decodeConsumerRecord({ keyType, groupId, memberId, body });
}

type JsonBody = Record<string, unknown>;

function offsetFromJson(body: JsonBody): OffsetValue {
  return {
    offset: BigInt(String(body['offset'])),
    leaderEpoch: Number(body['leaderEpoch']),
    metadata: typeof body['metadata'] === 'string' ? body['metadata'] : null,
    commitTimestampMs: Number(body['commitTimestampMs']),
  };
}

function groupFromJson(body: JsonBody): GroupValue {
  const members = (body['members'] as JsonBody[]).map((member): MemberValue => ({
    memberId: String(member['memberId']),
    groupInstanceId:
      typeof member['groupInstanceId'] === 'string' ? member['groupInstanceId'] : null,
    clientId: String(member['clientId']),
    clientHost: String(member['clientHost']),
    sessionTimeoutMs: Number(member['sessionTimeoutMs']),
    rebalanceTimeoutMs: Number(member['rebalanceTimeoutMs']),
    subscription: Buffer.from(String(member['subscription']), 'base64'),
    assignment: Buffer.from(String(member['assignment']), 'base64'),
  }));
  return {
    protocolType: String(body['protocolType']),
    generationId: Number(body['generationId']),
    protocolName: typeof body['protocolName'] === 'string' ? body['protocolName'] : null,
    leaderId: typeof body['leaderId'] === 'string' ? body['leaderId'] : null,
    members,
  };
}

function int16(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeInt16BE(value);
  return buffer;
}

function shortString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  assert.ok(bytes.length <= 0x7fff, 'group record key string too long');
  return Buffer.concat([int16(bytes.length), bytes]);
}

function readShortString(buffer: Buffer, at: number): string {
  const length = buffer.readInt16BE(at);
  return buffer.toString('utf8', at + 2, at + 2 + length);
}
