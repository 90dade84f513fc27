/**
 * A retry that crosses a broker SIGKILL is still deduplicated: the producer state is rebuilt
 * from the producer numbers stored with every batch. The test speaks the wire directly (a real
 * client would re-initialise its producer id after so long a pause), resending byte-identical
 * batches that were acknowledged before the kill, on a broker run through the real CLI.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildRecordBatch, ErrorCode } from '@tributary/protocol';
import { Kafka, logLevel } from 'kafkajs';
import { RestartableBroker } from '../../src/index.ts';
import {
  ByteReader,
  ByteWriter,
  RawConnection,
  parseProduceResponse,
  produceBody,
  requestFrame,
} from '../faults/kafka-wire.ts';

const topic = 'restart-dedup';
const dataDir = mkdtempSync(join(tmpdir(), 'tributary-idempotence-'));
const broker = new RestartableBroker({ dataDir });
let correlationId = 0;

after(async () => {
  await broker.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

async function call(apiKey: number, apiVersion: number, body: Buffer): Promise<Buffer> {
  const connection = await RawConnection.open('127.0.0.1', broker.port);
  try {
    correlationId += 1;
    const frame = requestFrame({ apiKey, apiVersion, correlationId, flexibleHeader: false, body });
    await connection.write(frame);
    const outcome = await connection.next(10_000);
    assert.equal(outcome.kind, 'response', `no response to api ${apiKey}`);
    return outcome.kind === 'response' ? outcome.body : Buffer.alloc(0);
  } finally {
    connection.destroy();
  }
}

async function initProducerId(): Promise<bigint> {
  const body = await call(22, 0, new ByteWriter().string(null).int32(60_000).build());
  const reader = new ByteReader(body);
  reader.int32();
  assert.equal(reader.int16(), ErrorCode.NONE);
  const producerId = reader.int64();
  assert.equal(reader.int16(), 0, 'a new producer id starts at epoch 0');
  return producerId;
}

function idempotentBatch(producerId: bigint, baseSequence: number, count: number): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({
    value: Buffer.from(`seq-${baseSequence + i}`),
    timestamp: BigInt(Date.now()),
  }));
  return buildRecordBatch({ records, producerId, producerEpoch: 0, baseSequence });
}

async function produce(batch: Buffer): Promise<{ errorCode: number; baseOffset: bigint }> {
  const body = await call(0, 7, produceBody(7, { topic, partition: 0, records: batch }));
  const { errorCode, baseOffset } = parseProduceResponse(7, body);
  return { errorCode, baseOffset };
}

test('a retry of an acknowledged batch after SIGKILL gets its original offset', async () => {
  await broker.start();
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();

  const producerId = await initProducerId();
  const first = idempotentBatch(producerId, 0, 3);
  const second = idempotentBatch(producerId, 3, 2);
  assert.deepEqual(await produce(first), { errorCode: 0, baseOffset: 0n });
  assert.deepEqual(await produce(second), { errorCode: 0, baseOffset: 3n });
  assert.equal((await produce(second)).baseOffset, 3n, 'a retry before the crash');

  await broker.kill();
  await broker.start();

  assert.deepEqual(await produce(second), { errorCode: 0, baseOffset: 3n });
  assert.deepEqual(await produce(first), { errorCode: 0, baseOffset: 0n });
  const gap = await produce(idempotentBatch(producerId, 9, 1));
  assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.deepEqual(await produce(idempotentBatch(producerId, 5, 1)), {
    errorCode: 0,
    baseOffset: 5n,
  });
  const next = await initProducerId();
  assert.ok(next > producerId, `producer id ${next} reused after restart (had ${producerId})`);
});
