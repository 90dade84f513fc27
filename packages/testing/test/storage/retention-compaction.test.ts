/**
 * Retention and log compaction seen from a real client: a librdkafka producer and consumer
 * (python3-confluent-kafka) against an in-process broker whose storage seals small segments, so
 * the background work acts on data the client wrote and the client reads what is left.
 */
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startBroker } from '@tributary/broker';
import { createConfluentKafkaDriver, tempDir, type ProduceRecord } from '@tributary/testing';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.toReversed()) await cleanup();
});

function keyed(key: string, value: string): ProduceRecord {
  return { partition: 0, key: Buffer.from(key), value: Buffer.from(value), headers: [] };
}

test('compaction keeps the latest record per key, at its original offset', async () => {
  const broker = await startBroker({ port: 0, host: '127.0.0.1', inMemory: true, quiet: true });
  cleanups.push(() => broker.close());
  const client = createConfluentKafkaDriver({ bootstrap: broker.bootstrap });
  cleanups.push(() => client.close());
  await client.createTopic('compacted', 1);
  await client.alterConfigs(
    'compacted',
    new Map([
      ['cleanup.policy', 'compact'],
      ['min.cleanable.dirty.ratio', '0.01'],
    ]),
  );
  const keys = Array.from({ length: 10 }, (_, i) => `key-${i}`);
  for (let round = 0; round < 5; round++) {
    await client.produce(
      'compacted',
      keys.map((key) => keyed(key, `${key}@${round}`)),
      { compression: round % 2 === 0 ? 'gzip' : 'none' },
    );
  }
  await broker.storage.sealActiveSegment();
  await broker.storage.runRetention();

  const records = await client.consumeAll('compacted', 1, keys.length);
  assert.deepEqual(
    records.map((record) => record.value?.toString()),
    keys.map((key) => `${key}@4`),
  );
  // The survivors keep the offsets they were written at: the fifth round, offsets 40-49.
  assert.deepEqual(
    records.map((record) => record.offset),
    keys.map((_, i) => 40n + BigInt(i)),
  );
});

/**
 * Bytes under `path`. The broker moves sealed WAL segments into the object directory while this
 * walks, so a file listed may be gone by the time it is measured: it counts where it is found.
 */
async function directoryBytes(path: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) {
      total += await directoryBytes(child);
      continue;
    }
    total += await stat(child).then(
      (found) => found.size,
      (error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        throw error;
      },
    );
  }
  return total;
}

test('retention by bytes keeps the data directory bounded under steady produce', async () => {
  const dir = await tempDir('tributary-retention');
  cleanups.push(() => dir.remove());
  const broker = await startBroker({
    port: 0,
    host: '127.0.0.1',
    dataDir: dir.path,
    quiet: true,
    storage: { walSegmentMaxBytes: 128 * 1024, retentionCheckIntervalMs: 100 },
  });
  cleanups.push(() => broker.close());
  const client = createConfluentKafkaDriver({ bootstrap: broker.bootstrap });
  cleanups.push(() => client.close());
  await client.createTopic('bounded', 1);
  await client.alterConfigs('bounded', new Map([['retention.bytes', '200000']]));

  const value = 'x'.repeat(1000);
  const sizes: number[] = [];
  for (let round = 0; round < 12; round++) {
    const records = Array.from({ length: 200 }, (_, i) => keyed(`k${round}-${i}`, value));
    await client.produce('bounded', records, { compression: 'none' });
    await broker.storage.runRetention();
    sizes.push(await directoryBytes(dir.path));
  }
  // 2.4 MB were written; retention keeps ~200 KB of batches plus at most a few 128 KiB segments.
  const largest = Math.max(...sizes.slice(4));
  assert.ok(largest < 1_200_000, `data directory grew to ${largest} bytes: ${sizes.join(', ')}`);

  // At least retention.bytes stays (Kafka's rule), and what stays is readable from the start.
  const earliest = await client.listOffsetsByTimestamp('bounded', 0, 0n);
  assert.ok(earliest !== null && earliest > 0n, `log start offset should have moved: ${earliest}`);
  const remaining = await client.consumeAll('bounded', 1, Number(2400n - earliest));
  assert.equal(remaining[0]?.offset, earliest);
  assert.equal(remaining.at(-1)?.offset, 2399n);
  // Retention counts whole stored batches (about 1,030 bytes per record here), so at least
  // 200,000 bytes of batches means at least 190 of these records.
  assert.ok(remaining.length >= 190, `only ${remaining.length} records kept`);
});
