// Public surface of @tributary/bench: the workloads behind `npm run bench` and their helpers.
export {
  runProduceBench,
  type ProduceBenchOptions,
  type ProduceBenchResult,
  type ProducePhaseResult,
} from './produce-bench.ts';
export { runProduceWorkload } from './produce-workload.ts';
export { runLatencyBench } from './latency-bench.ts';
export { runFanoutBench } from './fanout-bench.ts';
export { runReplayBench } from './replay-bench.ts';
export { runScaleBench } from './scale-bench.ts';
export { runSmallProducersBench } from './small-producers-bench.ts';
export { probeDiskSync, type DiskSyncOptions, type DiskSyncResult } from './disk-sync-probe.ts';
export { processCpuSeconds, processCpuTimes, type CpuTimes } from './process-cpu.ts';
export {
  startBrokerChild,
  killAllChildren,
  type BrokerChild,
  type BrokerChildOptions,
} from './broker-child.ts';
export { summarizeMs, percentile, type LatencySummary } from './latency-summary.ts';
export { kafkaVersion, startKafka, type KafkaMode } from './kafka-peer.ts';
export { type BenchContext, type CpuUse, bottleneckNote } from './bench-context.ts';
export {
  renderMarkdown,
  renderTextTable,
  targetVerdict,
  type BenchFigure,
  type BenchTarget,
  type RunInfo,
  type WorkloadReport,
} from './bench-report.ts';
export { renderBarChartSvg, type BarChart, type ChartBar } from './bar-chart-svg.ts';
export {
  summarizeCpuProfile,
  type CpuProfile,
  type ProfileHotspot,
} from './cpu-profile-summary.ts';
