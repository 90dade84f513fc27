/**
 * queued.max.request.bytes (docs/adr/0015): ten sockets each announce a 40 MiB frame and stream
 * its bytes into one broker process whose request memory budget is 64 MiB. The broker reads at
 * most the budget at a time and pauses the other sockets, so its resident set (from
 * /proc/<pid>/status) stays under a bound derived from the budget; before the budget existed it
 * buffered every stream at once (10 x 40 MiB, plus a copy to join each frame's chunks).
 *
 * A normal produce is answered while they stream and after. A second round closes ten sockets
 * in the middle of their frames: the memory of those half-read frames is given back, so the
 * resident set afterwards does not exceed what it was after the first round.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KafkaConnection } from '@tributary/cli';
import { createTopicsApi, ErrorCode } from '@tributary/protocol';
import { spawnBroker, type SpawnedBroker } from '../../src/index.ts';
import {
  ByteWriter,
  RawConnection,
  parseProduceResponse,
  produceBody,
  recordBatch,
  requestFrame,
} from './kafka-wire.ts';

const mib = 1024 * 1024;
const budgetBytes = 64 * mib;
const frameBytes = 40 * mib;
const attackers = 10;
/** Resident set allowed over the idle broker's: the budget, garbage of as much again not yet
 * collected (answered frames are freed by the next GC), and 64 MiB of ordinary heap growth. */
const rssGrowthMaxBytes = 2 * budgetBytes + 64 * mib;
const topic = 'request-memory';
const PRODUCE = 0;
const streamChunk = Buffer.alloc(mib, 0x5a);

const dataDir = mkdtempSync(join(tmpdir(), 'tributary-request-memory-'));
let broker: SpawnedBroker | undefined;
let correlationId = 0;

before(async () => {
  broker = await spawnBroker({
    dataDir,
    args: ['--override', `queued.max.request.bytes=${budgetBytes}`],
  });
  const admin = await KafkaConnection.connect({ host: broker.host, port: broker.port });
  try {
    const created = await admin.request(createTopicsApi, 7, {
      topics: [
        { name: topic, numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] },
      ],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    assert.equal(created.topics[0]?.errorCode, ErrorCode.NONE);
  } finally {
    admin.close();
  }
});

after(async () => {
  await broker?.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

function running(): SpawnedBroker {
  assert.ok(broker !== undefined && broker.alive(), `broker exited:\n${broker?.stderr() ?? ''}`);
  return broker;
}

/** One acks=all produce on a fresh connection; its offset. */
async function produceOne(label: string): Promise<bigint> {
  const connection = await RawConnection.open(running().host, running().port);
  try {
    correlationId += 1;
    const outcome = await connection.roundTrip(
      requestFrame({
        apiKey: PRODUCE,
        apiVersion: 9,
        correlationId,
        flexibleHeader: true,
        body: produceBody(9, {
          topic,
          partition: 0,
          records: recordBatch([{ key: null, value: label }]),
        }),
      }),
      120_000,
    );
    assert.equal(outcome.kind, 'response', `${label}: produce got ${outcome.kind}`);
    assert.ok(outcome.kind === 'response');
    const result = parseProduceResponse(9, outcome.body);
    assert.equal(result.errorCode, 0, `${label}: produce error ${result.errorCode}`);
    return result.baseOffset;
  } finally {
    connection.destroy();
  }
}

/** Samples the broker's resident set until stopped; the largest value seen. */
function sampleRss(): { stop: () => number } {
  let largest = running().rssBytes() ?? 0;
  const timer = setInterval(() => {
    largest = Math.max(largest, broker?.rssBytes() ?? 0);
  }, 20);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(largest, broker?.rssBytes() ?? 0);
    },
  };
}

/**
 * Opens a socket, announces a `frameBytes` frame (an API key the broker does not serve, so a
 * completed frame is refused once read) and streams `sendBytes` of it, waiting for the kernel
 * to take each chunk. Resolves with the bytes written when done or when the broker closed it.
 */
async function stream(sendBytes: number): Promise<{ socket: Socket; written: number }> {
  const socket = connect({ host: running().host, port: running().port });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const header = new ByteWriter().int32(frameBytes).int16(999).int16(0).int32(1).build();
  socket.write(header);
  let written = header.length - 4;
  while (written < sendBytes && !socket.destroyed) {
    const piece = streamChunk.subarray(0, Math.min(streamChunk.length, sendBytes - written));
    written += piece.length;
    if (!socket.write(piece)) {
      await new Promise<void>((resolve) => {
        socket.once('drain', resolve);
        socket.once('close', resolve);
      });
    }
  }
  return { socket, written };
}

const figures: Record<string, string> = {};
const inMib = (bytes: number): string => `${(bytes / mib).toFixed(0)} MiB`;
let rssAfterFirstRound = 0;
let idleRss = 0;

test(
  'ten 40 MiB frames streamed at once stay within the 64 MiB budget',
  { timeout: 300_000 },
  async () => {
    await produceOne('before');
    idleRss = running().rssBytes() ?? 0;
    const sampler = sampleRss();
    const streams = Array.from({ length: attackers }, () => stream(frameBytes));
    const duringOffset = await produceOne('during');
    const finished = await Promise.all(streams);
    const peak = sampler.stop();
    for (const { socket } of finished) socket.destroy();
    const afterOffset = await produceOne('after');
    assert.ok(afterOffset > duringOffset, 'produce keeps working after the streams');
    rssAfterFirstRound = running().rssBytes() ?? 0;
    figures.idle = inMib(idleRss);
    figures.peakWhileStreaming = inMib(peak);
    figures.afterFirstRound = inMib(rssAfterFirstRound);
    assert.ok(
      peak - idleRss <= rssGrowthMaxBytes,
      `RSS grew ${inMib(peak - idleRss)} (idle ${inMib(idleRss)}, peak ${inMib(peak)}); ` +
        `bound ${inMib(rssGrowthMaxBytes)}`,
    );
  },
);

test(
  'frames cut off mid-stream give their memory back when the sockets close',
  { timeout: 300_000 },
  async () => {
    const sampler = sampleRss();
    // Each sends three quarters of its frame and stops: one at a time holds a reservation while
    // the rest wait with their sockets paused. Closing the one that got through lets the next in,
    // which happens only if the closed connection gave its reservation back.
    const pending = new Map(
      Array.from({ length: attackers }, (_, index) => [
        index,
        stream((frameBytes * 3) / 4).then((done) => ({ index, ...done })),
      ]),
    );
    while (pending.size > 0) {
      const through = await Promise.race(pending.values());
      through.socket.destroy();
      pending.delete(through.index);
    }
    const peak = sampler.stop();
    await produceOne('after cut-off frames');
    const rssAfter = running().rssBytes() ?? 0;
    figures.peakCutOff = inMib(peak);
    figures.afterCutOff = inMib(rssAfter);
    console.log(`request memory figures: ${JSON.stringify(figures)}`);
    assert.ok(
      peak - idleRss <= rssGrowthMaxBytes,
      `RSS grew ${inMib(peak - idleRss)} while frames were cut off; ` +
        `bound ${inMib(rssGrowthMaxBytes)}`,
    );
    assert.ok(
      rssAfter <= Math.max(rssAfterFirstRound, idleRss + rssGrowthMaxBytes),
      `RSS after closing ${inMib(rssAfter)} > after the first round ${inMib(rssAfterFirstRound)}`,
    );
  },
);
