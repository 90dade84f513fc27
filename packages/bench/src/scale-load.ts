/**
 * The scale workload's load phase (issue 14: many partitions under produce and fetch, not idle),
 * on one topic, with librdkafka clients; the broker's CPU is read from /proc over each window.
 *   1. A paced producer spreads records over every partition (record i to partition i % N)
 *      alone: CPU per GB produced.
 *   2. One consumer assigned every partition from offset 0 reads that backlog (no producer):
 *      CPU per GB fetched and per Fetch request while every fetch finds data.
 *   3. The consumer assigned at the end, no producer, for a few seconds: CPU per Fetch that finds
 *      no data (each still names every partition and long-polls on all of them).
 *   4. Producer and a consumer at the end together: records/s both ways, CPU per GB moved (in
 *      plus out) and RSS.
 * librdkafka sends full fetches (no KIP-227 session), so every Fetch names every partition and
 * gets an answer for every partition: a fetch's cost is what a sessionless client pays.
 */
import {
  cpuWindow,
  peakResidentMegabytes,
  residentMegabytes,
  type BenchContext,
} from './bench-context.ts';
import type { BrokerChild } from './broker-child.ts';
import {
  consumeResult,
  pacedResult,
  startConsumer,
  startPaced,
  type ConsumeOptions,
  type ConsumeResult,
} from './kafka-drivers.ts';

/** The paced driver's value size (kafka_driver.py --value-bytes default). */
const recordBytes = 1024;
/** Phase 3's length: long enough for some tens of long polls of fetch.wait.max.ms (100 ms). */
const idleFetchSeconds = 5;

export interface ScaleLoadFigures {
  partitions: number;
  ratePerSecond: number;
  cpuSecondsPerGBProduced: number;
  /** Phase 2: catch-up read of phase 1's records. */
  catchUp: { recordsPerSecond: number; cpuSecondsPerGB: number; cpuMsPerFetch: number };
  recordsPerCatchUpFetch: number;
  /** Phase 3: broker CPU per Fetch that finds no data. */
  idleCpuMsPerFetch: number;
  idleFetches: number;
  /** Phase 4. */
  live: { producedPerSecond: number; fetchedPerSecond: number; cpuSecondsPerGBMoved: number };
  errors: number;
  rssMB: number;
  peakRssMB: number;
}

/** Runs a consumer to its end and the broker's CPU seconds over it. */
async function consumeWindow(
  broker: BrokerChild,
  options: ConsumeOptions,
): Promise<{ read: ConsumeResult; cpuSeconds: number; wallSeconds: number }> {
  const startedAt = performance.now();
  const cpu = cpuWindow(broker.pid);
  const read = consumeResult(await startConsumer({ ...options, stats: true }).summary);
  return { read, cpuSeconds: cpu(), wallSeconds: (performance.now() - startedAt) / 1000 };
}

export async function measureScaleLoad(
  context: BenchContext,
  broker: BrokerChild,
  options: { topic: string; partitions: number },
): Promise<ScaleLoadFigures> {
  const ratePerSecond = 5000;
  const seconds = context.quick ? 8 : 20;
  const { topic, partitions } = options;
  const bootstrap = broker.bootstrap;
  const paced = { bootstrap, topic, ratePerSecond, seconds, spread: partitions };
  context.log(`scale: ${ratePerSecond} records/s over ${partitions} partitions, producer alone`);
  const produceCpu = cpuWindow(broker.pid);
  const alone = pacedResult(await startPaced(paced).summary);
  const produceCpuSeconds = produceCpu();

  context.log('scale: one consumer of every partition reads that backlog');
  const consumer = { bootstrap, topic, group: '' };
  const catchUp = await consumeWindow(broker, {
    ...consumer,
    expect: alone.acked,
    seconds: seconds + 60,
  });
  context.log('scale: the consumer at the end, nothing produced');
  const idle = await consumeWindow(broker, {
    ...consumer,
    expect: Number.MAX_SAFE_INTEGER,
    seconds: idleFetchSeconds,
    latest: true,
  });

  context.log('scale: producer and consumer together');
  const expect = ratePerSecond * seconds;
  const following = startConsumer({ ...consumer, expect, seconds: seconds + 3, latest: true });
  await Promise.race([following.waitFor('ready'), following.summary]);
  const liveCpu = cpuWindow(broker.pid);
  const live = pacedResult(await startPaced(paced).summary);
  const read = consumeResult(await following.summary);
  const liveCpuSeconds = liveCpu();
  const readSeconds = Number(read.lastNs - read.firstNs) / 1e9;
  const catchUpGB = catchUp.read.bytes / 1e9;
  return {
    partitions,
    ratePerSecond,
    cpuSecondsPerGBProduced: produceCpuSeconds / ((alone.acked * recordBytes) / 1e9 || 1e-12),
    catchUp: {
      recordsPerSecond: catchUp.read.count / catchUp.wallSeconds,
      cpuSecondsPerGB: catchUp.cpuSeconds / (catchUpGB || 1e-12),
      cpuMsPerFetch: (1000 * catchUp.cpuSeconds) / Math.max(catchUp.read.fetches, 1),
    },
    recordsPerCatchUpFetch: catchUp.read.count / Math.max(catchUp.read.fetches, 1),
    idleCpuMsPerFetch: (1000 * idle.cpuSeconds) / Math.max(idle.read.fetches, 1),
    idleFetches: idle.read.fetches,
    live: {
      producedPerSecond: live.acked / seconds,
      fetchedPerSecond: readSeconds > 0 ? read.count / readSeconds : 0,
      cpuSecondsPerGBMoved:
        liveCpuSeconds / ((live.acked * recordBytes + read.bytes) / 1e9 || 1e-12),
    },
    errors: alone.errors + live.errors,
    rssMB: residentMegabytes(broker.pid),
    peakRssMB: peakResidentMegabytes(broker.pid),
  };
}
