import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FrameType, encodeFrame, encodeFrameBuffer, readFrame } from './frame.ts';
import { scanSegment } from './segmented-write-ahead-log.ts';
import { encodeEntry, encodeSegmentHeader } from './segment-format.ts';
import { StorageError } from './storage-error.ts';
import { fakeBatch, metaOf } from './testing/fake-batch.ts';
import { newTopicId } from './types.ts';

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
});
