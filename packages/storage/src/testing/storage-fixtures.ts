/**
 * Fixtures the storage tests share: a temporary data directory, a partition by topic name, and
 * WAL bytes as format version 1 wrote them (to prove newer code still reads them).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { FrameType } from '../frame.ts';
import type { LogStorage } from '../log-storage.ts';
import type { PartitionLog } from '../partition-log.ts';
import { topicIdToBytes, type TopicId } from '../types.ts';

/** Runs `work` with a fresh temporary directory, removed afterwards whatever happens. */
export async function withTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-storage-'));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The partition `index` of topic `name`, which the test created. */
export function requirePartition(storage: LogStorage, name: string, index = 0): PartitionLog {
  const topic = storage.getTopic(name);
  assert.ok(topic !== undefined, `topic ${name}`);
  const log = storage.partition(topic.topicId, index);
  assert.ok(log !== undefined, `partition ${name}/${index}`);
  return log;
}

/** A frame as version 1 wrote it. */
function frameV1(type: number, body: Buffer): Buffer {
  const covered = Buffer.concat([Buffer.from([1, type]), body]);
  const prefix = Buffer.alloc(8);
  prefix.writeUInt32BE(covered.length, 0);
  prefix.writeUInt32BE(crc32c(covered) >>> 0, 4);
  return Buffer.concat([prefix, covered]);
}

/** A version-1 WAL segment holding one entry (48-byte entry header, no later fields). */
export function segmentV1(
  segmentId: number,
  topicId: TopicId,
  baseOffset: bigint,
  batch: Buffer,
): Buffer {
  const header = Buffer.alloc(20);
  header.write('TRBW', 0, 'latin1');
  header.writeBigUInt64BE(BigInt(segmentId), 4);
  const entry = Buffer.alloc(48);
  topicIdToBytes(topicId).copy(entry, 0);
  entry.writeBigInt64BE(baseOffset, 20);
  entry.writeInt32BE(1, 40);
  const first = frameV1(FrameType.segmentHeader, header);
  entry.writeUInt32BE(first.length, 44);
  batch.writeBigInt64BE(baseOffset, 0);
  return Buffer.concat([first, frameV1(FrameType.walEntry, Buffer.concat([entry, batch]))]);
}
