import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { FrameType, encodeFrame, encodeFrameBuffer, readFrame } from './frame.ts';
import { scanSegment } from './segmented-write-ahead-log.ts';
import {
  decodeEntryHeader,
  encodeEntry,
  encodeSegmentHeader,
  entryBatchOffset,
  writeEntryHead,
} from './segment-format.ts';
import { StorageError } from './storage-error.ts';
import { fakeBatch, metaOf } from './testing/fake-batch.ts';
import { newTopicId, topicIdToBytes } from './types.ts';

describe('frame', () => {
  it('round-trips a body and rejects any single corrupted byte', () => {
    const frame = encodeFrameBuffer(FrameType.walEntry, Buffer.from('hello, frame'));
    const read = readFrame(frame, 0);
    assert.equal(read.kind, 'frame');
    assert.equal(read.kind === 'frame' && read.body.toString(), 'hello, frame');
    for (let i = 0; i < frame.length; i++) {
      const bad = Buffer.from(frame);
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      assert.equal(readFrame(bad, 0).kind, 'torn', `flip at ${i}`);
    }
    assert.equal(readFrame(frame.subarray(0, frame.length - 1), 0).kind, 'torn');
    assert.equal(readFrame(frame, frame.length).kind, 'end');
    assert.deepEqual(
      Buffer.concat(encodeFrame(FrameType.walEntry, [Buffer.from('hello, frame')])),
      frame,
    );
  });

  it('decoders never throw anything but StorageError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, isLast) => {
        const data = Buffer.from(bytes);
        readFrame(data, 0);
        try {
          scanSegment(1, data, isLast);
        } catch (error: unknown) {
          assert.ok(error instanceof StorageError, String(error));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('scanning a damaged real segment returns entries or throws CORRUPT_DATA', () => {
    const topicId = newTopicId();
    const parts = [encodeSegmentHeader(1, 0)];
    for (let i = 0; i < 6; i++) {
      const batch = fakeBatch(`e${i}`, 1, i * 5);
      const fields = {
        topicId,
        partition: 0,
        baseOffset: BigInt(i),
        ...metaOf(batch),
        producerId: BigInt(i),
        producerEpoch: 0,
        baseSequence: i,
        txn: { transactional: i % 2 === 0, control: i === 4, controlType: i === 4 ? 1 : -1 },
      };
      parts.push(...encodeEntry(fields, batch, 0));
    }
    const segment = Buffer.concat(parts);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(segment.length - 1), fc.integer({ min: 1, max: 255 })), {
          maxLength: 3,
        }),
        fc.nat(segment.length),
        fc.boolean(),
        (flips, cut, isLast) => {
          const data = Buffer.from(segment.subarray(0, Math.max(cut, 1)));
          for (const [at, mask] of flips) if (at < data.length) data[at] = (data[at] ?? 0) ^ mask;
          try {
            const scanned = scanSegment(1, data, isLast);
            for (const entry of scanned?.entries ?? []) assert.ok(entry.baseOffset < 6n);
          } catch (error: unknown) {
            assert.ok(
              error instanceof StorageError && error.code === 'CORRUPT_DATA',
              String(error),
            );
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('writes entry heads in place with the bytes of the documented entry frame', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.integer({ min: -1, max: 0x7fff }),
        fc.nat(0x7fff_ffff),
        fc.nat(200),
        fc.option(fc.tuple(fc.boolean(), fc.boolean(), fc.integer({ min: -2, max: 300 }))),
        (bytes, producerId, producerEpoch, syncedPosition, offset, flags) => {
          const batch = Buffer.from(bytes);
          const fields = {
            topicId: newTopicId(),
            partition: 7,
            baseOffset: producerId,
            lastOffsetDelta: 3,
            maxTimestamp: -producerId - 1n,
            recordCount: 4,
            producerId,
            producerEpoch,
            baseSequence: syncedPosition,
            txn:
              flags === null
                ? undefined
                : { transactional: flags[0], control: flags[1], controlType: flags[2] },
          };
          // The layout of docs/FORMATS.md, written out independently of writeEntryHead.
          const header = Buffer.alloc(64);
          topicIdToBytes(fields.topicId).copy(header, 0);
          header.writeUInt32BE(7, 16);
          header.writeBigInt64BE(producerId, 20);
          header.writeInt32BE(3, 28);
          header.writeBigInt64BE(-producerId - 1n, 32);
          header.writeInt32BE(4, 40);
          header.writeUInt32BE(syncedPosition, 44);
          header.writeBigInt64BE(producerId, 48);
          header.writeInt16BE(producerEpoch, 56);
          header.writeInt32BE(syncedPosition, 58);
          if (flags !== null) {
            // txnFlags: 1 recorded, 2 transactional, 4 control; controlType 255 = none.
            header.writeUInt8(1 | (flags[0] ? 2 : 0) | (flags[1] ? 4 : 0), 62);
            header.writeUInt8(flags[2] >= 0 && flags[2] < 255 ? flags[2] : 255, 63);
          }
          const expected = Buffer.concat(encodeFrame(FrameType.walEntry, [header, batch]));
          const heads = Buffer.alloc(offset + entryBatchOffset + 5, 0xee);
          writeEntryHead(heads, offset, fields, batch, syncedPosition);
          const head = heads.subarray(offset, offset + entryBatchOffset);
          assert.deepEqual(Buffer.concat([head, batch]), expected);
          assert.deepEqual(Buffer.concat(encodeEntry(fields, batch, syncedPosition)), expected);
          const decoded = decodeEntryHeader(expected.subarray(10), 2).txn;
          if (flags === null) assert.equal(decoded, undefined);
          else {
            const type = flags[2] >= 0 && flags[2] < 255 ? flags[2] : -1;
            assert.deepEqual(decoded, {
              transactional: flags[0],
              control: flags[1],
              controlType: flags[1] ? type : -1,
            });
          }
          if (batch.length >= 21) {
            // With a right batch CRC field, the derived frame crc gives the very same bytes.
            batch.writeUInt32BE(crc32c(batch.subarray(21)) >>> 0, 17);
            const withCrc = Buffer.concat(encodeFrame(FrameType.walEntry, [header, batch]));
            writeEntryHead(heads, offset, fields, batch, syncedPosition, true);
            assert.deepEqual(Buffer.concat([head, batch]), withCrc);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
