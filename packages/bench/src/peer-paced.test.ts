import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  payloadStamp,
  percentiles,
  runPacedLanes,
  stampedPayload,
  windowP99s,
  type LaneAcks,
} from './peer-paced.ts';
import { median } from './latency-summary.ts';

test('stampedPayload keeps the record size and round-trips the intended time', () => {
  const payload = stampedPayload(12345.678, 1024);
  assert.equal(payload.length, 1024);
  assert.equal(payloadStamp(payload), 12345.678);
});

test('percentiles include p99.9 and max', () => {
  const samples = Array.from({ length: 1000 }, (_, index) => index + 1);
  const summary = percentiles(samples);
  assert.equal(summary.samples, 1000);
  assert.equal(summary.p50, 501);
  assert.equal(summary.p999, 999);
  assert.equal(summary.max, 1000);
});

test('runPacedLanes sends every lane its share on schedule and times acks from intent', async () => {
  const seen: Array<{ lane: number; seq: number; stamp: number }> = [];
  const lanes = [0, 1].map((lane) => (acks: LaneAcks) => ({
    send: (items: ReadonlyArray<{ seq: number; payload: string }>) => {
      for (const item of items) {
        seen.push({ lane, seq: item.seq, stamp: payloadStamp(item.payload) });
        // Lane 1 fails its first message; everything else is acked at once.
        if (lane === 1 && item.seq === 0) acks.failed();
        else acks.acked(item.seq);
      }
    },
  }));
  const result = await runPacedLanes(lanes, { ratePerLane: 100, seconds: 0.1, valueBytes: 32 });
  assert.equal(result.sent, 20);
  assert.equal(result.acked, 19);
  assert.equal(result.errors, 1);
  assert.equal(result.samples.length, 19);
  const lane1 = seen.filter((entry) => entry.lane === 1).map((entry) => entry.stamp);
  const lane0 = seen.filter((entry) => entry.lane === 0).map((entry) => entry.stamp);
  // 10 ms apart within a lane; lane 1 is offset by half an interval.
  assert.ok(Math.abs((lane0[1] ?? 0) - (lane0[0] ?? 0) - 10) < 0.01);
  assert.ok(Math.abs((lane1[0] ?? 0) - (lane0[0] ?? 0) - 5) < 0.01);
  assert.ok(result.samples.every(([, ms]) => ms >= 0));
});

test('runPacedLanes sends through the warm-up but leaves its answers out of the figures', async () => {
  const stamps: number[] = [];
  const lane = (acks: LaneAcks) => ({
    send: (items: ReadonlyArray<{ seq: number; payload: string }>) => {
      for (const item of items) {
        stamps.push(payloadStamp(item.payload));
        acks.acked(item.seq);
      }
    },
  });
  const result = await runPacedLanes([lane], {
    ratePerLane: 100,
    seconds: 0.1,
    warmupSeconds: 0.05,
    valueBytes: 32,
  });
  assert.equal(stamps.length, 15);
  assert.equal(result.sent, 15);
  assert.equal(result.acked, 10);
  // The measured answers are the last 10 sent: intended from 50 ms after the first send on.
  const firstSent = Math.min(...stamps);
  assert.ok(result.samples.every(([intended]) => intended >= firstSent + 50 - 0.01));
});

test('windowP99s splits the samples by intended send time into equal windows', () => {
  const samples: Array<[number, number]> = [];
  for (let i = 0; i < 200; i++) samples.push([1000 + i * 10, i >= 100 ? 50 : 2]);
  // A sample at the very end of the span lands in the last window, not a fourth one.
  samples.push([4000, 7]);
  assert.deepEqual(windowP99s(samples, 1000, 3000, 3), [2, 50, 7]);
  assert.deepEqual(windowP99s([], 0, 1000, 2), [0, 0]);
});

test('median of window p99s', () => {
  assert.equal(median([17.3, 5.1, 4.8]), 5.1);
  assert.equal(median([4, 2]), 3);
  assert.equal(median([]), 0);
});
