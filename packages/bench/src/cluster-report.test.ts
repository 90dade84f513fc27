import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterReport, type ClusterWorkload, type ModeResult } from './cluster-report.ts';

const workload: ClusterWorkload = {
  brokers: 3,
  recordBytes: 1000,
  partitions: 6,
  lingerMs: 5,
  throughputRecords: 1_000_000,
  latencyRate: 5000,
  latencySeconds: 20,
};

function mode(system: string, m: { seconds: number; cpu: number; p50: number; rss: number }) {
  const percentiles = { samples: 100, p50: m.p50, p99: m.p50 * 4, p999: m.p50 * 8, max: 99 };
  const result: ModeResult = {
    system,
    throughput: {
      acked: 1_000_000,
      errors: 0,
      firstError: null,
      seconds: m.seconds,
      ackMs: percentiles,
      brokerCpuSeconds: m.cpu,
      serviceCpuSeconds: system === 'cluster' ? m.cpu : 0,
      use: {
        wallSeconds: m.seconds,
        brokerCpuSeconds: m.cpu,
        machineBusySeconds: 1,
        cores: 2,
        rssMb: m.rss,
        peakRssMb: m.rss,
      },
    },
    latency: { e2eMs: percentiles, ackMs: percentiles, delivered: 100_000, producerErrors: 0 },
    brokerPeakRssMb: m.rss,
    servicePeakRssMb: system === 'cluster' ? 50 : 0,
  };
  return result;
}

test('clusterReport puts both modes side by side and divides cluster by embedded', () => {
  const embedded = mode('embedded', { seconds: 2, cpu: 4, p50: 1, rss: 200 });
  const cluster = mode('cluster', { seconds: 8, cpu: 8, p50: 10, rss: 600 });
  const report = clusterReport(workload, embedded, cluster);
  const value = (system: string, metric: string): number | undefined =>
    report.figures.find((f) => f.system === system && f.metric === metric)?.value;
  // 1 GB (10^6 records of 1000 bytes): 500 MB/s embedded, 125 MB/s cluster.
  assert.equal(value('embedded', 'acks=all throughput'), 500_000);
  assert.equal(value('cluster', 'CPU per GB produced, 3 brokers'), 8);
  assert.equal(value('cluster', 'CPU per GB produced, PostgreSQL + S3 server'), 8);
  assert.equal(value('cluster / embedded', 'throughput (MB/s and records/s)'), 0.25);
  assert.equal(value('cluster / embedded', 'e2e p50'), 10);
  assert.equal(value('cluster / embedded', 'broker CPU per GB'), 2);
  assert.equal(value('cluster / embedded', 'CPU per GB, counting PostgreSQL + S3 server'), 4);
  assert.equal(value('cluster / embedded', 'broker peak RSS (3 processes vs 1)'), 3);
  assert.match(report.notes[0] ?? '', /latency is higher: p50 10\.0 ms against 1\.00 ms/);
});
