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
