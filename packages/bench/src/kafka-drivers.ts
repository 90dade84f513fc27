/**
 * Typed wrappers over the librdkafka drivers (python/kafka_driver.py, python/produce_bench.py):
 * create a topic, time Metadata, produce paced or flat-out, consume. Every call is bounded.
 */
import {
  driverNumber,
  driverPercentiles,
  kafkaDriverPath,
  produceDriverPath,
  startPythonDriver,
  type DriverLine,
  type DriverPercentiles,
  type DriverRun,
} from './python-driver.ts';

export const librdkafkaClient = 'librdkafka (python3-confluent-kafka)';

export async function createTopic(
  bootstrap: string,
  topic: string,
  partitions: number,
): Promise<number> {
  const args = ['create', '--bootstrap', bootstrap, '--topic', topic];
  const run = startPythonDriver(
    kafkaDriverPath,
    [...args, '--partitions', String(partitions)],
    200_000,
  );
  const summary = await run.summary;
  if (typeof summary['error'] === 'string') throw new Error(`create ${topic}: ${summary['error']}`);
  return driverNumber(summary, 'seconds');
}

export interface MetadataTiming {
  partitions: number;
  topicMs: DriverPercentiles;
  allMs: DriverPercentiles;
}

export async function timeMetadata(
  bootstrap: string,
  topic: string,
  iterations: number,
): Promise<MetadataTiming> {
  const args = ['metadata', '--bootstrap', bootstrap, '--topic', topic];
  const run = startPythonDriver(
    kafkaDriverPath,
    [...args, '--iterations', String(iterations)],
    200_000,
  );
  const summary = await run.summary;
  return {
    partitions: driverNumber(summary, 'partitions'),
    topicMs: driverPercentiles(summary, 'topic_ms'),
    allMs: driverPercentiles(summary, 'all_ms'),
  };
}

export interface PacedOptions {
  bootstrap: string;
  topic: string;
  ratePerSecond: number;
  seconds: number;
  /** Also return every ack as [intended CLOCK_MONOTONIC ns, latency ms]. */
  dump?: boolean;
  /** Record i goes to partition i % spread (every partition gets data); default: partitioner. */
  spread?: number;
}

/** Paced producer; ack latency is from each record's intended send time. */
export function startPaced(options: PacedOptions): DriverRun {
  return startPythonDriver(
    kafkaDriverPath,
    [
      'paced',
      '--bootstrap',
      options.bootstrap,
      '--topic',
      options.topic,
      '--rate',
      String(options.ratePerSecond),
      '--seconds',
      String(options.seconds),
      ...(options.dump === true ? ['--dump'] : []),
      ...(options.spread === undefined ? [] : ['--spread', String(options.spread)]),
    ],
    (options.seconds + 120) * 1000,
  );
}

export interface PacedResult {
  acked: number;
  errors: number;
  ackMs: DriverPercentiles;
  /** [intended ns, latency ms] per ack when `dump` was set, else empty. */
  samples: Array<[number, number]>;
}

export function pacedResult(summary: DriverLine): PacedResult {
  const samples = summary['samples'];
  return {
    acked: driverNumber(summary, 'acked'),
    errors: driverNumber(summary, 'errors'),
    ackMs: driverPercentiles(summary, 'ack_ms'),
    samples: Array.isArray(samples) ? (samples as Array<[number, number]>) : [],
  };
}

/**
 * The ack latencies (ms) of the live records meant to be sent inside a read's window
 * (`firstNs`..`lastNs`, CLOCK_MONOTONIC like the intended send times): what "during" a
 * catch-up means in the replay rows.
 */
export function acksDuring(
  live: PacedResult,
  window: { firstNs: bigint; lastNs: bigint },
): number[] {
  return live.samples
    .filter(([intendedNs]) => intendedNs >= window.firstNs && intendedNs <= window.lastNs)
    .map(([, ms]) => ms);
}

export interface FlatOutOptions {
  bootstrap: string;
  topic: string;
  seconds: number;
  maxRecords?: number;
}

/** Flat-out acks=all producer (linger 2 ms); its summary has `acked` and `elapsed_s`. */
export function startFlatOut(options: FlatOutOptions): DriverRun {
  return startPythonDriver(
    produceDriverPath,
    [
      '--bootstrap',
      options.bootstrap,
      '--topic',
      options.topic,
      '--seconds',
      String(options.seconds),
      ...(options.maxRecords === undefined ? [] : ['--max-records', String(options.maxRecords)]),
    ],
    (options.seconds + 120) * 1000,
  );
}

export interface ConsumeOptions {
  bootstrap: string;
  topic: string;
  /** Consumer group id; empty means assign every partition from offset 0. */
  group: string;
  expect: number;
  seconds: number;
  latency?: boolean;
  /** Count the Fetch requests sent (librdkafka's statistics; costs the driver some CPU). */
  stats?: boolean;
  /** Without a group: start every partition at its end instead of offset 0. */
  latest?: boolean;
}

export function startConsumer(options: ConsumeOptions): DriverRun {
  return startPythonDriver(
    kafkaDriverPath,
    [
      'consume',
      '--bootstrap',
      options.bootstrap,
      '--topic',
      options.topic,
      ...(options.group === '' ? [] : ['--group', options.group]),
      '--expect',
      String(options.expect),
      '--seconds',
      String(options.seconds),
      ...(options.latency === true ? ['--latency', '--fetch-wait-ms', '20'] : []),
      ...(options.stats === true ? ['--stats'] : []),
      ...(options.latest === true ? ['--latest'] : []),
    ],
    (options.seconds + 60) * 1000,
  );
}

export interface ConsumeResult {
  mode: string;
  count: number;
  bytes: number;
  startNs: bigint;
  firstNs: bigint;
  lastNs: bigint;
  e2eMs: DriverPercentiles;
  /** Fetch requests sent; 0 unless `stats` was set. */
  fetches: number;
}

export function consumeResult(summary: DriverLine): ConsumeResult {
  return {
    mode: typeof summary['mode'] === 'string' ? summary['mode'] : '?',
    count: driverNumber(summary, 'count'),
    bytes: driverNumber(summary, 'bytes'),
    startNs: BigInt(driverNumber(summary, 'start_ns')),
    firstNs: BigInt(driverNumber(summary, 'first_ns')),
    lastNs: BigInt(driverNumber(summary, 'last_ns')),
    e2eMs: driverPercentiles(summary, 'e2e_ms'),
    fetches: driverNumber(summary, 'fetches'),
  };
}
