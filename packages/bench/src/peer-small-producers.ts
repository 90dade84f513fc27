/**
 * Workload 6 for the peers: `producers` connections opened from the suite's process, each a
 * paced lane sending one 1 KiB message every 1/`ratePerProducer` s (staggered across lanes),
 * ack latency from the intended send time. The server's CPU is sampled over the sending.
 */
import { cpuUseWindow, type CpuUse } from './bench-context.ts';
import type { PacedRunResult } from './peer-paced.ts';
import { runPacedLanes } from './peer-paced.ts';
import type { PeerServer } from './peer-servers.ts';
import type { PeerSystem } from './peer-systems.ts';

export interface PeerSmallProducersRun {
  result: PacedRunResult;
  use: CpuUse;
  /** CPU seconds of the suite's own process (the load generator) over the run. */
  generatorSeconds: number;
}

export async function peerSmallProducers(
  peer: PeerSystem,
  server: PeerServer,
  options: { producers: number; ratePerProducer: number; seconds: number },
): Promise<PeerSmallProducersRun> {
  const lanes = await Promise.all(
    Array.from({ length: options.producers }, () => peer.client.openLane(server.port)),
  );
  try {
    const use = cpuUseWindow(server.pid);
    const generator = process.cpuUsage();
    const result = await runPacedLanes(
      lanes.map((lane) => lane.make),
      { ratePerLane: options.ratePerProducer, seconds: options.seconds, valueBytes: 1024 },
    );
    const used = process.cpuUsage(generator);
    return { result, use: use(), generatorSeconds: (used.user + used.system) / 1e6 };
  } finally {
    await Promise.all(lanes.map((lane) => lane.close()));
  }
}
