/**
 * Pipelined idempotent Produce requests on one connection, at the wire level: five batches sent
 * without waiting get consecutive offsets; a retry sent while its original is still in flight
 * waits for it and gets the same offset; a gap and an old epoch are refused; nothing is stored
 * twice.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type RunningBroker } from '@tributary/broker';
import { buildRecordBatch, ErrorCode } from '@tributary/protocol';
import {
  RawConnection,
  parseProduceResponse,
  produceBody,
  requestFrame,
} from '../faults/kafka-wire.ts';

const topic = 'pipelined';
const producerId = 1000n;
let broker: RunningBroker;

before(async () => {
  broker = await startBroker({ port: 0, host: '127.0.0.1', inMemory: true, quiet: true });
  await broker.storage.createTopic({ name: topic, partitionCount: 1, configs: {} });
});

after(async () => {
  await broker.close();
});

function batch(baseSequence: number, count: number, producerEpoch = 0): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({
    value: Buffer.from(`v${baseSequence + i}`),
    timestamp: BigInt(Date.now()),
  }));
  return buildRecordBatch({ records, producerId, producerEpoch, baseSequence });
}

/** Sends every batch as its own Produce v7 request without waiting, then reads the answers. */
async function pipeline(batches: readonly Buffer[]): Promise<[number, bigint][]> {
  const connection = await RawConnection.open('127.0.0.1', broker.port);
  try {
    const frames = batches.map((records, i) =>
      requestFrame({
        apiKey: 0,
        apiVersion: 7,
        correlationId: i,
        flexibleHeader: false,
        body: produceBody(7, { topic, partition: 0, records }),
      }),
    );
    await connection.write(Buffer.concat(frames));
    const answers: [number, bigint][] = [];
    for (let i = 0; i < batches.length; i++) {
      const outcome = await connection.next(10_000);
      assert.equal(outcome.kind, 'response');
      if (outcome.kind !== 'response') break;
      assert.equal(outcome.correlationId, i, 'responses come back in request order');
      const { errorCode, baseOffset } = parseProduceResponse(7, outcome.body);
      answers.push([errorCode, baseOffset]);
    }
    return answers;
  } finally {
    connection.destroy();
  }
}

test('pipelined batches, in-flight retries, gaps and old epochs', async () => {
  const answers = await pipeline([
    batch(0, 2),
    batch(2, 2),
    batch(2, 2), // retry of the previous one while it is still in flight
    batch(4, 1),
    batch(0, 2), // retry of the first
    batch(7, 1), // gap
  ]);
  assert.deepEqual(answers, [
    [ErrorCode.NONE, 0n],
    [ErrorCode.NONE, 2n],
    [ErrorCode.NONE, 2n],
    [ErrorCode.NONE, 4n],
    [ErrorCode.NONE, 0n],
    [ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, -1n],
  ]);
  const bumped = await pipeline([batch(3, 1, 1), batch(0, 1, 1), batch(5, 1, 0)]);
  assert.deepEqual(bumped, [
    [ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, -1n],
    [ErrorCode.NONE, 5n],
    [ErrorCode.INVALID_PRODUCER_EPOCH, -1n],
  ]);
  const topicId = broker.storage.getTopic(topic)?.topicId;
  assert.ok(topicId !== undefined);
  assert.equal(broker.storage.partition(topicId, 0)?.logEndOffset, 6n, 'nothing stored twice');
});
