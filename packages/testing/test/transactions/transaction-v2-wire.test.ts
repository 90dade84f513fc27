/**
 * Transaction version 2 (KIP-890 part 2), as the Java client from Kafka 4.0 speaks it. No client
 * on this machine sends it (librdkafka, kafkajs and @platformatic/kafka stop at EndTxn v4), so
 * the requests are framed here with the protocol package's codecs over TCP, and what they leave
 * in the log is read back by a real client, librdkafka, at both isolation levels.
 *
 * The flow: ApiVersions finalizes transaction.version 2; Produce v12 adds partitions to the
 * transaction by itself; TxnOffsetCommit v5 adds the group by itself; EndTxn v5 bumps the epoch
 * and answers with it; a retried EndTxn v5 gets the same answer; the epoch before the bump is
 * fenced; a transaction left open is aborted by the next session after a restart.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startBroker } from '@tributary/broker';
import { KafkaConnection } from '@tributary/cli';
import {
  ErrorCode,
  apiVersionsApi,
  buildRecordBatch,
  endTxnApi,
  initProducerIdApi,
  offsetFetchApi,
  produceApi,
  txnOffsetCommitApi,
} from '@tributary/protocol';
import { runCommand, systemPython, tempDir } from '../../src/index.ts';

const reader = fileURLToPath(new URL('./python/read_topic.py', import.meta.url));
const topic = 'tv2';
const transactionalId = 'tv2-txn';

const retriable: ReadonlySet<number> = new Set([
  ErrorCode.CONCURRENT_TRANSACTIONS,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

interface Producer {
  producerId: bigint;
  producerEpoch: number;
}

function values(label: string, partition: number): string[] {
  return [0, 1].map((i) => `${label}-p${partition}-${i}`);
}

/** Produce v12 of two transactional records to one partition; the partition's error code. */
async function produce(
  connection: KafkaConnection,
  producer: Producer,
  partition: number,
  baseSequence: number,
  label: string,
): Promise<number> {
  const records = buildRecordBatch({
    records: values(label, partition).map((value) => ({ value: Buffer.from(value) })),
    producerId: producer.producerId,
    producerEpoch: producer.producerEpoch,
    baseSequence,
    isTransactional: true,
  });
  const response = await connection.request(produceApi, 12, {
    transactionalId,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  });
  return response.responses[0]?.partitionResponses[0]?.errorCode ?? -999;
}

async function endTxn(connection: KafkaConnection, producer: Producer, committed: boolean) {
  return connection.request(endTxnApi, 5, { transactionalId, ...producer, committed });
}

async function initProducer(connection: KafkaConnection): Promise<Producer> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const answer = await connection.request(initProducerIdApi, 5, {
      transactionalId,
      transactionTimeoutMs: 60_000,
      producerId: -1n,
      producerEpoch: -1,
    });
    if (answer.errorCode === ErrorCode.NONE) return answer;
    // Retriable: the previous session's abort is completing, or the coordinator is loading.
    assert.ok(retriable.has(answer.errorCode), `InitProducerId error ${answer.errorCode}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('InitProducerId kept answering with a retriable error');
}

async function readAll(bootstrap: string, isolation: string): Promise<string[]> {
  const run = await runCommand(systemPython, [reader, bootstrap, topic, '2', isolation], {
    timeoutMs: 60_000,
    env: { PYTHONDONTWRITEBYTECODE: '1' },
  });
  assert.equal(run.code, 0, run.stderr);
  return (JSON.parse(run.stdout.trim()) as { values: string[] }).values.toSorted();
}

test('transaction version 2 over the wire: implicit adds, an epoch bump per EndTxn', async (t) => {
  const dir = await tempDir('tv2');
  t.after(() => dir.remove());
  const options = { port: 0, host: '127.0.0.1', dataDir: dir.path, quiet: true } as const;
  let broker = await startBroker(options);
  let connection: KafkaConnection | undefined;
  try {
    await broker.storage.createTopic({ name: topic, partitionCount: 2, configs: {} });
    connection = await KafkaConnection.connect({ host: '127.0.0.1', port: broker.port });

    const versions = await connection.request(apiVersionsApi, 3, {
      clientSoftwareName: 'tv2-test',
      clientSoftwareVersion: '1',
    });
    const feature = versions.finalizedFeatures.find((f) => f.name === 'transaction.version');
    assert.deepEqual([feature?.minVersionLevel, feature?.maxVersionLevel], [2, 2]);
    assert.ok(versions.finalizedFeaturesEpoch >= 0n);
    const endTxnRange = versions.apiKeys.find((k) => k.apiKey === endTxnApi.apiKey);
    assert.equal(endTxnRange?.maxVersion, 5);

    const first = await initProducer(connection);
    assert.equal(first.producerEpoch, 0);

    // No AddPartitionsToTxn, no AddOffsetsToTxn: Produce v12 and TxnOffsetCommit v5 add them.
    assert.equal(await produce(connection, first, 0, 0, 'commit'), ErrorCode.NONE);
    assert.equal(await produce(connection, first, 1, 0, 'commit'), ErrorCode.NONE);
    const offsets = await connection.request(txnOffsetCommitApi, 5, {
      transactionalId,
      groupId: 'tv2-group',
      ...first,
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 42n }] }],
    });
    assert.equal(offsets.topics[0]?.partitions[0]?.errorCode, ErrorCode.NONE);

    const committed = await endTxn(connection, first, true);
    assert.equal(committed.errorCode, ErrorCode.NONE);
    assert.deepEqual([committed.producerId, committed.producerEpoch], [first.producerId, 1]);
    const retried = await endTxn(connection, first, true);
    assert.deepEqual(
      [retried.errorCode, retried.producerId, retried.producerEpoch],
      [ErrorCode.NONE, first.producerId, 1],
      'a retried EndTxn v5 gets the bumped epoch again',
    );
    assert.equal(
      await produce(connection, first, 0, 2, 'stale'),
      ErrorCode.INVALID_PRODUCER_EPOCH,
      'the epoch before the bump is fenced',
    );

    const second = { producerId: committed.producerId, producerEpoch: committed.producerEpoch };
    assert.equal(await produce(connection, second, 0, 0, 'abort'), ErrorCode.NONE);
    const aborted = await endTxn(connection, second, false);
    assert.deepEqual([aborted.errorCode, aborted.producerEpoch], [ErrorCode.NONE, 2]);

    const third = { producerId: aborted.producerId, producerEpoch: aborted.producerEpoch };
    assert.equal(await produce(connection, third, 1, 0, 'open'), ErrorCode.NONE);

    // KIP-447: a consumer identity that is no member of the group may not commit offsets.
    const ghost = await connection.request(txnOffsetCommitApi, 3, {
      transactionalId,
      groupId: 'tv2-group',
      ...third,
      generationId: 3,
      memberId: 'ghost',
      groupInstanceId: null,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 99n }] }],
    });
    assert.equal(ghost.topics[0]?.partitions[0]?.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);

    assert.deepEqual(await readAll(broker.bootstrap, 'read_committed'), [
      ...values('commit', 0),
      ...values('commit', 1),
    ]);

    // A restart with the third transaction open; the next session aborts it.
    connection.close();
    await broker.close();
    broker = await startBroker({ ...options, port: broker.port });
    connection = await KafkaConnection.connect({ host: '127.0.0.1', port: broker.port });
    const next = await initProducer(connection);
    assert.equal(next.producerId, first.producerId);
    assert.ok(next.producerEpoch > third.producerEpoch, 'the new session fenced the open one');

    assert.deepEqual(await readAll(broker.bootstrap, 'read_committed'), [
      ...values('commit', 0),
      ...values('commit', 1),
    ]);
    assert.deepEqual(
      await readAll(broker.bootstrap, 'read_uncommitted'),
      [
        ...values('commit', 0),
        ...values('commit', 1),
        ...values('abort', 0),
        ...values('open', 1),
      ].toSorted(),
    );
    const fetched = await connection.request(offsetFetchApi, 7, {
      groupId: 'tv2-group',
      topics: [{ name: topic, partitionIndexes: [0] }],
    });
    assert.equal(fetched.topics[0]?.partitions[0]?.committedOffset, 42n);
  } finally {
    connection?.close();
    await broker.close();
  }
});
