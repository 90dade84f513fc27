/**
 * The small-producers floors: each server answers the raw Kafka lanes' Produce v9 requests, in
 * order and under their correlation ids, with a response the lane reads as acked.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { runPacedLanes } from './peer-paced.ts';
import type { PeerServer } from './peer-servers.ts';
import { goFloor, nodeFloor } from './produce-floor.ts';
import { openRawProduceLane } from './raw-produce-lane.ts';

async function ackedThrough(server: PeerServer): Promise<void> {
  const bootstrap = `127.0.0.1:${server.port}`;
  const lanes = await Promise.all([0, 1, 2].map(() => openRawProduceLane(bootstrap, 'floor', 0)));
  try {
    const result = await runPacedLanes(
      lanes.map((lane) => lane.make),
      { ratePerLane: 200, seconds: 0.3, warmupSeconds: 0.1, valueBytes: 1024 },
    );
    assert.equal(result.sent, 240);
    assert.equal(result.acked, 180);
    assert.equal(result.errors, 0);
  } finally {
    await Promise.all(lanes.map((lane) => lane.close()));
    await server.stop();
  }
}

test('the Node floor acks every Produce v9 of the raw lanes', async () => {
  await ackedThrough(await nodeFloor.start(tmpdir()));
});

const hasGo = spawnSync('go', ['version']).status === 0;

test(
  'the Go floor acks every Produce v9 of the raw lanes',
  { skip: !hasGo && 'no go' },
  async () => {
    await ackedThrough(await goFloor.start(tmpdir()));
  },
);
