/**
 * Workload 4: replay under live load. A backlog is written first; then a live producer at
 * 5,000 records/s runs alone (baseline ack p99, from intended send times), and again while a
 * fresh consumer group reads the backlog from the beginning. Reports catch-up MB/s and the live
 * producer's ack p99 against its baseline. The backlog is issue 5's 2 GB (100 MB in --quick).
 */
import {
  bottleneckNote,
  cpuUseWindow,
  sleep,
  uniqueTopic,
  withBroker,
  type BenchContext,
  type CpuUse,
} from './bench-context.ts';
import type { WorkloadReport } from './bench-report.ts';
import { summarizeMs } from './latency-summary.ts';
import {
  consumeResult,
  createTopic,
  librdkafkaClient,
  pacedResult,
  type ConsumeResult,
  type PacedResult,
  startConsumer,
  startFlatOut,
  startPaced,
} from './kafka-drivers.ts';
import { driverNumber } from './python-driver.ts';

const liveRate = 5000;

export async function runReplayBench(context: BenchContext): Promise<WorkloadReport> {
  const backlogMB = context.quick ? 100 : 2000;
  const liveSeconds = context.quick ? 6 : 20;
  return withBroker(context, {}, async (broker) => {
    const topic = uniqueTopic('bench-replay');
    await createTopic(broker.bootstrap, topic, 1);
    const backlogRecords = Math.round((backlogMB * 1e6) / 1024);
    context.log(`replay: writing a ${backlogMB} MB backlog`);
    const fill = startFlatOut({
      bootstrap: broker.bootstrap,
      topic,
      seconds: 600,
      maxRecords: backlogRecords,
    });
    const written = driverNumber(await fill.summary, 'acked');
    const pacing = {
      bootstrap: broker.bootstrap,
      topic,
      ratePerSecond: liveRate,
      seconds: liveSeconds,
    };
    const baseline = pacedResult(await startPaced(pacing).summary);
    context.log('replay: live producer plus catch-up consumer');
    const live = startPaced({ ...pacing, dump: true });
    await live.waitFor('started');
    await sleep(1000);
    const cpu = cpuUseWindow(broker.pid);
    const consumer = startConsumer({
      bootstrap: broker.bootstrap,
      topic,
      group: `${topic}-replay`,
      expect: written,
      seconds: 300,
    });
    const replay = consumeResult(await consumer.summary);
    const use = cpu();
    const underReplay = pacedResult(await live.summary);
    return replayReport({ backlogMB, liveSeconds, written, baseline, underReplay, replay, use });
  });
}

interface ReplayMeasurements {
  backlogMB: number;
  liveSeconds: number;
  written: number;
  baseline: PacedResult;
  underReplay: PacedResult;
  replay: ConsumeResult;
  use: CpuUse;
}

function replayReport(m: ReplayMeasurements): WorkloadReport {
  const { backlogMB, liveSeconds, written, baseline, underReplay, replay, use } = m;
  const cpuSeconds = use.brokerCpuSeconds;
  // Only the live records meant to be sent while the replay was reading count as "during".
  const during = underReplay.samples
    .filter(([intendedNs]) => intendedNs >= replay.startNs && intendedNs <= replay.lastNs)
    .map(([, ms]) => ms);
  const duringP99 = summarizeMs(during).p99Ms;
  const catchUpSeconds = Number(replay.lastNs - replay.startNs) / 1e9;
  const catchUpMBps = catchUpSeconds > 0 ? replay.bytes / 1e6 / catchUpSeconds : 0;
  const ratio = baseline.ackMs.p99 > 0 ? duringP99 / baseline.ackMs.p99 : 0;
  const base = { system: 'tributary', client: librdkafkaClient };
  return {
    name: 'replay',
    title: `replay of a ${backlogMB} MB backlog under a live ${liveRate}/s producer`,
    figures: [
      {
        ...base,
        metric: 'catch-up read',
        value: catchUpMBps,
        unit: 'MB/s',
        perCpuSecond: replay.count / Math.max(cpuSeconds, 1e-9),
        target: { value: 200, atLeast: true },
      },
      { ...base, metric: 'live ack p99, baseline', value: baseline.ackMs.p99, unit: 'ms' },
      { ...base, metric: 'live ack p99, during replay', value: duringP99, unit: 'ms' },
      {
        ...base,
        metric: 'live ack p99, whole live run',
        value: underReplay.ackMs.p99,
        unit: 'ms',
      },
      {
        ...base,
        metric: 'live p99 during / baseline',
        value: ratio,
        unit: 'x',
        target: { value: 2, atLeast: false },
      },
    ],
    notes: [
      `Backlog ${backlogMB} MB (${written} records of 1 KiB, one partition; 2 GB as issue 5 ` +
        `asks, 100 MB with --quick); consumer mode: ${replay.mode}, ` +
        `${replay.count} records read in ${catchUpSeconds.toFixed(2)} s.`,
      `Live producer ${liveRate}/s for ${liveSeconds} s, ack latency from intended send time; ` +
        `errors baseline ${baseline.errors}, during replay ${underReplay.errors}; ` +
        `"during replay" is the ${during.length} live records whose intended send time fell ` +
        'inside the catch-up window. ' +
        `msgs/CPU-s counts replayed records over broker CPU ${cpuSeconds.toFixed(2)} s.`,
      `Catch-up window: ${bottleneckNote(use)} The reader is one Python process handling ` +
        'each record, which caps the measurable rate near 100k records/s on this machine; a ' +
        'C reader (librdkafka rdkafka_performance) or several partitions would show whether ' +
        "the broker's read path is the limit.",
    ],
    chart: {
      title: 'Workload 4: replay catch-up MB/s and live ack p99 (ms)',
      unit: '',
      bars: [
        { label: 'catch-up MB/s', value: catchUpMBps, target: 200 },
        { label: 'live ack p99 baseline (ms)', value: baseline.ackMs.p99 },
        { label: 'live ack p99 during replay (ms)', value: duringP99 },
      ],
    },
  };
}
