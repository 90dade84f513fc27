/**
 * The cluster workload's report: each mode's figures side by side, then cluster / embedded
 * ratios, and notes that say what an acknowledgement means in each mode and what the figures
 * read as. Pure: the measurements come in, the report goes out.
 */
import type { CpuUse } from './bench-context.ts';
import { bottleneckNote } from './bench-context.ts';
import type { BenchFigure, WorkloadReport } from './bench-report.ts';
import { formatValue } from './bar-chart-svg.ts';
import { nativeClient } from './native-load.ts';
import type { DriverPercentiles } from './python-driver.ts';

export interface ClusterWorkload {
  brokers: number;
  recordBytes: number;
  partitions: number;
  lingerMs: number;
  throughputRecords: number;
  latencyRate: number;
  latencySeconds: number;
}

/** One mode's measurements. */
export interface ModeResult {
  system: string;
  throughput: {
    acked: number;
    errors: number;
    firstError: string | null;
    seconds: number;
    ackMs: DriverPercentiles;
    /** Every broker process over the flat-out phase. */
    brokerCpuSeconds: number;
    /** PostgreSQL (postmaster and backends) and the S3 server; 0 for the embedded broker. */
    serviceCpuSeconds: number;
    use: CpuUse;
  };
  latency: {
    e2eMs: DriverPercentiles;
    ackMs: DriverPercentiles;
    delivered: number;
    producerErrors: number;
  };
  /** Sum over the broker processes of each one's peak RSS (VmHWM), after both phases. */
  brokerPeakRssMb: number;
  servicePeakRssMb: number;
  /** What the cluster brokers left in their local data directories. */
  localFiles?: { files: number; bytes: number };
}

function gigabytes(result: ModeResult, recordBytes: number): number {
  return (result.throughput.acked * recordBytes) / 1e9;
}

function recordsPerSecond(result: ModeResult): number {
  const { acked, seconds } = result.throughput;
  return seconds > 0 ? acked / seconds : 0;
}

function ratio(a: number, b: number): number {
  return b > 0 ? a / b : 0;
}

function throughputFigures(result: ModeResult, workload: ClusterWorkload): BenchFigure[] {
  const base = { system: result.system, client: nativeClient };
  const { throughput } = result;
  const { ackMs } = throughput;
  const gb = gigabytes(result, workload.recordBytes);
  const clustered = result.throughput.serviceCpuSeconds > 0;
  const figures: BenchFigure[] = [
    {
      ...base,
      metric:
        `acks=all throughput, ${workload.partitions} partitions, linger ${workload.lingerMs} ms ` +
        `(ack p50 ${formatValue(ackMs.p50)} ms, p99 ${formatValue(ackMs.p99)} ms)`,
      value: (recordsPerSecond(result) * workload.recordBytes) / 1e6,
      unit: 'MB/s',
      perCpuSecond: ratio(throughput.acked, throughput.brokerCpuSeconds),
    },
    { ...base, metric: 'acks=all throughput', value: recordsPerSecond(result), unit: 'records/s' },
    {
      ...base,
      metric: clustered
        ? `CPU per GB produced, ${workload.brokers} brokers`
        : 'CPU per GB produced',
      value: ratio(throughput.brokerCpuSeconds, gb),
      unit: 's/GB',
    },
  ];
  if (clustered) {
    figures.push({
      ...base,
      metric: 'CPU per GB produced, PostgreSQL + S3 server',
      value: ratio(throughput.serviceCpuSeconds, gb),
      unit: 's/GB',
    });
  }
  return figures;
}

function modeFigures(result: ModeResult, workload: ClusterWorkload): BenchFigure[] {
  const base = { system: result.system, client: nativeClient };
  const { latency } = result;
  const rate = `at ${workload.latencyRate}/s`;
  const expect = workload.latencyRate * workload.latencySeconds;
  const figures = [
    ...throughputFigures(result, workload),
    { ...base, metric: `e2e p50 ${rate}`, value: latency.e2eMs.p50, unit: 'ms' },
    { ...base, metric: `e2e p99 ${rate}`, value: latency.e2eMs.p99, unit: 'ms' },
    { ...base, metric: `e2e p99.9 ${rate}`, value: latency.e2eMs.p999, unit: 'ms' },
    {
      ...base,
      metric: `producer ack p99 ${rate} (from intended)`,
      value: latency.ackMs.p99,
      unit: 'ms',
    },
    { ...base, metric: 'records delivered', value: latency.delivered, unit: `of ${expect}` },
    {
      ...base,
      metric: 'broker peak RSS (sum over brokers)',
      value: result.brokerPeakRssMb,
      unit: 'MB',
    },
  ];
  if (result.servicePeakRssMb > 0) {
    figures.push({
      ...base,
      metric: 'PostgreSQL + S3 server peak RSS (upper bound)',
      value: result.servicePeakRssMb,
      unit: 'MB',
    });
  }
  return figures;
}

function ratioFigures(
  workload: ClusterWorkload,
  embedded: ModeResult,
  clustered: ModeResult,
): BenchFigure[] {
  const versus = { system: 'cluster / embedded', client: nativeClient, unit: 'x' };
  const cpuPerGb = (result: ModeResult, withServices: boolean): number => {
    const { brokerCpuSeconds, serviceCpuSeconds } = result.throughput;
    const seconds = brokerCpuSeconds + (withServices ? serviceCpuSeconds : 0);
    return ratio(seconds, gigabytes(result, workload.recordBytes));
  };
  const e2e = (result: ModeResult) => result.latency.e2eMs;
  return [
    {
      ...versus,
      metric: 'throughput (MB/s and records/s)',
      value: ratio(recordsPerSecond(clustered), recordsPerSecond(embedded)),
    },
    { ...versus, metric: 'e2e p50', value: ratio(e2e(clustered).p50, e2e(embedded).p50) },
    { ...versus, metric: 'e2e p99', value: ratio(e2e(clustered).p99, e2e(embedded).p99) },
    {
      ...versus,
      metric: 'broker CPU per GB',
      value: ratio(cpuPerGb(clustered, false), cpuPerGb(embedded, false)),
    },
    {
      ...versus,
      metric: 'CPU per GB, counting PostgreSQL + S3 server',
      value: ratio(cpuPerGb(clustered, true), cpuPerGb(embedded, true)),
    },
    {
      ...versus,
      metric: 'broker peak RSS (3 processes vs 1)',
      value: ratio(clustered.brokerPeakRssMb, embedded.brokerPeakRssMb),
    },
  ];
}

/** One or two sentences reading the figures, worded from them (higher or lower, by how much). */
function readingNote(embedded: ModeResult, clustered: ModeResult): string {
  const [e, c] = [embedded.latency.e2eMs, clustered.latency.e2eMs];
  const times = (a: number, b: number): string => `${formatValue(ratio(a, b))}x`;
  const throughput = ratio(recordsPerSecond(clustered), recordsPerSecond(embedded));
  return (
    "Reading: an acknowledgement in cluster mode waits for its window's S3 PUT and PostgreSQL " +
    `commit instead of one local fsync, so its end-to-end latency is ` +
    `${c.p50 >= e.p50 ? 'higher' : 'lower'}: p50 ${formatValue(c.p50)} ms against ` +
    `${formatValue(e.p50)} ms (${times(c.p50, e.p50)}), p99 ${formatValue(c.p99)} ms against ` +
    `${formatValue(e.p99)} ms (${times(c.p99, e.p99)}). Flat out it carried ` +
    `${formatValue(throughput)}x the embedded broker's throughput, with three brokers, ` +
    'PostgreSQL, the S3 server and the load generator on the same cores.'
  );
}

function modeNote(result: ModeResult): string {
  const { throughput, latency } = result;
  const first = throughput.firstError === null ? '' : ` (first: ${throughput.firstError})`;
  const clustered = throughput.serviceCpuSeconds > 0;
  const cpu = throughput.brokerCpuSeconds.toFixed(2);
  return (
    `${result.system}: ${throughput.acked} records acked in ${throughput.seconds.toFixed(2)} s, ` +
    `producer errors ${throughput.errors}${first} flat out and ${latency.producerErrors} paced; ` +
    (clustered
      ? `CPU of the brokers together ${cpu} s (the bottleneck line counts them as one), ` +
        `PostgreSQL + S3 server ${throughput.serviceCpuSeconds.toFixed(2)} s. `
      : `broker CPU ${cpu} s. `) +
    bottleneckNote(throughput.use)
  );
}

function localFilesNote(clustered: ModeResult): string[] {
  const local = clustered.localFiles;
  if (local === undefined) return [];
  if (local.files === 0) {
    return [
      "After the run the cluster brokers' data directories held no file: nothing of the " +
        'records was written to the local disk, they are in the bucket.',
    ];
  }
  return [
    `After the run the cluster brokers' data directories held ${local.files} files ` +
      `(${formatValue(local.bytes / 1e6)} MB).`,
  ];
}

export function clusterReport(
  workload: ClusterWorkload,
  embedded: ModeResult,
  clustered: ModeResult,
): WorkloadReport {
  return {
    name: 'cluster',
    title:
      `Cluster mode (${workload.brokers} brokers over PostgreSQL and S3) vs embedded: ` +
      `produce throughput and end-to-end latency (1 KiB, acks=all)`,
    figures: [
      ...modeFigures(clustered, workload),
      ...modeFigures(embedded, workload),
      ...ratioFigures(workload, embedded, clustered),
    ],
    notes: [
      readingNote(embedded, clustered),
      "Acknowledgement: embedded = appended to the local WAL and fsync'd (group commit); " +
        'cluster = the WAL object holding the batch is in the bucket and the PostgreSQL ' +
        "transaction that indexes it under the leader's epoch has committed " +
        '(docs/adr/0011-cluster-durability.md).',
      `Cluster: \`tributary cluster up --brokers ${workload.brokers}\` as a child process (a ` +
        'private PostgreSQL with fsync on and SeaweedFS `weed server -s3` on loopback, then ' +
        `${workload.brokers} broker processes), ready at its \`cluster ready\` line, stopped ` +
        "with SIGTERM. All of them, the load generator and the consumer share the machine's " +
        'cores. Ratios are cluster divided by embedded (throughput: higher is better; ' +
        'latency, CPU and memory: lower is better).',
      `Throughput: one tributary-load producer, ${workload.throughputRecords} records over ` +
        `${workload.partitions} partitions (spread over the brokers by lease), flat out. ` +
        'msgs/CPU-s and "CPU per GB" divide by the CPU time of the broker processes (all of ' +
        'them in cluster mode); the PostgreSQL + S3 server row adds the postmaster, its ' +
        'backends and weed over the same phase.',
      `Latency: ${workload.latencyRate} records/s for ${workload.latencySeconds} s to one ` +
        'partition, linger.ms 1, timed from the intended send time (in the value) to the ' +
        'consumer (assign mode, fetching from the leader) receiving it.',
      'Peak RSS is VmHWM after both phases; for PostgreSQL it adds every backend, so shared ' +
        'buffers count more than once.',
      modeNote(clustered),
      modeNote(embedded),
      ...localFilesNote(clustered),
    ],
    chart: {
      title: `Cluster vs embedded: end-to-end latency at ${workload.latencyRate}/s (ms)`,
      unit: 'ms',
      bars: [clustered, embedded].flatMap((result) => {
        const who = result === embedded ? 'embedded' : 'cluster';
        return [
          { label: `${who} p50`, value: result.latency.e2eMs.p50 },
          { label: `${who} p99`, value: result.latency.e2eMs.p99 },
        ];
      }),
    },
  };
}
