/**
 * The latency workload's C measurement, run the same way against Tributary (latency-bench.ts)
 * and Apache Kafka (kafka-scenarios.ts): the C consumer assigned to a fresh one-partition topic,
 * then the C producer paced at a fixed rate, stamping each value with its intended send time,
 * so latency includes any time the producer fell behind schedule (no coordinated omission).
 * Issue 14 asks for e2e p99 at 5,000 and at 50,000 records/s.
 */
import {
  cpuUseWindow,
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
  readonly seconds: number;
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
