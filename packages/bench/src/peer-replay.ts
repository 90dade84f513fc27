/**
 * Workload 4 for the peers: a backlog written by the pipelined producer, then one paced live
 * producer run: alone for `baselineSeconds` (its baseline ack latency), then while a consumer
 * group created after the backlog reads it from the first record. As for Tributary, "during"
 * is the live messages whose intended send time fell inside the catch-up window, and the
 * server's CPU is sampled over that window. One run instead of Tributary's two keeps both
 * phases on the same connection and halves the time.
 */
import { cpuUseWindow, sleep, type CpuUse } from './bench-context.ts';
import { percentiles, runPacedLanes, type PacedRunResult, type Percentiles } from './peer-paced.ts';
import type { PeerReadResult } from './peer-read.ts';
import type { PeerServer } from './peer-servers.ts';
import type { PeerSystem } from './peer-systems.ts';

export interface PeerReplayOptions {
  backlogRecords: number;
  liveRate: number;
  /** The live producer runs alone this long before the catch-up read starts. */
  baselineSeconds: number;
  liveSeconds: number;
}

export interface PeerReplayRun {
  written: number;
  live: PacedRunResult;
  /** Live acks whose intended send time came before the catch-up read started. */
  baseline: Percentiles;
  read: PeerReadResult;
  /** Live acks whose intended send time fell inside the catch-up window. */
  during: Percentiles;
  catchUpSeconds: number;
  use: CpuUse;
}

async function pacedLive(
  peer: PeerSystem,
  server: PeerServer,
  options: PeerReplayOptions,
): Promise<PacedRunResult> {
  const lane = await peer.client.openLane(server.port);
  try {
    return await runPacedLanes([lane.make], {
      ratePerLane: options.liveRate,
      seconds: options.liveSeconds,
      valueBytes: 1024,
    });
  } finally {
    await lane.close();
  }
}

function ackMsWhere(live: PacedRunResult, intended: (intendedMs: number) => boolean): Percentiles {
  return percentiles(live.samples.filter(([at]) => intended(at)).map(([, ms]) => ms));
}

export async function peerReplay(
  peer: PeerSystem,
  server: PeerServer,
  options: PeerReplayOptions,
): Promise<PeerReplayRun> {
  const fill = await peer.client.load(server.port, {
    durationMs: 600_000,
    window: 256,
    maxRecords: options.backlogRecords,
  });
  await peer.client.createGroup(server.port, 'replay');
  const living = pacedLive(peer, server, options);
  await sleep(options.baselineSeconds * 1000);
  const use = cpuUseWindow(server.pid);
  const read = await peer.client.readGroup(server.port, {
    group: 'replay',
    expect: fill.acked,
    timeoutMs: 300_000,
  });
  const cpu = use();
  const live = await living;
  return {
    written: fill.acked,
    live,
    read,
    baseline: ackMsWhere(live, (at) => at < read.startMs),
    during: ackMsWhere(live, (at) => at >= read.startMs && at <= read.lastMs),
    catchUpSeconds: (read.lastMs - read.startMs) / 1000,
    use: cpu,
  };
}
