/**
 * Workload 6 for the peers: `producers` connections opened from the suite's process, each a
 * paced lane sending one 1 KiB message every 1/`ratePerProducer` s (staggered across lanes),
 * ack latency from the intended send time. The server's CPU is sampled over the sending.
 * The broker's raw-client row (small-producers-bench.ts) runs the same way.
 */
import {
  cpuUseWindow,
  medianBy,
  runWarmedInterleaved,
  sumCpuUse,
  type CombinedRounds,
  type CpuUse,
} from './bench-context.ts';
import type { OpenedLane, PacedRunResult } from './peer-paced.ts';
import { pacedWindows, runPacedLanes } from './peer-paced.ts';
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

/** One server the interleaved small-producer rounds load, by the name its result comes under. */
export interface PacedTarget {
  name: string;
  openLane: (index: number) => Promise<OpenedLane>;
  /** The server process, whose CPU is sampled. */
  pid: number;
}

/** Measured seconds of each interleaved round: a `pacedWindows`th of the run's (at least 1). */
export function smallProducerRoundSeconds(seconds: number): number {
  return Math.max(1, Math.round(seconds / pacedWindows));
}

/**
 * `pacedWindows` rounds on every target, interleaved (interleavedOrder): each round runs every
 * target once in turn, on fresh connections, with its own warm-up, for `seconds` /
 * `pacedWindows` measured seconds. Servers compared by a goal then meet the same quiet and noisy
 * minutes of a shared machine, as one after the other they did not (ADR 0005). Before them one
 * such round on each target is not counted: a server that has not been under load yet (the
 * tmpfs broker) had a first round 2-8x its later ones, its JIT and heap still growing. A target
 * whose round fails is left out of the rounds after it.
 */
export async function interleavedSmallProducers(
  targets: readonly PacedTarget[],
  options: PacedSmallProducersOptions,
  log: (line: string) => void,
): Promise<CombinedRounds<PeerSmallProducersRun>> {
  const seconds = smallProducerRoundSeconds(options.seconds);
  const { rounds, failures } = await runWarmedInterleaved(
    targets,
    pacedWindows,
    ({ openLane, pid }) => pacedSmallProducers(openLane, pid, { ...options, seconds }),
    (line) => log(`small producers: ${line}`),
    (each) => `ack p99 ${each.result.ackMs.p99.toFixed(2)} ms`,
  );
  const results = new Map<string, PeerSmallProducersRun>();
  for (const [name, runs] of rounds) results.set(name, combineSmallProducerRounds(runs));
  return { results, failures };
}

/**
 * Rounds of one target as one run: the median round's percentiles (by ack p99), every round's
 * p99 in `windowP99Ms` in the order run (so the median of the windows is the median round's),
 * counts, seconds and CPU added up. The samples are not kept.
 */
export function combineSmallProducerRounds(
  runs: readonly PeerSmallProducersRun[],
): PeerSmallProducersRun {
  const median = medianBy(runs, (run) => run.result.ackMs.p99);
  let sent = 0;
  let acked = 0;
  let errors = 0;
  let seconds = 0;
  let generatorSeconds = 0;
  for (const { result, generatorSeconds: generator } of runs) {
    sent += result.sent;
    acked += result.acked;
    errors += result.errors;
    seconds += result.seconds;
    generatorSeconds += generator;
  }
  return {
    result: {
      ...median.result,
      sent,
      acked,
      errors,
      seconds,
      samples: [],
      windowP99Ms: runs.map((run) => run.result.ackMs.p99),
    },
    use: sumCpuUse(runs.map((run) => run.use)),
    generatorSeconds,
  };
}
