/**
 * Contract suite every WriteAheadLog passes: ordered durable appends, group commit (one durable
 * operation per group, no append resolved before it), segment rolls, recovery of what was
 * written, a torn tail cut and counted, and damage to acknowledged data refused, in the middle
 * of a segment and in its last write group alike. `make` opens a log over the same storage each
 * time it is called with the same context.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeEntry } from './segment-format.ts';
import { StorageError } from './storage-error.ts';
import type { DurabilityProbe } from './testing/durability-probe.ts';
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
  /** Appends raw bytes to segment `segmentId` (simulating an unacknowledged torn write). */
  appendBytes(segmentId: number, bytes: Buffer): Promise<void>;
  /** What the storage underneath saw made durable (kernel-checked for real files). */
  readonly durability: DurabilityProbe;
  cleanup(): Promise<void>;
}

const topicId = newTopicId();
const noProducer = { producerId: -1n, producerEpoch: -1, baseSequence: -1, txn: undefined };

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

    it('cuts a torn tail after the acknowledged entries, keeps them all and counts it', async () => {
      const harness = await makeHarness();
      const wal = harness.open();
      await wal.recover();
      await wal.start(1);
      for (let i = 0; i < 10; i++) await wal.append(entry(`t${i}`, BigInt(i), 30));
      await wal.close();
      await wal.files.close();
      // An eleventh write that a crash cut short: never acknowledged, so it goes.
      const { batch, meta, topicId: id } = entry('torn', 10n, 30);
      const frame = Buffer.concat(
        encodeEntry(
          { ...meta, ...noProducer, topicId: id, partition: 0, baseOffset: 10n },
          batch,
          0,
        ),
      );
      await harness.appendBytes(1, frame.subarray(0, frame.length - 7));
      const reopened = harness.open();
      const [segment] = await reopened.recover();
      await reopened.files.close();
      assert.equal(segment?.entries.length, 10);
      const stats = reopened.stats();
      assert.equal(stats.tornTailsCut, 1);
      assert.equal(stats.tornTailBytesCut, frame.length - 7);
      assert.equal(stats.tornTailRecordsCut, 1);
      await harness.cleanup();
    });

    for (const damage of ['cut', 'flip'] as const) {
      it(`refuses to open when the last acknowledged entry is damaged (${damage})`, async () => {
        const harness = await makeHarness();
        const wal = harness.open();
        await wal.recover();
        await wal.start(1);
        for (let i = 0; i < 9; i++) await wal.append(entry(`a${i}`, BigInt(i), 30));
        // The last write group: nothing written after it proves it synced but the sync point.
        const last = await wal.append(entry('last', 9n, 30));
        await wal.close();
        await wal.files.close();
        if (damage === 'cut') await harness.truncate(1, last.position + 3);
        else await harness.flip(1, last.position + last.sizeBytes - 2);
        await assert.rejects(recoverAll(harness), (error: unknown) => {
          return error instanceof StorageError && error.code === 'CORRUPT_DATA';
        });
        await harness.cleanup();
      });
    }

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

    it('covers concurrent appends with one durable operation (group commit)', async () => {
      const harness = await makeHarness();
      const { durability } = harness;
      const wal = harness.open();
      await wal.recover();
      await wal.start(1);
      const opsBefore = durability.durableOps(1);
      const order: number[] = [];
      const notDurable: number[] = [];
      // Appended in one tick: one write group.
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          wal.append(entry(`g${i}`, BigInt(i))).then((info) => {
            if (durability.durableEnd(info.segmentId) < info.position + info.sizeBytes) {
              notDurable.push(i);
            }
            order.push(i);
          }),
        ),
      );
      assert.deepEqual(notDurable, [], 'appends resolved before their bytes were durable');
      assert.equal(durability.durableOps(1) - opsBefore, 1, 'one durable operation per group');
      assert.deepEqual(
        order,
        Array.from({ length: 200 }, (_, i) => i),
      );
      // One at a time, each append is its own group with its own durable operation.
      const opsBeforeSerial = durability.durableOps(1);
      for (let i = 200; i < 205; i++) {
        const info = await wal.append(entry(`s${i}`, BigInt(i)));
        assert.ok(durability.durableEnd(1) >= info.position + info.sizeBytes, `append ${i}`);
      }
      assert.equal(durability.durableOps(1) - opsBeforeSerial, 5);
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
