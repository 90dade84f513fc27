/**
 * Contract suite every WriteAheadLog passes: ordered durable appends, group commit, segment
 * rolls, recovery of what was written, a torn tail cut, and mid-segment corruption refused.
 * `make` opens a log over the same storage each time it is called with the same context.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StorageError } from './storage-error.ts';
import { fakeBatch, metaOf } from './testing/fake-batch.ts';
import { newTopicId } from './types.ts';
import type { WalSegmentInfo, WriteAheadLog } from './write-ahead-log.ts';

export interface WalHarness {
  /** A log over this harness's storage (the same storage on every call). */
  open(options?: { segmentMaxBytes?: number }): WriteAheadLog;
  /** Cuts segment `segmentId` to `length` bytes (simulating a torn write). */
  truncate(segmentId: number, length: number): Promise<void>;
  /** Flips one byte of segment `segmentId`. */
  flip(segmentId: number, position: number): Promise<void>;
  cleanup(): Promise<void>;
}

const topicId = newTopicId();

function entry(label: string, baseOffset: bigint, padBytes = 0) {
  const batch = fakeBatch(label, 1, padBytes);
  return { topicId, partition: 0, baseOffset, meta: metaOf(batch, 5n), batch };
}

async function recoverAll(harness: WalHarness): Promise<WalSegmentInfo[]> {
  const wal = harness.open();
  try {
    return await wal.recover();
  } finally {
    await wal.files.close();
  }
}

export function writeAheadLogContract(name: string, makeHarness: () => Promise<WalHarness>): void {
  describe(`WriteAheadLog contract: ${name}`, () => {
    it('appends in order and reads back each batch', async () => {
      const harness = await makeHarness();
      const wal = harness.open();
      await wal.recover();
      await wal.start(1);
      const infos = await Promise.all(
        Array.from({ length: 50 }, (_, i) => wal.append(entry(`b${i}`, BigInt(i)))),
      );
      for (const [i, info] of infos.entries()) {
        assert.equal(info.baseOffset, BigInt(i));
        const bytes = await wal.read(info.segmentId, info.position, info.sizeBytes);
        assert.equal(bytes.subarray(12).toString(), `b${i}`);
      }
      for (let i = 1; i < infos.length; i++) {
        assert.ok((infos[i]?.position ?? 0) > (infos[i - 1]?.position ?? 0));
      }
      await wal.close();
      await wal.files.close();
      const [segment] = await recoverAll(harness);
      assert.equal(segment?.entries.length, 50);
      assert.equal(segment?.entries[49]?.baseOffset, 49n);
      assert.equal(segment?.entries[3]?.maxTimestamp, 5n);
      await harness.cleanup();
    });

    it('rolls segments at the size limit and reports them sealed in order', async () => {
      const harness = await makeHarness();
      const wal = harness.open({ segmentMaxBytes: 1000 });
      await wal.recover();
      const sealed: number[] = [];
      wal.onSegmentSealed((segment) => sealed.push(segment.segmentId));
      await wal.start(7);
      for (let i = 0; i < 20; i++) await wal.append(entry(`x${i}`, BigInt(i), 200));
      await wal.close();
      await wal.files.close();
      assert.ok(sealed.length >= 3);
      assert.deepEqual(
        sealed,
        sealed.map((_, i) => 7 + i),
      );
      const segments = await recoverAll(harness);
      const offsets = segments.flatMap((segment) => segment.entries.map((e) => e.baseOffset));
      assert.deepEqual(
        offsets,
        Array.from({ length: 20 }, (_, i) => BigInt(i)),
      );
      await harness.cleanup();
    });

    it('cuts a torn tail at any point and keeps every whole entry before it', async () => {
      const harness = await makeHarness();
      const wal = harness.open();
      await wal.recover();
      await wal.start(1);
      const infos = [];
      for (let i = 0; i < 10; i++) infos.push(await wal.append(entry(`t${i}`, BigInt(i), 30)));
      await wal.close();
      await wal.files.close();
      const last = infos.at(-1);
      assert.ok(last !== undefined);
      // Cut inside the last entry: it was the last write, so it is a torn tail.
      await harness.truncate(1, last.position + 3);
      const [segment] = await recoverAll(harness);
      assert.equal(segment?.entries.length, 9);
      await harness.cleanup();
    });

    it('refuses to open when a corrupt entry is followed by later durable entries', async () => {
      const harness = await makeHarness();
      const wal = harness.open();
      await wal.recover();
      await wal.start(1);
      const first = await wal.append(entry('first', 0n));
      for (let i = 1; i < 5; i++) await wal.append(entry(`later${i}`, BigInt(i)));
      await wal.close();
      await wal.files.close();
      await harness.flip(1, first.position + 2);
      await assert.rejects(recoverAll(harness), (error: unknown) => {
        return error instanceof StorageError && error.code === 'CORRUPT_DATA';
      });
      await harness.cleanup();
    });

    it('covers concurrent appends with few syncs (group commit)', async () => {
      const harness = await makeHarness();
      const wal = harness.open();
      await wal.recover();
      await wal.start(1);
      const order: number[] = [];
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          wal.append(entry(`g${i}`, BigInt(i))).then(() => order.push(i)),
        ),
      );
      assert.deepEqual(
        order,
        Array.from({ length: 200 }, (_, i) => i),
      );
      await wal.close();
      await wal.files.close();
      await harness.cleanup();
    });

    it('rejects appends after close', async () => {
      const harness = await makeHarness();
      const wal = harness.open();
      await wal.recover();
      await wal.start(1);
      const pending = wal.append(entry('last', 0n));
      await wal.close();
      await pending;
      await assert.rejects(wal.append(entry('late', 1n)), { code: 'CLOSED' });
      await wal.files.close();
      await harness.cleanup();
    });
  });
}
