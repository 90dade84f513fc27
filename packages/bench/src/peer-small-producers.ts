/**
 * Workload 6 for the peers: `producers` connections opened from the suite's process, each a
 * paced lane sending one 1 KiB message every 1/`ratePerProducer` s (staggered across lanes),
 * ack latency from the intended send time. The server's CPU is sampled over the sending.
 * The broker's raw-client row (small-producers-bench.ts) runs the same way.
 */
import { cpuUseWindow, type CpuUse } from './bench-context.ts';
import type { OpenedLane, PacedRunResult } from './peer-paced.ts';
import { runPacedLanes } from './peer-paced.ts';
import type { PeerServer } from './peer-servers.ts';
import type { PeerSystem } from './peer-systems.ts';

export interface PeerSmallProducersRun {
  result: PacedRunResult;
  use: CpuUse;
  /** CPU seconds of the suite's own process (the load generator) over the run. */
  generatorSeconds: number;
}

/**
 * Seconds every small-producer run (the broker's clients, the floors, the peers, Kafka) sends
 * before it is measured: JIT and connection warm-up, as in OpenMessaging Benchmark's warm-up
 * phase. ADR 0005 records why.
 */
export function smallProducerWarmupSeconds(quick: boolean): number {
  return quick ? 1 : 3;
}

export interface PacedSmallProducersOptions {
  producers: number;
  ratePerProducer: number;
  /** Measured seconds, after `warmupSeconds` sent at the same rate and not measured. */
  seconds: number;
  warmupSeconds: number;
}

export async function peerSmallProducers(
  peer: PeerSystem,
  server: PeerServer,
  options: PacedSmallProducersOptions,
): Promise<PeerSmallProducersRun> {
  return pacedSmallProducers(() => peer.client.openLane(server.port), server.pid, options);
}

/**
 * The same run over any paced lane (the broker's raw Kafka lane too): opens lane `i` of
 * `producers` with `openLane(i)`, samples the CPU of the server process `pid` over the sending.
 */
export async function pacedSmallProducers(
  openLane: (index: number) => Promise<OpenedLane>,
  pid: number,
  options: PacedSmallProducersOptions,
): Promise<PeerSmallProducersRun> {
  const lanes = await Promise.all(Array.from({ length: options.producers }, (_, i) => openLane(i)));
  try {
    // CPU is sampled over the measured seconds only, as the acks are counted.
    let use = cpuUseWindow(pid);
    let generator = process.cpuUsage();
    const result = await runPacedLanes(
      lanes.map((lane) => lane.make),
      {
        ratePerLane: options.ratePerProducer,
        seconds: options.seconds,
        warmupSeconds: options.warmupSeconds,
        valueBytes: 1024,
        onWarmedUp: () => {
          use = cpuUseWindow(pid);
          generator = process.cpuUsage();
        },
      },
    );
    const used = process.cpuUsage(generator);
    return { result, use: use(), generatorSeconds: (used.user + used.system) / 1e6 };
  } finally {
    await Promise.all(lanes.map((lane) => lane.close()));
  }
}
