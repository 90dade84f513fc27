/**
 * The log over cluster mode's back ends (issue 12): a LogStorage whose objects go to S3
 * (SeaweedFS on loopback) and whose metadata goes to PostgreSQL keeps the log there, not on its
 * local disk. Once the batches are sealed, a second LogStorage on an empty data directory (a
 * broker with a fresh disk) reads every batch back, byte for byte at its offset, and its next
 * append continues after them. What cluster mode still lacks on top of this (leases with epochs,
 * the object WAL, several brokers) is in the issue; this proves the storage layer's half.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildRecordBatch, decodeRecords, readBatchHeader } from '@tributary/protocol';
import {
  LogStorage,
  PostgresMetadataStore,
  S3ObjectStore,
  type BatchMeta,
  type PartitionLog,
} from '@tributary/storage';
import {
  startPostgresServer,
  startS3Server,
  type PostgresServer,
  type S3Server,
} from '@tributary/testing';

const partitions = 2;
const batchesPerPartition = 25;
const recordsPerBatch = 3;
const maxDecompressedBytes = 1024 * 1024;

let postgres: PostgresServer;
let s3: S3Server;
const dirs: string[] = [];

before(async () => {
  [postgres, s3] = await Promise.all([startPostgresServer(), startS3Server()]);
});

after(async () => {
  await Promise.all([postgres?.stop(), s3?.stop()]);
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A LogStorage on a new, empty local directory over the shared PostgreSQL and bucket. */
async function openShared(): Promise<LogStorage> {
  const dataDir = await mkdtemp(join(tmpdir(), 'shared-log-'));
  dirs.push(dataDir);
  return LogStorage.open({
    dataDir,
    walSegmentMaxBytes: 4096,
    tailCacheMaxBytes: 0,
    metadataStore: await PostgresMetadataStore.open({ url: postgres.url }),
    objectStore: S3ObjectStore.fromUrl(s3.url(`shared-log-${process.pid}`), {
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    }),
  });
}

function partitionOf(storage: LogStorage, partition: number): PartitionLog {
  const topic = storage.getTopic('orders');
  assert.ok(topic !== undefined, 'topic orders is known');
  const log = storage.partition(topic.topicId, partition);
  assert.ok(log !== undefined, `partition ${partition} is known`);
  return log;
}

function batchOf(partition: number, index: number): { batch: Buffer; meta: BatchMeta } {
  const records = Array.from({ length: recordsPerBatch }, (_, record) => ({
    key: Buffer.from(`key-${record}`),
    value: Buffer.from(`p${partition}-b${index}-r${record}`),
    timestamp: 1_700_000_000_000n + BigInt(index),
  }));
  const batch = buildRecordBatch({ records, compression: index % 2 === 0 ? 'none' : 'zstd' });
  const header = readBatchHeader(batch);
  return {
    batch,
    meta: {
      lastOffsetDelta: header.lastOffsetDelta,
      maxTimestamp: header.maxTimestamp,
      recordCount: header.recordCount,
    },
  };
}

/** Every record value of a partition, read batch by batch from offset 0 to the high watermark. */
async function readValues(log: PartitionLog): Promise<string[]> {
  const values: string[] = [];
  let offset = log.logStartOffset;
  while (offset < log.highWatermark) {
    const batches = await log.read(offset, 64 * 1024);
    assert.ok(batches.length > 0, `no batch at offset ${offset}`);
    for (const batch of batches) {
      const records = decodeRecords(batch, { maxDecompressedBytes });
      for (const record of records) {
        assert.equal(record.offset, offset, 'offsets are contiguous');
        values.push(record.value?.toString() ?? 'null');
        offset += 1n;
      }
    }
  }
  return values;
}

test('sealed batches live in S3 and PostgreSQL: a broker with an empty disk reads them', async () => {
  const first = await openShared();
  await first.createTopic({ name: 'orders', partitionCount: partitions });
  const expected: string[][] = Array.from({ length: partitions }, () => []);
  for (let index = 0; index < batchesPerPartition; index++) {
    for (let partition = 0; partition < partitions; partition++) {
      const { batch, meta } = batchOf(partition, index);
      const { baseOffset } = await partitionOf(first, partition).append(batch, meta);
      assert.equal(baseOffset, BigInt(index * recordsPerBatch));
      for (let record = 0; record < recordsPerBatch; record++) {
        expected[partition]?.push(`p${partition}-b${index}-r${record}`);
      }
    }
  }
  await first.sealActiveSegment();
  assert.ok(first.stats().objectCount > 1, 'segments became objects');
  await first.close();

  const second = await openShared();
  for (let partition = 0; partition < partitions; partition++) {
    const log = partitionOf(second, partition);
    assert.equal(log.highWatermark, BigInt(batchesPerPartition * recordsPerBatch));
    assert.deepEqual(await readValues(log), expected[partition], `partition ${partition}`);
  }
  const next = batchOf(0, batchesPerPartition);
  const { baseOffset } = await partitionOf(second, 0).append(next.batch, next.meta);
  assert.equal(baseOffset, BigInt(batchesPerPartition * recordsPerBatch), 'appends continue');
  await second.close();
});
