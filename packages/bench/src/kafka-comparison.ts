/**
 * Adds Apache Kafka to a workload's report (issue 14): the workload's Kafka-protocol scenario
 * runs on a fresh Kafka node in each configuration (flush per message, then page cache), its
 * rows join the report, and every Tributary row with a Kafka counterpart (same client, same
 * metric) gets its ratio to Kafka. When Kafka cannot be fetched or started the report says so
 * and the run goes on. The latency workload starts its Kafka nodes itself, to run their rounds
 * interleaved with Tributary's, and adds them with withKafkaRuns.
 */
import type { BenchContext } from './bench-context.ts';
import type { BenchFigure, KafkaRatios, WorkloadReport } from './bench-report.ts';
import { kafkaSystem, kafkaVersion, startKafka, type KafkaMode } from './kafka-peer.ts';
import { kafkaNotRun, kafkaScenarios, type KafkaScenarioResult } from './kafka-scenarios.ts';

/** The Kafka configurations every comparison runs, in this order. */
export const kafkaModes: readonly KafkaMode[] = ['durable', 'page-cache'];

/** A metric without its parenthesised detail ("throughput (ack p99 3.1 ms)" -> "throughput"). */
function metricKey(metric: string): string {
  return metric.replace(/ \(ack p99 [^)]*\)$/, '');
}

/** One Kafka configuration's outcome for a workload: its result, or why it has none. */
export interface KafkaModeRun {
  mode: KafkaMode;
  result?: KafkaScenarioResult;
  error?: string;
}

function counterpart(run: KafkaModeRun, figure: BenchFigure): number | undefined {
  const match = run.result?.figures.find(
    (kafka) =>
      kafka.client === figure.client &&
      metricKey(kafka.metric) === metricKey(figure.metric) &&
      kafka.unit === figure.unit,
  );
  return match === undefined || match.value === 0 ? undefined : figure.value / match.value;
}

/** The Tributary rows with their ratios to each Kafka configuration that ran. */
function withRatios(figures: readonly BenchFigure[], runs: readonly KafkaModeRun[]): BenchFigure[] {
  return figures.map((figure) => {
    if (figure.system !== 'tributary') return figure;
    const durable = runs.find((run) => run.mode === 'durable');
    const pageCache = runs.find((run) => run.mode === 'page-cache');
    const ratios: KafkaRatios = {
      ...(durable === undefined ? {} : { durable: counterpart(durable, figure) }),
      ...(pageCache === undefined ? {} : { pageCache: counterpart(pageCache, figure) }),
    };
    if (ratios.durable === undefined && ratios.pageCache === undefined) return figure;
    return { ...figure, vsKafka: ratios };
  });
}

function kafkaNotes(runs: readonly KafkaModeRun[]): string[] {
  const ran = runs.filter((run) => run.result !== undefined);
  const failed = runs.filter((run) => run.error !== undefined);
  return [
    `Apache Kafka ${kafkaVersion} (jars from Maven Central), one combined KRaft node ` +
      '(process.roles=broker,controller) on loopback, -Xmx1g, the same clients, sizes and ' +
      'rates as the Tributary rows: "flush per message" sets log.flush.interval.messages=1 ' +
      '(an fsync per appended batch before the acks=all reply, the durable comparison); ' +
      '"page cache" keeps the defaults (acked from the page cache, no fsync). The vs kafka ' +
      'column is tributary / kafka for the same client and metric: above 1 is better for ' +
      'throughput, below 1 is better for latency. Each configuration is a fresh JVM, measured ' +
      'as Tributary is (without a warm-up, except small-producers and latency, where both ' +
      "get one; latency's C rounds run interleaved with Tributary's, every node up at once); " +
      'a paced row whose ack latency grows to seconds means the node fell behind the offered ' +
      'rate (queueing), not a stall.',
    ...ran.map((run) => `${kafkaSystem(run.mode)}: ${run.result?.note ?? ''}.`),
    ...failed.map(
      (run) => `${kafkaSystem(run.mode)} did not run: ${(run.error ?? '').slice(0, 400)}`,
    ),
  ];
}

async function runMode(
  context: BenchContext,
  name: string,
  mode: KafkaMode,
): Promise<KafkaModeRun> {
  const scenario = kafkaScenarios.get(name);
  if (scenario === undefined) return { mode, error: 'no Kafka scenario' };
  context.log(`${name}: peer ${kafkaSystem(mode)}`);
  try {
    const broker = await startKafka(context.dataParentDir, mode, context.log);
    context.log(
      `kafka pid ${broker.pid} on ${broker.bootstrap} (ready in ${broker.readyMs.toFixed(0)} ms)`,
    );
    try {
      return { mode, result: await scenario(context, broker) };
    } finally {
      await broker.stop();
    }
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    context.log(`peer ${kafkaSystem(mode)} failed: ${message}`);
    return { mode, error: message.split('\n').slice(0, 3).join(' / ') };
  }
}

/**
 * `report` with Kafka's rows, the ratios and notes added (or a note saying why Kafka did not
 * run this workload). A failed or skipped workload is returned as it is.
 */
export async function addKafkaPeer(
  name: string,
  context: BenchContext,
  report: WorkloadReport,
): Promise<WorkloadReport> {
  if (report.figures.length === 0) return report;
  const why = kafkaNotRun.get(name);
  if (why !== undefined) return { ...report, notes: [...report.notes, `Kafka: ${why}.`] };
  if (!kafkaScenarios.has(name)) return report;
  try {
    return await withKafka(name, context, report);
  } catch (error: unknown) {
    // Kafka is a peer: whatever happens to it, the workload keeps its own figures.
    const message = error instanceof Error ? error.message : String(error);
    return { ...report, notes: [...report.notes, `Kafka did not run: ${message.slice(0, 400)}`] };
  }
}

async function withKafka(
  name: string,
  context: BenchContext,
  report: WorkloadReport,
): Promise<WorkloadReport> {
  const runs: KafkaModeRun[] = [];
  for (const mode of kafkaModes) runs.push(await runMode(context, name, mode));
  return withKafkaRuns(report, runs);
}

/**
 * `report` with the Kafka rows of `runs`, the ratios and notes added: for a workload that
 * measured Kafka itself (latency runs its rounds interleaved with Tributary's).
 */
export function withKafkaRuns(
  report: WorkloadReport,
  runs: readonly KafkaModeRun[],
): WorkloadReport {
  const kafkaFigures = runs.flatMap((run) =>
    (run.result?.figures ?? []).map((figure) => ({ ...figure, system: kafkaSystem(run.mode) })),
  );
  return {
    ...report,
    figures: [...withRatios(report.figures, runs), ...kafkaFigures],
    notes: [...report.notes, ...kafkaNotes(runs)],
    chart: {
      ...report.chart,
      bars: [
        ...report.chart.bars,
        // One bar per Kafka row that shares the chart's unit and a Tributary row's metric.
        ...kafkaFigures
          .filter((figure) => chartable(report, figure))
          .map((figure) => ({
            label: `${figure.system} ${metricKey(figure.metric)}`,
            value: figure.value,
          })),
      ],
    },
  };
}

/**
 * Goal rows for a figure that issue 14 holds against Kafka ("e2e p99 <= Kafka's"): for each
 * Tributary row of `metric` with a ratio to a Kafka configuration, that ratio as its own row,
 * with the target that it be at most 1 (both configurations carry it: the goal names neither).
 */
export function kafkaRatioGoals(report: WorkloadReport, metric: string): WorkloadReport {
  const goals: BenchFigure[] = [];
  for (const figure of report.figures) {
    if (figure.system !== 'tributary' || figure.metric !== metric) continue;
    for (const mode of kafkaModes) {
      const ratio = mode === 'durable' ? figure.vsKafka?.durable : figure.vsKafka?.pageCache;
      if (ratio === undefined) continue;
      goals.push({
        system: figure.system,
        client: figure.client,
        metric: `${metric} / ${kafkaSystem(mode)}'s`,
        value: ratio,
        unit: 'x',
        target: { value: 1, atLeast: false },
      });
    }
  }
  return { ...report, figures: [...report.figures, ...goals] };
}

function chartable(report: WorkloadReport, figure: BenchFigure): boolean {
  if (report.chart.unit !== '' && figure.unit !== report.chart.unit) return false;
  return /^(acks=all throughput|throughput|e2e p99$|ack p99 \(from|catch-up read|deliveries)/.test(
    figure.metric,
  );
}
