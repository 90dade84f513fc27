/**
 * Cluster workload (issue 12): the same produce and latency load against a 3-broker cluster over
 * PostgreSQL and SeaweedFS's S3 server on loopback (`tributary cluster up`, cluster-child.ts) and
 * against the embedded broker (one process, local WAL fsync), reported side by side and as
 * ratios. Both modes are loaded by the C load generator (acks=all): a flat-out producer over
 * several partitions, then a paced, stamped producer with a consumer assigned to the one
 * partition for end-to-end latency. The cluster runs first: when PostgreSQL or weed is missing
 * the workload is skipped with the CLI's own message before anything is measured.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  cpuUseWindow,
  peakResidentMegabytes,
  sleep,
  uniqueTopic,
  withBroker,
  type BenchContext,
  type CpuUse,
} from './bench-context.ts';
import { skippedReport, type WorkloadReport } from './bench-report.ts';
import { ClusterUnavailableError, startClusterChild } from './cluster-child.ts';
import { clusterReport, type ClusterWorkload, type ModeResult } from './cluster-report.ts';
import { createTopic } from './kafka-drivers.ts';
import { buildNativeLoad, startNativeConsume, startNativeProduce } from './native-load.ts';
import { childPids, processCpuSeconds, processTreeCpuSeconds } from './process-cpu.ts';

const clusterBrokers = 3;
/** New partitions get leaders at the brokers' next lease pass (kicked by a notice). */
const leaseSettleMs = 3_000;
const recordBytes = 1024;
const throughputPartitions = 6;
const lingerMs = 5;
/** The latency workload's rate (workload 2's), 1 KiB records to one partition. */
const latencyRate = 5_000;

interface ModeTarget {
  system: string;
  bootstrap: string;
  brokerPids: number[];
  /** PostgreSQL's postmaster and the S3 server; none for the embedded broker. */
  servicePids: number[];
}

export async function runClusterBench(context: BenchContext): Promise<WorkloadReport> {
  const title = `Cluster mode (${clusterBrokers} brokers over PostgreSQL and S3) vs embedded`;
  try {
    await buildNativeLoad();
  } catch (error: unknown) {
    return skippedReport(
      'cluster',
      title,
      `the C load generator cannot be built: ${String(error)}`,
    );
  }
  const workload: ClusterWorkload = {
    brokers: clusterBrokers,
    recordBytes,
    partitions: throughputPartitions,
    lingerMs,
    throughputRecords: context.quick ? 100_000 : 1_000_000,
    latencyRate,
    latencySeconds: context.quick ? 5 : 20,
  };
  context.log(`cluster: starting ${clusterBrokers} brokers with tributary cluster up`);
  let clustered: ModeResult;
  try {
    const cluster = await startClusterChild(context, clusterBrokers);
    context.log(`cluster: ready in ${cluster.readySeconds.toFixed(1)} s on ${cluster.bootstrap}`);
    try {
      clustered = await measureMode(context, workload, {
        system: `tributary cluster (${clusterBrokers} brokers, PostgreSQL + S3 on loopback)`,
        bootstrap: cluster.bootstrap,
        brokerPids: cluster.brokerPids,
        servicePids: [cluster.postgresPid, cluster.s3Pid],
      });
      clustered.localFiles = filesUnder(cluster.dataDir, /^broker-\d+$/);
    } finally {
      await cluster.stop();
    }
  } catch (error: unknown) {
    if (!(error instanceof ClusterUnavailableError)) throw error;
    context.log(`cluster: skipped: ${error.message}`);
    return skippedReport('cluster', title, `cluster mode cannot start here: ${error.message}`);
  }
  context.log('cluster: the embedded broker, same load');
  const embedded = await withBroker(context, {}, (broker) =>
    measureMode(context, workload, {
      system: 'tributary embedded (1 process, local WAL fsync)',
      bootstrap: broker.bootstrap,
      brokerPids: [broker.pid],
      servicePids: [],
    }),
  );
  return clusterReport(workload, embedded, clustered);
}

/** Sums a per-process reading over `pids`. */
function sumOver(pids: readonly number[], read: (pid: number) => number): number {
  return pids.reduce((sum, pid) => sum + read(pid), 0);
}

async function measureMode(
  context: BenchContext,
  workload: ClusterWorkload,
  target: ModeTarget,
): Promise<ModeResult> {
  const { bootstrap, brokerPids, servicePids } = target;
  const topic = uniqueTopic('bench-cluster');
  await createTopic(bootstrap, topic, workload.partitions);
  await sleep(leaseSettleMs);
  context.log(`cluster: ${target.system}: ${workload.throughputRecords} records flat out`);
  const brokerCpu = sumOver(brokerPids, processCpuSeconds);
  const serviceCpu = sumOver(servicePids, processTreeCpuSeconds);
  const use = cpuUseWindow(brokerPids[0] ?? process.pid);
  const producer = await startNativeProduce({
    bootstrap,
    topic,
    records: workload.throughputRecords,
    size: workload.recordBytes,
    lingerMs: workload.lingerMs,
    timeoutMs: 300_000,
  });
  const produced = await producer.result;
  const brokerCpuSeconds = sumOver(brokerPids, processCpuSeconds) - brokerCpu;
  const window = use();
  const throughput = {
    acked: produced.acked,
    errors: produced.errors,
    firstError: produced.firstError,
    seconds: produced.elapsedSeconds,
    ackMs: produced.ackMs,
    brokerCpuSeconds,
    serviceCpuSeconds: sumOver(servicePids, processTreeCpuSeconds) - serviceCpu,
    // The window's broker CPU is that of every broker, not only the first.
    use: { ...window, brokerCpuSeconds } satisfies CpuUse,
  };
  context.log(
    `cluster: ${target.system}: ${workload.latencyRate}/s for ${workload.latencySeconds} s`,
  );
  const latency = await measureLatency(bootstrap, workload);
  return {
    system: target.system,
    throughput,
    latency,
    brokerPeakRssMb: sumOver(brokerPids, peakResidentMegabytes),
    servicePeakRssMb: sumOver(servicePids, treePeakResidentMegabytes),
  };
}

/** Paced, stamped C producer and a C consumer assigned to the one partition. */
async function measureLatency(bootstrap: string, workload: ClusterWorkload) {
  const topic = uniqueTopic('bench-cluster-latency');
  await createTopic(bootstrap, topic, 1);
  await sleep(leaseSettleMs);
  const records = workload.latencyRate * workload.latencySeconds;
  const consumer = await startNativeConsume({
    bootstrap,
    topic,
    records,
    idleMs: 30_000,
    stamped: true,
  });
  // Let the consumer's first (empty) Fetch reach the broker before the clock starts.
  await sleep(1500);
  const producer = await startNativeProduce({
    bootstrap,
    topic,
    records,
    size: workload.recordBytes,
    lingerMs: 1,
    ratePerSecond: workload.latencyRate,
    stamped: true,
  });
  const produced = await producer.result;
  const consumed = await consumer.result;
  if (consumed.e2eMs === undefined) throw new Error('the C consumer reported no latency');
  return {
    e2eMs: consumed.e2eMs,
    ackMs: produced.ackMs,
    delivered: consumed.records,
    producerErrors: produced.errors,
  };
}

/**
 * Peak RSS of a process plus that of its live children (PostgreSQL: one backend per connection).
 * Shared memory counts once per process, so for PostgreSQL this is an upper bound.
 */
function treePeakResidentMegabytes(pid: number): number {
  return peakResidentMegabytes(pid) + sumOver(childPids(pid), treePeakResidentMegabytes);
}

/** Files and their bytes below the subdirectories of `dir` whose names match. */
function filesUnder(dir: string, pattern: RegExp): { files: number; bytes: number } {
  const found = { files: 0, bytes: 0 };
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        found.files += 1;
        found.bytes += statSync(full).size;
      }
    }
  };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && pattern.test(entry.name)) walk(join(dir, entry.name));
  }
  return found;
}
