/**
 * The latency workload's C measurement, run the same way against Tributary, the tmpfs broker
 * and Apache Kafka (latency-bench.ts): the C consumer assigned to a fresh one-partition topic,
 * then the C producer paced at a fixed rate, stamping each value with its intended send time,
 * so latency includes any time the producer fell behind schedule (no coordinated omission).
 * Issue 14 asks for e2e p99 at 5,000 and at 50,000 records/s.
 */
import {
  cpuUseWindow,
  medianBy,
  type CombinedRounds,
  runWarmedInterleaved,
  sumCpuUse,
  perCpu,
  resourceFigures,
  sleep,
  uniqueTopic,
  type CpuUse,
} from './bench-context.ts';
import type { BenchFigure } from './bench-report.ts';
import type { BrokerChild } from './broker-child.ts';
import { createTopic } from './kafka-drivers.ts';
import { nativeClient, startNativeConsume, startNativeProduce } from './native-load.ts';
import type { DriverPercentiles } from './python-driver.ts';

/** Value bytes of every record (1 KiB). */
export const latencyValueBytes = 1024;
/** The headline rate (issue 5) and the high one (issue 14), records per second. */
export const latencyRates = [5000, 50_000] as const;

/** How long each rate runs: 150,000 / 750,000 records in the full run. */
export function latencySecondsOf(rate: number, quick: boolean): number {
  if (rate <= 5000) return quick ? 8 : 30;
  return quick ? 4 : 15;
}

/** The client column of a C latency row: the headline rate keeps the plain client name. */
export function latencyClientOf(rate: number): string {
  return rate === latencyRates[0] ? nativeClient : `${nativeClient} at ${rate}/s`;
}

export interface NativeLatency {
  readonly client: string;
  readonly rate: number;
  /** Measured seconds, all rounds together. */
  readonly seconds: number;
  /**
   * Each round's e2e and ack p99 in the order run, when the run had several
   * (measureNativeLatencyRounds); the percentiles above are then the median round's.
   */
  readonly rounds?: readonly { e2eP99Ms: number; ackP99Ms: number }[];
  /** The e2e p99 of the unmeasured warm-up round before the rounds, if one ran. */
  readonly warmupE2eP99Ms?: number;
  /** From the intended send time to the consumer receiving the record. */
  readonly e2eMs: DriverPercentiles;
  /** From the intended send time to the producer's acknowledgement. */
  readonly ackMs: DriverPercentiles;
  readonly delivered: number;
  readonly records: number;
  readonly producerErrors: number;
  readonly use: CpuUse;
}

export async function measureNativeLatency(
  broker: BrokerChild,
  rate: number,
  seconds: number,
): Promise<NativeLatency> {
  const topic = uniqueTopic(`bench-latency-c-${rate}`);
  await createTopic(broker.bootstrap, topic, 1);
  const records = rate * seconds;
  const consumer = await startNativeConsume({
    bootstrap: broker.bootstrap,
    topic,
    records,
    idleMs: 30_000,
    stamped: true,
  });
  // Let the consumer's first (empty) Fetch reach the broker before the clock starts.
  await sleep(1500);
  const cpu = cpuUseWindow(broker.pid);
  const producer = await startNativeProduce({
    bootstrap: broker.bootstrap,
    topic,
    records,
    size: latencyValueBytes,
    lingerMs: 1,
    ratePerSecond: rate,
    stamped: true,
  });
  const produced = await producer.result;
  const consumed = await consumer.result;
  if (consumed.e2eMs === undefined) throw new Error('the C consumer reported no latency');
  return {
    client: latencyClientOf(rate),
    rate,
    seconds,
    e2eMs: consumed.e2eMs,
    ackMs: produced.ackMs,
    delivered: consumed.records,
    records,
    producerErrors: produced.errors,
    use: cpu(),
  };
}

/**
 * Measured rounds each rate runs in. A single run's p99 at 50,000/s moved between 3.8 and 16 ms
 * from one minute to the next on the same broker (a dozen stalls of the machine make a p99): the
 * median of three rounds is what a system typically does (docs/adr/0005, amendment of
 * 2026-12-07).
 */
export const latencyRounds = 3;

/** A broker the interleaved latency rounds run on, by the name its results come back under. */
export interface LatencySystem {
  readonly name: string;
  readonly broker: BrokerChild;
}

/**
 * `latencyRounds` runs of `seconds / latencyRounds` each on every system, each on a fresh topic,
 * after one more such run per system that is not counted (the warm-up: the first run at a rate
 * carries the JVM's JIT or V8's, and the heap's growth). Each system's result holds the figures
 * of its measured round with the median e2e p99 and the record counts and errors of all its
 * measured rounds. The systems' rounds are interleaved (interleavedOrder): each round runs every
 * system once in turn. A shared machine's quiet and noisy minutes then fall on every system alike,
 * which one system's rounds after another's cannot promise (the disk's sync p99 moved between
 * 0.5 and 12 ms within an hour on the bench machine). CPU is counted over each system's own
 * measured rounds only. `beforeRound` runs before every round (the workload writes the page
 * cache's dirty pages out there, so one node's deferred writeback does not land in the next
 * node's round).
 */
export async function measureNativeLatencyInterleaved(
  systems: readonly LatencySystem[],
  rate: number,
  seconds: number,
  log: (line: string) => void = () => undefined,
  beforeRound: () => void = () => undefined,
): Promise<CombinedRounds<NativeLatency>> {
  const roundSeconds = Math.max(1, Math.round(seconds / latencyRounds));
  const measure = async ({ broker }: LatencySystem): Promise<NativeLatency> => {
    beforeRound();
    return measureNativeLatency(broker, rate, roundSeconds);
  };
  const prefixed = (line: string): void => log(`latency at ${rate}/s: ${line}`);
  const describe = (run: NativeLatency): string => `e2e p99 ${run.e2eMs.p99.toFixed(2)} ms`;
  const { rounds, warmups, failures } = await runWarmedInterleaved(
    systems,
    latencyRounds,
    measure,
    prefixed,
    describe,
  );
  const results = new Map<string, NativeLatency>();
  for (const [name, runs] of rounds) {
    const combined = combineLatencyRounds(runs, roundSeconds, sumCpuUse(runs.map((r) => r.use)));
    const warmup = warmups.get(name)?.e2eMs.p99;
    results.set(name, warmup === undefined ? combined : { ...combined, warmupE2eP99Ms: warmup });
  }
  return { results, failures };
}

/** One NativeLatency of several rounds: the median round's figures, the counts of all. */
export function combineLatencyRounds(
  runs: readonly NativeLatency[],
  roundSeconds: number,
  use: CpuUse,
): NativeLatency {
  const median = medianBy(runs, (run) => run.e2eMs.p99);
  let delivered = 0;
  let records = 0;
  let producerErrors = 0;
  for (const run of runs) {
    delivered += run.delivered;
    records += run.records;
    producerErrors += run.producerErrors;
  }
  return {
    ...median,
    seconds: roundSeconds * runs.length,
    rounds: runs.map((run) => ({ e2eP99Ms: run.e2eMs.p99, ackP99Ms: run.ackMs.p99 })),
    delivered,
    records,
    producerErrors,
    use,
  };
}

/** "3 rounds of 10 s (e2e p99 4.1 / 3.2 / 9.0 ms; the figures are the median round's)". */
export function latencyRoundsNote(run: NativeLatency): string {
  const rounds = run.rounds;
  if (rounds === undefined || rounds.length < 2) return `${run.seconds} s`;
  const each = Math.round(run.seconds / rounds.length);
  const p99s = rounds.map((round) => round.e2eP99Ms.toFixed(1)).join(' / ');
  const warmup = run.warmupE2eP99Ms;
  return (
    `${rounds.length} rounds of ${each} s` +
    (warmup === undefined ? '' : ` after a warm-up of ${each} s`) +
    ` (e2e p99 per round ${p99s} ms` +
    (warmup === undefined ? '' : `, warm-up ${warmup.toFixed(1)}`) +
    "; the figures are the median round's)"
  );
}

/** The rows of one latency run for `system` (the same metric names for every system). */
export function latencyFigures(system: string, run: NativeLatency): BenchFigure[] {
  const base = { system, client: run.client };
  const e2e = run.e2eMs;
  // Issue 5's targets hold at the headline rate only.
  const headline = run.rate === latencyRates[0] && system === 'tributary';
  return [
    {
      ...base,
      metric: 'e2e p50',
      value: e2e.p50,
      unit: 'ms',
      ...(headline ? { target: { value: 2, atLeast: false } } : {}),
    },
    {
      ...base,
      metric: 'e2e p99',
      value: e2e.p99,
      unit: 'ms',
      ...(headline ? { target: { value: 10, atLeast: false } } : {}),
    },
    { ...base, metric: 'e2e p99.9', value: e2e.p999, unit: 'ms' },
    { ...base, metric: 'e2e max', value: e2e.max, unit: 'ms' },
    { ...base, metric: 'producer ack p99 (from intended)', value: run.ackMs.p99, unit: 'ms' },
    {
      ...base,
      metric: 'records delivered',
      value: run.delivered,
      unit: `of ${run.records}`,
      perCpuSecond: perCpu(run.delivered, run.use.brokerCpuSeconds),
    },
    ...resourceFigures(base, run.use, {
      producedBytes: run.delivered * latencyValueBytes,
      fetchedBytes: run.delivered * latencyValueBytes,
    }),
  ];
}
