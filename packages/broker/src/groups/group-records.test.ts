// Round trips of the __consumer_offsets record codec (docs/FORMATS.md §9).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeGroupRecord,
  encodeGroupRecordKey,
  encodeGroupRecordValue,
  type GroupRecord,
} from './group-records.ts';

const roundTrip = (record: GroupRecord): GroupRecord =>
  decodeGroupRecord(encodeGroupRecordKey(record), encodeGroupRecordValue(record));

test('offset and group records, and their tombstones, round-trip', () => {
  const offset: GroupRecord = {
    type: 'offset',
    groupId: 'grüppe',
    topic: 'orders',
    partition: 7,
    value: { offset: 2n ** 62n, leaderEpoch: 3, metadata: null, commitTimestampMs: 1234 },
  };
  assert.deepEqual(roundTrip(offset), offset);
  assert.deepEqual(roundTrip({ ...offset, value: null }), { ...offset, value: null });
  const group: GroupRecord = {
    type: 'group',
    groupId: 'g',
    value: {
      protocolType: 'consumer',
      generationId: 4,
      protocolName: 'range',
      leaderId: 'm-1',
      members: [
        {
          memberId: 'm-1',
          groupInstanceId: 'pod-1',
          clientId: 'c',
          clientHost: '/127.0.0.1',
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 30_000,
          subscription: Buffer.from([0, 1, 2]),
          assignment: Buffer.from([3, 4]),
        },
      ],
    },
  };
  assert.deepEqual(roundTrip(group), group);
  assert.deepEqual(roundTrip({ type: 'group', groupId: 'g', value: null }), {
    type: 'group',
    groupId: 'g',
    value: null,
  });
});

function offsetKeyHex(groupId: string, topic: string, partition: number): string {
  return encodeGroupRecordKey({ type: 'offset', groupId, topic, partition, value: null }).toString(
    'hex',
  );
}

test('keys separate groups, topics and partitions so compaction keeps one per key', () => {
  const key = offsetKeyHex;
  const keys = new Set([key('a', 'bc', 0), key('ab', 'c', 0), key('a', 'bc', 1)]);
  assert.equal(keys.size, 3);
});

test('KIP-848 consumer group records round-trip with Kafka’s key numbers', () => {
  const records: GroupRecord[] = [
    {
      type: 'consumerGroup',
      groupId: 'g',
      value: {
        groupEpoch: 7,
        subscribedTopics: [
          { name: 'orders', topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitionCount: 6 },
        ],
      },
    },
    {
      type: 'consumerMember',
      groupId: 'g',
      memberId: 'm-1',
      value: {
        instanceId: 'pod-1',
        rackId: null,
        clientId: 'c',
        clientHost: '/127.0.0.1',
        rebalanceTimeoutMs: 30_000,
        subscribedTopicNames: ['orders'],
        subscribedTopicRegex: null,
        serverAssignor: 'range',
      },
    },
    { type: 'consumerTargetEpoch', groupId: 'g', value: { assignmentEpoch: 7 } },
    {
      type: 'consumerTarget',
      groupId: 'g',
      memberId: 'm-1',
      value: { partitions: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions: [0, 1] }] },
    },
    {
      type: 'consumerAssignment',
      groupId: 'g',
      memberId: 'm-1',
      value: {
        memberEpoch: 6,
        previousMemberEpoch: 5,
        state: 'UNREVOKED_PARTITIONS',
        assigned: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions: [0] }],
        pendingRevocation: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions: [2] }],
      },
    },
  ];
  for (const record of records) {
    assert.deepEqual(roundTrip(record), record);
    assert.deepEqual(roundTrip({ ...record, value: null }), { ...record, value: null });
  }
  const keyTypes = records.map((record) => encodeGroupRecordKey(record).readInt16BE(0));
  assert.deepEqual(keyTypes, [3, 5, 6, 7, 8]);
  // Member-keyed: i16 type, str group id, str member id.
  assert.equal(
    encodeGroupRecordKey(records[1] as GroupRecord).toString('hex'),
    '000500016700036d2d31',
  );
});
