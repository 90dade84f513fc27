/**
 * Batches whose bytes the broker changes on the way in: a topic with message.timestamp.type
 * LogAppendTime gets the broker's clock in every batch (and a recomputed batch CRC), in every
 * codec. A librdkafka client reads them back before and after a restart of the broker on the
 * same data directory: the stored frames must still verify (their crc is derived from the batch
 * CRC the broker checked or rewrote) and carry the broker's timestamps, not the producer's.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startBroker } from '@tributary/broker';
import { createConfluentKafkaDriver, tempDir, type ProduceRecord } from '@tributary/testing';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.toReversed()) await cleanup();
});

const producerTimestamp = 1_000_000_000_000n; // 2001: far from the broker's clock
const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

function records(codec: string): ProduceRecord[] {
  return Array.from({ length: 20 }, (_, i) => ({
    partition: 0,
    key: Buffer.from(`${codec}-${i}`),
    value: Buffer.from(`value ${codec} ${i} `.repeat(20)),
    headers: [],
    timestamp: producerTimestamp,
  }));
}

test('LogAppendTime batches survive a restart with the broker timestamps', async () => {
  const dir = await tempDir('log-append-time');
  cleanups.push(() => dir.remove());
  const options = { port: 0, host: '127.0.0.1', dataDir: dir.path, quiet: true } as const;
  let broker = await startBroker(options);
  const before = BigInt(Date.now());
  let client = createConfluentKafkaDriver({ bootstrap: broker.bootstrap });
  await client.createTopic('appended', 1);
  await client.alterConfigs('appended', new Map([['message.timestamp.type', 'LogAppendTime']]));
  for (const codec of codecs)
    await client.produce('appended', records(codec), { compression: codec });
  const afterProduce = BigInt(Date.now());
  const expected = codecs.flatMap((codec) => records(codec).map((r) => r.value?.toString()));

  const check = async (label: string) => {
    const read = await client.consumeAll('appended', 1, expected.length);
    assert.deepEqual(
      read.map((r) => r.value?.toString()),
      expected,
      `${label}: every value, in order`,
    );
    for (const record of read) {
      assert.ok(
        record.timestamp >= before - 1000n && record.timestamp <= afterProduce + 1000n,
        `${label}: broker time, not the producer's (${record.timestamp})`,
      );
    }
  };
  await check('before the restart');
  await client.close();
  await broker.close();

  broker = await startBroker({ ...options, port: broker.port });
  cleanups.push(() => broker.close());
  client = createConfluentKafkaDriver({ bootstrap: broker.bootstrap });
  cleanups.push(() => client.close());
  await check('after the restart');
});
