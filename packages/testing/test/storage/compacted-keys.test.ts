/**
 * A compacted topic refuses records without a key, as Kafka does: INVALID_RECORD for the
 * partition with one RecordError per keyless record (its index in the batch), and nothing of the
 * refused batch is stored. Seen from @platformatic/kafka (Produce v9+, which returns the record
 * errors), from librdkafka (python3-confluent-kafka, uncompressed and compressed batches), and by
 * reading the partition back.
 *
 * librdkafka gets each produce command's records into one batch (confluent_kafka_driver.py learns
 * the partitions first); a refusal that reports some of them delivered means the client split the
 * batch, not that the broker stored part of one.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Admin, Producer, ResponseError, stringSerializers } from '@platformatic/kafka';
import { startBroker, type RunningBroker } from '@tributary/broker';
import { readBatchHeader, type CompressionType } from '@tributary/protocol';
import {
  createConfluentKafkaDriver,
  type ClientDriver,
  type ProduceRecord,
} from '@tributary/testing';

const compacted = 'compacted-keys';
const plain = 'plain-keys';
let broker: RunningBroker;
let librdkafka: ClientDriver;

before(async () => {
  broker = await startBroker({ port: 0, host: '127.0.0.1', inMemory: true, quiet: true });
  librdkafka = createConfluentKafkaDriver({ bootstrap: broker.bootstrap });
  const admin = new Admin({ clientId: 'compacted-admin', bootstrapBrokers: [broker.bootstrap] });
  try {
    await admin.createTopics({
      topics: [compacted],
      partitions: 1,
      replicas: 1,
      configs: [{ name: 'cleanup.policy', value: 'compact,delete' }],
    });
    await admin.createTopics({ topics: [plain], partitions: 1, replicas: 1 });
  } finally {
    await admin.close();
  }
});

after(async () => {
  await librdkafka.close();
  await broker.close();
});

/** Enough for the one small batch storedCompression reads. */
const batchReadMaxBytes = 1024 * 1024;

function partitionLog(topic: string) {
  const topicRecord = broker.storage.getTopic(topic);
  assert.ok(topicRecord !== undefined, `no topic ${topic}`);
  const log = broker.storage.partition(topicRecord.topicId, 0);
  assert.ok(log !== undefined);
  return log;
}

function logEndOffset(topic: string): bigint {
  return partitionLog(topic).logEndOffset;
}

/** The codec of the batch stored at `offset`: the broker keeps the producer's batch bytes. */
async function storedCompression(topic: string, offset: bigint): Promise<CompressionType> {
  const [batch] = await partitionLog(topic).read(offset, batchReadMaxBytes);
  assert.ok(batch !== undefined, `no batch at offset ${offset}`);
  return readBatchHeader(batch).compression;
}

function record(key: string | null, value: string): ProduceRecord {
  return {
    partition: 0,
    key: key === null ? null : Buffer.from(key),
    value: Buffer.from(value),
    headers: [],
  };
}

interface PartitionResponse {
  errorCode: number;
  errorMessage: string | null;
  recordErrors: { batchIndex: number; batchIndexErrorMessage: string | null }[];
}

/** The Produce response inside the producer's error (a MultipleErrors around a ResponseError). */
function partitionResponseOf(failure: unknown): PartitionResponse {
  const nested = (failure as { errors?: unknown[] }).errors ?? [];
  const error = [failure, ...nested].find((candidate) => candidate instanceof ResponseError);
  assert.ok(error instanceof ResponseError, `expected a ResponseError, got ${String(failure)}`);
  const response = error.response as {
    responses: { partitionResponses: PartitionResponse[] }[];
  };
  const partition = response.responses[0]?.partitionResponses[0];
  assert.ok(partition !== undefined, 'no partition response');
  return partition;
}

test('@platformatic/kafka sees INVALID_RECORD with the index of each keyless record', async () => {
  const producer = new Producer({
    clientId: 'compacted-producer',
    bootstrapBrokers: [broker.bootstrap],
    serializers: stringSerializers,
    retries: 0,
  });
  try {
    await producer.send({
      messages: [{ topic: compacted, key: 'k0', value: 'kept', partition: 0 }],
    });
    const offsetBefore = logEndOffset(compacted);
    const messages = [
      { topic: compacted, key: 'k1', value: 'a', partition: 0 },
      { topic: compacted, value: 'no key', partition: 0 },
      { topic: compacted, key: 'k2', value: 'b', partition: 0 },
      { topic: compacted, value: 'no key either', partition: 0 },
    ];
    const failure = await producer.send({ messages }).then(
      () => assert.fail('a keyless record was accepted by a compacted topic'),
      (error: unknown) => error,
    );
    const partition = partitionResponseOf(failure);
    assert.equal(partition.errorCode, 87, 'INVALID_RECORD');
    assert.deepEqual(
      partition.recordErrors.map((error) => error.batchIndex),
      [1, 3],
    );
    for (const error of partition.recordErrors) {
      assert.equal(
        error.batchIndexErrorMessage,
        `Compacted topic cannot accept message without key in topic partition ${compacted}-0`,
      );
    }
    assert.match(partition.errorMessage ?? '', /rejected due to 2 record errors/);
    assert.equal(logEndOffset(compacted), offsetBefore, 'part of the refused batch was stored');
  } finally {
    await producer.close();
  }
});

/**
 * librdkafka sends a batch uncompressed when compression does not make it smaller, as with a few
 * tiny records: a long, repetitive key makes the zstd batches really zstd.
 */
const compressibleKey = 'key-'.repeat(32);

for (const compression of ['none', 'zstd'] as const) {
  test(`librdkafka (${compression}) gets INVALID_RECORD and nothing is stored`, async () => {
    const offsetBefore = logEndOffset(compacted);
    const refused = [record(compressibleKey, 'keyed'), record(null, 'keyless')];
    await assert.rejects(
      librdkafka.produce(compacted, refused, { compression }),
      // One batch, refused whole: neither record is reported delivered.
      /\(0 of 2 records delivered\).*INVALID_RECORD/,
    );
    assert.equal(logEndOffset(compacted), offsetBefore);
    // An all-keyed batch right after is stored at the next offset, and it is all there is.
    await librdkafka.produce(compacted, [record(compressibleKey, 'after')], { compression });
    assert.equal(logEndOffset(compacted), offsetBefore + 1n);
    assert.equal(await storedCompression(compacted, offsetBefore), compression);
  });
}

test('the compacted partition holds only keyed records; a plain topic takes any', async () => {
  const stored = await librdkafka.consumeAll(compacted, 1, 3);
  assert.deepEqual(
    stored.map((consumed) => consumed.value?.toString()),
    ['kept', 'after', 'after'],
  );
  await librdkafka.produce(plain, [record(null, 'keyless is fine here')], { compression: 'none' });
  assert.equal(logEndOffset(plain), 1n);
});
