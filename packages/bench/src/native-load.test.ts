/**
 * The C load generator against an in-process broker: records it produces come back, counted
 * and sized exactly, through a consumer group and through a plain assignment of every partition.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type RunningBroker } from '@tributary/broker';
import {
  buildFailureMessage,
  startNativeConsume,
  startNativeProduce,
  type NativeConsumeResult,
} from './native-load.ts';

const records = 20_000;
const size = 100;
let broker: RunningBroker;

before(async () => {
  broker = await startBroker({
    port: 0,
    host: '127.0.0.1',
    inMemory: true,
    quiet: true,
    config: { numPartitions: 3 },
  });
});

after(async () => {
  await broker.close();
});

test('produce, then consume back in group mode and in assign mode', async () => {
  const topic = 'native-load';
  const bootstrap = broker.bootstrap;
  const produced = await (await startNativeProduce({ bootstrap, topic, records, size })).result;
  assert.equal(produced.errors, 0, produced.firstError ?? '');
  assert.equal(produced.acked, records);
  assert.equal(produced.ackMs.samples, records);
  assert.ok(produced.ackMs.p50 > 0 && produced.ackMs.p50 <= produced.ackMs.p99);
  // Its own CPU time, which the produce workload's CPU ceiling note divides by the bytes sent.
  assert.ok(produced.cpuSeconds !== undefined && produced.cpuSeconds > 0, 'cpu_s reported');

  const expected = { records, bytes: records * size, errors: 0 };
  const grouped = await (
    await startNativeConsume({ bootstrap, topic, group: 'native-load-group', records })
  ).result;
  assert.deepEqual(pick(grouped), { ...expected, assignment: 'group', stopped: 'records' });
  assert.ok(grouped.firstNs >= grouped.startNs && grouped.lastNs >= grouped.firstNs);
  assert.ok(grouped.lastNs >= grouped.firstNs && grouped.firstNs > 0n);

  // Without a record limit the assign-mode reader stops when the topic has nothing more.
  const assigned = await (await startNativeConsume({ bootstrap, topic, idleMs: 1500 })).result;
  assert.deepEqual(pick(assigned), { ...expected, assignment: 'assign', stopped: 'idle' });
});

test('paced produce measures every ack from its due time', async () => {
  const run = await startNativeProduce({
    bootstrap: broker.bootstrap,
    topic: 'native-load-paced',
    records: 400,
    size: 512,
    ratePerSecond: 1000,
    lingerMs: 1,
  });
  const paced = await run.result;
  assert.equal(paced.acked, 400);
  // 400 records due over 0.4 s: pacing holds the run to at least that long.
  assert.ok(paced.elapsedSeconds >= 0.399, `elapsed ${paced.elapsedSeconds}`);
  const consumed = await (
    await startNativeConsume({
      bootstrap: broker.bootstrap,
      topic: 'native-load-paced',
      group: 'paced-readers',
      records: 400,
      isolation: 'read_uncommitted',
    })
  ).result;
  assert.equal(consumed.bytes, 400 * 512);
});

test('a paced produce with a warm-up sends it all but measures only what follows', async () => {
  let measuringAt: bigint | undefined;
  const run = await startNativeProduce({
    bootstrap: broker.bootstrap,
    topic: 'native-load-warmup',
    records: 300,
    warmupRecords: 200,
    onMeasuring: () => {
      measuringAt = process.hrtime.bigint();
    },
    size: 256,
    ratePerSecond: 1000,
    producers: 2,
    lingerMs: 0,
  });
  const paced = await run.result;
  assert.equal(paced.errors, 0, paced.firstError ?? '');
  assert.equal(paced.acked, 300);
  assert.equal(paced.ackMs.samples, 300);
  // The measured 300 records are due over 0.3 s; the 200 before them are in no figure.
  assert.ok(paced.elapsedSeconds >= 0.299, `elapsed ${paced.elapsedSeconds}`);
  assert.ok(measuringAt !== undefined, 'the warm-up end was announced');
  const consumed = await (
    await startNativeConsume({
      bootstrap: broker.bootstrap,
      topic: 'native-load-warmup',
      records: 500,
      idleMs: 3000,
    })
  ).result;
  assert.equal(consumed.records, 500, 'the warm-up records were produced too');
});

test('stamped records give the consumer their end-to-end latency', async () => {
  const topic = 'native-load-stamped';
  // Assign mode reads the partitions from metadata: the topic must exist first.
  await broker.storage.createTopic({ name: topic, partitionCount: 1, configs: {} });
  const reader = await startNativeConsume({
    bootstrap: broker.bootstrap,
    topic,
    records: 300,
    stamped: true,
    idleMs: 20_000,
  });
  const writer = await startNativeProduce({
    bootstrap: broker.bootstrap,
    topic,
    records: 300,
    size: 64,
    ratePerSecond: 1000,
    lingerMs: 1,
    stamped: true,
  });
  assert.equal((await writer.result).acked, 300);
  const read = await reader.result;
  assert.equal(read.records, 300);
  const e2e = read.e2eMs;
  assert.ok(e2e !== undefined && e2e.samples === 300, 'one latency sample per record');
  // Received after it was due, and not absurdly later on a local broker.
  assert.ok(e2e.p50 > 0 && e2e.max < 30_000, `e2e ${JSON.stringify(e2e)}`);
});

test('a missing librdkafka header or library names the package to install', () => {
  const header = 't.c:1:10: fatal error: librdkafka/rdkafka.h: No such file or directory';
  const library = '/usr/bin/ld: cannot find -lrdkafka: No such file or directory';
  assert.match(buildFailureMessage(header), /apt-get install librdkafka-dev/);
  assert.match(buildFailureMessage(library), /apt-get install librdkafka-dev/);
  assert.doesNotMatch(buildFailureMessage("t.c:3: error: expected ';'"), /librdkafka-dev/);
});

function pick(result: NativeConsumeResult): Record<string, unknown> {
  const { assignment, stopped, bytes, errors } = result;
  return { records: result.records, bytes, errors, assignment, stopped };
}
