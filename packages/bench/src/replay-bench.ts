/**
 * Workload 4: replay under live load. A backlog is written first; then a live producer at
 * 5,000 records/s runs alone (baseline ack p99, from intended send times), and again while a
 * fresh consumer group reads the backlog from the beginning. Reports catch-up MB/s and the live
 * producer's ack p99 against its baseline. The backlog is issue 5's 2 GB (100 MB in --quick).
 * The backlog writer and the catch-up reader are the C load generator (native-load.ts) where it
 * builds, so the reader measures the broker rather than a Python loop; the live producer is
 * python3-confluent-kafka, which records each ack against its intended send time. The peers
 * (peer-replay.ts) run the same sequence on a smaller backlog with the suite's clients.
 * The live consumer beside a replay (live-under-replay.ts) also runs beside a second broker
 * process's copy of the backlog being replayed: the machine's share of the goal's ratio.
 */
import {
  bottleneckNote,
  cpuUseWindow,
  resourceFigures,
  perCpu,
  sleep,
  uniqueTopic,
  withBroker,
  type BenchContext,
  type CpuUse,
} from './bench-context.ts';
import type { BenchFigure, WorkloadReport } from './bench-report.ts';
import { summarizeMs } from './latency-summary.ts';
import {
  acksDuring,
  consumeResult,
  createTopic,
  librdkafkaClient,
  pacedResult,
  type PacedResult,
  startConsumer,
  startFlatOut,
  startPaced,
} from './kafka-drivers.ts';
import {
  liveUnderReplayFigures,
  liveUnderReplayNote,
  measureLiveUnderReplay,
} from './live-under-replay.ts';
import { peerReplay, type PeerReplayRun } from './peer-replay.ts';
import { rawReadAll, rawReadFigures, rawReadNote } from './raw-fetch-reader.ts';
import { peersFor, runOnPeers, summarizePeers, type PeerOutcome } from './peer-systems.ts';
import {
  nativeClient,
  nativeLoadAvailable,
  startNativeConsume,
  startNativeProduce,
} from './native-load.ts';
import { driverNumber } from './python-driver.ts';

const liveRate = 5000;
/** Value bytes of every record, backlog and live. */
const recordBytes = 1024;

export async function runReplayBench(context: BenchContext): Promise<WorkloadReport> {
  const report = await runTributary(context);
  const backlogMB = context.quick ? 30 : 500;
  const baselineSeconds = context.quick ? 1.5 : 8;
  const liveSeconds = context.quick ? 3.5 : 25;
  const outcomes = await runOnPeers(context, 'replay', peersFor(context), (peer, server) =>
    peerReplay(peer, server, {
      backlogRecords: Math.round((backlogMB * 1e6) / 1024),
      liveRate,
      baselineSeconds,
      liveSeconds,
    }),
  );
  const { ran, failures } = summarizePeers(outcomes);
  return {
    ...report,
    figures: [...report.figures, ...outcomes.flatMap(peerFigures)],
    notes: [
      ...report.notes,
      `Peers: a ${backlogMB} MB backlog (smaller than tributary's: the suite's one-process ` +
        'clients write and read it, and Redis holds it in memory), written by the pipelined ' +
        `producer (256 unacknowledged); one live producer run of ${liveSeconds} s at ` +
        `${liveRate}/s: its first ${baselineSeconds} s alone are the baseline, then a group ` +
        'created after the backlog reads it from the first record. Live ack: ' +
        (ran.map(({ peer }) => `${peer.system}: ${peer.ack}`).join('; ') || 'none ran') +
        '. Reader: ' +
        ran.map(({ peer }) => `${peer.system}: ${peer.delivery}`).join('; ') +
        '.',
      ...ran.map(({ peer, run }) => peerNote(peer.system, run)),
      ...failures,
    ],
    chart: {
      ...report.chart,
      bars: [
        ...report.chart.bars.map((bar) => ({ ...bar, label: `tributary ${bar.label}` })),
        ...ran.map(({ peer, run }) => ({
          label: `${peer.system} catch-up MB/s`,
          value: peerCatchUpMBps(run),
        })),
      ],
    },
  };
}

function peerCatchUpMBps(run: PeerReplayRun): number {
  return run.catchUpSeconds > 0 ? run.read.bytes / 1e6 / run.catchUpSeconds : 0;
}

function peerFigures(outcome: PeerOutcome<PeerReplayRun>): BenchFigure[] {
  const run = outcome.result;
  if (run === undefined) return [];
  const base = { system: outcome.peer.system, client: outcome.peer.client.name };
  const baselineP99 = run.baseline.p99;
  return [
    {
      ...base,
      metric: 'catch-up read',
      value: peerCatchUpMBps(run),
      unit: 'MB/s',
      perCpuSecond: perCpu(run.read.count, run.use.brokerCpuSeconds),
    },
    { ...base, metric: 'live ack p99, baseline', value: baselineP99, unit: 'ms' },
    { ...base, metric: 'live ack p99, during replay', value: run.during.p99, unit: 'ms' },
    ...resourceFigures(base, run.use, {
      producedBytes: liveRate * run.catchUpSeconds * recordBytes,
      fetchedBytes: run.read.bytes,
    }),
    {
      ...base,
      metric: 'live p99 during / baseline',
      value: baselineP99 > 0 ? run.during.p99 / baselineP99 : 0,
      unit: 'x',
    },
  ];
}

function peerNote(system: string, run: PeerReplayRun): string {
  // A loop, not Math.max(...samples): a full run has more samples than arguments fit the stack.
  let liveEndMs = -Infinity;
  for (const [intendedMs] of run.live.samples) if (intendedMs > liveEndMs) liveEndMs = intendedMs;
  const outlasted = run.read.lastMs > liveEndMs ? ' (the catch-up outlasted the live run)' : '';
  return (
    `${system}: backlog ${run.written} records, ${run.read.count} read in ` +
    `${run.catchUpSeconds.toFixed(2)} s${outlasted}; ${run.during.samples} live acks during ` +
    `the replay, ${run.baseline.samples} before it; live errors ${run.live.errors}; ` +
    `server CPU ${run.use.brokerCpuSeconds.toFixed(2)} s. ${bottleneckNote(run.use)}`
  );
}

function runTributary(context: BenchContext): Promise<WorkloadReport> {
  const backlogMB = context.quick ? 100 : 2000;
  const liveSeconds = context.quick ? 6 : 20;
  return withBroker(context, {}, async (broker) => {
    const topic = uniqueTopic('bench-replay');
    await createTopic(broker.bootstrap, topic, 1);
    const backlogRecords = Math.round((backlogMB * 1e6) / 1024);
    const native = await nativeLoadAvailable(context.log);
    context.log(`replay: writing a ${backlogMB} MB backlog`);
    const written = await writeBacklog(native, broker.bootstrap, topic, backlogRecords);
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
    const replay = await readBacklog(native, broker.bootstrap, topic, written);
    const use = cpu();
    context.log('replay: the raw Fetch reader, still under the live producer');
    const rawCpu = cpuUseWindow(broker.pid);
    const raw = await rawReadAll(broker.bootstrap, topic, written);
    const rawUse = rawCpu();
    const underReplay = pacedResult(await live.summary);
    context.log('replay: a second broker with a copy of the backlog, for the control');
    const besideReplay = await withBroker(context, {}, async (second) => {
      await createTopic(second.bootstrap, topic, 1);
      const copied = await writeBacklog(native, second.bootstrap, topic, backlogRecords);
      context.log("replay: a live consumer alone, beside a replay, beside the second broker's");
      return measureLiveUnderReplay(
        broker,
        { bootstrap: broker.bootstrap, topic, records: written },
        context.quick,
        { bootstrap: second.bootstrap, topic, records: copied },
      );
    });
    const report = replayReport({
      backlogMB,
      liveSeconds,
      written,
      baseline,
      underReplay,
      replay,
      use,
    });
    const rawFigures = rawReadFigures(raw, underReplay, baseline.ackMs.p99, rawUse).map(
      (figure) => ({
        system: 'tributary',
        ...figure,
        ...(figure.client === raw.client && figure.unit === 'MB/s'
          ? { target: { value: 1000, atLeast: true } }
          : {}),
      }),
    );
    return {
      ...report,
      figures: [
        ...report.figures,
        ...rawFigures,
        ...liveUnderReplayFigures('tributary', besideReplay),
      ],
      notes: [
        ...report.notes,
        `${rawReadNote(raw, rawUse)}.`,
        `${liveUnderReplayNote(besideReplay)}.`,
      ],
    };
  });
}

async function writeBacklog(
  native: boolean,
  bootstrap: string,
  topic: string,
  records: number,
): Promise<number> {
  if (native) {
    const fill = await startNativeProduce({ bootstrap, topic, records, size: 1024 });
    return (await fill.result).acked;
  }
  const fill = startFlatOut({ bootstrap, topic, seconds: 600, maxRecords: records });
  return driverNumber(await fill.summary, 'acked');
}

/** What the report needs of the catch-up read, whichever client did it. */
interface CatchUp {
  client: string;
  mode: string;
  count: number;
  bytes: number;
  firstNs: bigint;
  lastNs: bigint;
}

/** A fresh consumer group reads the backlog from the first record. */
async function readBacklog(
  native: boolean,
  bootstrap: string,
  topic: string,
  records: number,
): Promise<CatchUp> {
  const group = `${topic}-replay`;
  if (native) {
    const reader = await startNativeConsume({ bootstrap, topic, group, records, idleMs: 30_000 });
    const read = await reader.result;
    return { client: nativeClient, mode: 'group', count: read.records, ...read };
  }
  const consumer = startConsumer({ bootstrap, topic, group, expect: records, seconds: 300 });
  return { client: librdkafkaClient, ...consumeResult(await consumer.summary) };
}

interface ReplayMeasurements {
  backlogMB: number;
  liveSeconds: number;
  written: number;
  baseline: PacedResult;
  underReplay: PacedResult;
  replay: CatchUp;
  use: CpuUse;
}

function replayReport(m: ReplayMeasurements): WorkloadReport {
  const { backlogMB, liveSeconds, written, baseline, underReplay, replay, use } = m;
  const cpuSeconds = use.brokerCpuSeconds;
  // Only the live records meant to be sent while the replay was reading count as "during".
  const during = acksDuring(underReplay, replay);
  const duringP99 = summarizeMs(during).p99Ms;
  // From the first record read to the last: joining the group is a fixed cost, not a rate.
  const catchUpSeconds = Number(replay.lastNs - replay.firstNs) / 1e9;
  const catchUpMBps = catchUpSeconds > 0 ? replay.bytes / 1e6 / catchUpSeconds : 0;
  const ratio = baseline.ackMs.p99 > 0 ? duringP99 / baseline.ackMs.p99 : 0;
  const base = { system: 'tributary', client: librdkafkaClient };
  const readerBase = { system: 'tributary', client: replay.client };
  return {
    name: 'replay',
    title: `replay of a ${backlogMB} MB backlog under a live ${liveRate}/s producer`,
    figures: [
      {
        ...readerBase,
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
      // The window holds the catch-up read and the live records sent meanwhile.
      ...resourceFigures(readerBase, use, {
        producedBytes: during.length * recordBytes,
        fetchedBytes: replay.bytes,
      }),
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
      `Catch-up window: ${bottleneckNote(use)} Reader: ${replay.client}` +
        (replay.client === nativeClient
          ? ' (counts records, no per-record work; 16 MiB per-partition fetches).'
          : '; one Python process handling each record caps the measurable rate near 500 ' +
            'MB/s on this machine.'),
      'What moves the live ack tail during a catch-up: the catch-up Fetches share the ' +
        "broker's event loop with the live produce path. The crc32c check of every batch read " +
        '(a third of the main thread at 1.4 GB/s) runs on the frame check thread over the ' +
        'shared read buffers; what stays on the loop is handing 64 MiB responses to the ' +
        "socket (the kernel's copy, the main thread's largest cost while replaying) and the " +
        'requests themselves, and on two cores the reader process takes most of one.',
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
