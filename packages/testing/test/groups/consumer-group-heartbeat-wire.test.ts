// ConsumerGroupHeartbeat and ConsumerGroupDescribe on the wire, request by request, for what the
// client libraries do not exercise: v0's coordinator-chosen member ids, v1 regex subscriptions
// following created topics and added partitions, Kafka's error codes, and the other group APIs'
// view of a consumer group.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBroker } from '@tributary/broker';
import { KafkaConnection } from '@tributary/cli';
import {
  ErrorCode,
  consumerGroupDescribeApi,
  consumerGroupHeartbeatApi,
  createPartitionsApi,
  createTopicsApi,
  describeGroupsApi,
  joinGroupApi,
  listGroupsApi,
  metadataApi,
  offsetCommitApi,
  type ConsumerGroupHeartbeatRequestInit,
} from '@tributary/protocol';

async function createTopic(connection: KafkaConnection, name: string, partitions: number) {
  const response = await connection.request(createTopicsApi, 7, {
    topics: [
      { name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] },
    ],
    timeoutMs: 10_000,
  });
  assert.equal(response.topics[0]?.errorCode, ErrorCode.NONE);
}

async function topicId(connection: KafkaConnection, name: string): Promise<string> {
  const response = await connection.request(metadataApi, 12, {
    topics: [{ name }],
    allowAutoTopicCreation: false,
  });
  return response.topics[0]?.topicId ?? '';
}

function heartbeat(
  connection: KafkaConnection,
  body: ConsumerGroupHeartbeatRequestInit,
  version = 1,
) {
  return connection.request(consumerGroupHeartbeatApi, version, {
    groupId: 'g-wire',
    rebalanceTimeoutMs: -1,
    ...body,
  });
}

const join = {
  memberEpoch: 0,
  rebalanceTimeoutMs: 30_000,
  topicPartitions: [],
} as const;
const names = { subscribedTopicNames: ['wire-a'] };

test('ConsumerGroupHeartbeat over the wire: ids, regexes, topic changes and errors', async () => {
  const broker = await startBroker({ port: 0, quiet: true, inMemory: true });
  const connection = await KafkaConnection.connect({ host: '127.0.0.1', port: broker.port });
  try {
    await createTopic(connection, 'wire-a', 2);
    const idA = await topicId(connection, 'wire-a');

    // v0: the coordinator chooses the member id.
    const v0 = await heartbeat(
      connection,
      { ...join, groupId: 'g-v0', memberId: '', subscribedTopicNames: ['wire-a'] },
      0,
    );
    assert.equal(v0.errorCode, ErrorCode.NONE);
    assert.ok((v0.memberId ?? '').length > 0);
    assert.deepEqual(v0.assignment?.topicPartitions, [{ topicId: idA, partitions: [0, 1] }]);

    // v1: a regex subscription follows new topics and partitions.
    const first = await heartbeat(connection, {
      ...join,
      memberId: 'm1',
      subscribedTopicRegex: 'wire-.*',
    });
    assert.equal(first.memberEpoch, 1);
    assert.equal(first.heartbeatIntervalMs, 5_000);
    await createTopic(connection, 'wire-b', 1);
    await connection.request(createPartitionsApi, 3, {
      topics: [{ name: 'wire-a', count: 3, assignments: null }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    const grown = await heartbeat(connection, {
      memberId: 'm1',
      memberEpoch: 1,
      topicPartitions: [{ topicId: idA, partitions: [0, 1] }],
    });
    assert.equal(grown.memberEpoch, 2);
    const idB = await topicId(connection, 'wire-b');
    assert.deepEqual(
      grown.assignment?.topicPartitions?.toSorted((a, b) => a.topicId.localeCompare(b.topicId)),
      [
        { topicId: idA, partitions: [0, 1, 2] },
        { topicId: idB, partitions: [0] },
      ].toSorted((a, b) => a.topicId.localeCompare(b.topicId)),
    );

    const errors: [ConsumerGroupHeartbeatRequestInit, number][] = [
      [
        { ...join, ...names, memberId: 'x', serverAssignor: 'cooperative' },
        ErrorCode.UNSUPPORTED_ASSIGNOR,
      ],
      [{ ...join, memberId: 'x', subscribedTopicRegex: '[' }, ErrorCode.INVALID_REGULAR_EXPRESSION],
      [{ ...join, memberId: '', subscribedTopicNames: ['wire-a'] }, ErrorCode.INVALID_REQUEST],
      [{ memberId: 'm1', memberEpoch: 7, topicPartitions: [] }, ErrorCode.FENCED_MEMBER_EPOCH],
      [{ memberId: 'nobody', memberEpoch: 3 }, ErrorCode.UNKNOWN_MEMBER_ID],
      [{ memberId: 'nobody', memberEpoch: -1 }, ErrorCode.UNKNOWN_MEMBER_ID],
    ];
    for (const [body, expected] of errors) {
      const answer = await heartbeat(connection, body);
      assert.equal(answer.errorCode, expected, JSON.stringify(body));
      assert.ok((answer.errorMessage ?? '').length > 0, 'Kafka sends a message with the code');
    }

    // The other group APIs see a consumer group.
    const listed = await connection.request(listGroupsApi, 5, {
      statesFilter: [],
      typesFilter: ['consumer'],
    });
    assert.deepEqual(
      listed.groups.map((g) => [g.groupId, g.groupType, g.protocolType]).toSorted(),
      [
        ['g-v0', 'consumer', 'consumer'],
        ['g-wire', 'consumer', 'consumer'],
      ],
    );
    const classic = await connection.request(describeGroupsApi, 5, {
      groups: ['g-wire'],
      includeAuthorizedOperations: false,
    });
    assert.equal(classic.groups[0]?.groupState, 'Dead');
    const joinClassic = await connection.request(joinGroupApi, 5, {
      groupId: 'g-wire',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    });
    assert.equal(joinClassic.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const commit = (generationIdOrMemberEpoch: number) =>
      connection.request(offsetCommitApi, 9, {
        groupId: 'g-wire',
        generationIdOrMemberEpoch,
        memberId: 'm1',
        topics: [
          {
            name: 'wire-a',
            partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }],
          },
        ],
      });
    assert.equal((await commit(2)).topics[0]?.partitions[0]?.errorCode, ErrorCode.NONE);
    assert.equal(
      (await commit(1)).topics[0]?.partitions[0]?.errorCode,
      ErrorCode.STALE_MEMBER_EPOCH,
    );

    const described = await connection.request(consumerGroupDescribeApi, 1, {
      groupIds: ['g-wire', 'missing'],
      includeAuthorizedOperations: false,
    });
    const [group, missing] = described.groups;
    assert.equal(group?.groupState, 'Stable');
    assert.equal(group?.assignorName, 'uniform');
    assert.equal(group?.members[0]?.memberType, 1);
    assert.equal(group?.members[0]?.subscribedTopicRegex, 'wire-.*');
    assert.deepEqual(
      group?.members[0]?.assignment.topicPartitions.map((tp) => tp.topicName).toSorted(),
      ['wire-a', 'wire-b'],
    );
    assert.equal(missing?.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);

    const left = await heartbeat(connection, { memberId: 'm1', memberEpoch: -1 });
    assert.equal(left.memberEpoch, -1);
  } finally {
    connection.close();
    await broker.close();
  }
});
