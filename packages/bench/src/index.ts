// Public surface of @tributary/bench: the benchmarks behind `npm run bench`.
export {
  runProduceBench,
  type ProduceBenchOptions,
  type ProduceBenchResult,
  type ProducePhaseResult,
} from './produce-bench.ts';
export { probeDiskSync, type DiskSyncOptions, type DiskSyncResult } from './disk-sync-probe.ts';
export { processCpuSeconds, processCpuTimes, type CpuTimes } from './process-cpu.ts';
export { startBrokerChild, type BrokerChild } from './broker-child.ts';
export { summarizeMs, percentile, type LatencySummary } from './latency-summary.ts';
