import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WalEntryInfo } from './segment-format.ts';
import { rangesOf } from './segment-uploader.ts';
import { newTopicId, type TopicId } from './types.ts';

function entry(topicId: TopicId, partition: number, baseOffset: bigint, position: number) {
  return {
    topicId,
    partition,
    baseOffset,
    lastOffsetDelta: 1,
    maxTimestamp: baseOffset * 10n,
    recordCount: 2,
    producerId: -1n,
    producerEpoch: -1,
    baseSequence: -1,
    txn: undefined,
    entryVersion: 2,
    segmentId: 1,
    position,
    sizeBytes: 20,
  } satisfies WalEntryInfo;
}

describe('rangesOf', () => {
  it('spans each live partition from its first to its last entry, interleaved or not', () => {
    const [a, b] = [newTopicId(), newTopicId()];
    const entries = [
      entry(a, 0, 0n, 100),
      entry(a, 0, 2n, 200),
      entry(b, 0, 0n, 300),
      entry(a, 1, 0n, 400),
      entry(a, 0, 4n, 500),
      entry(b, 0, 2n, 600),
    ];
    const ranges = rangesOf(entries, (e) => e.partition === 0);
    assert.deepEqual(
      ranges.map((r) => [
        r.topicId,
        r.partition,
        r.baseOffset,
        r.lastOffset,
        r.position,
        r.sizeBytes,
      ]),
      [
        [a, 0, 0n, 5n, 100, 420],
        [b, 0, 0n, 3n, 300, 320],
      ],
    );
    assert.equal(ranges[0]?.maxTimestamp, 40n);
  });
});
