/**
 * Issue 14's replay goal as one measurement: a live consumer's end-to-end p99 (the C producer
 * paced at 5,000 records/s into a topic of its own and the C consumer reading it, as in the
 * latency workload) first alone, then while the raw Fetch reader replays the whole backlog from
 * its first offset, again and again, until the live run ends. Reported: the two p99s, their
 * ratio (goal: at most 1.5) and the replay's rate over the window (goal: 1 GB/s or more).
 */
import type { BenchFigure } from './bench-report.ts';
import type { BrokerChild } from './broker-child.ts';
import { measureNativeLatency, type NativeLatency } from './native-latency.ts';
import { rawReadAll, rawReaderClient } from './raw-fetch-reader.ts';

const liveRate = 5000;

export interface LiveUnderReplay {
  readonly solo: NativeLatency;
  readonly underReplay: NativeLatency;
  readonly replayedBytes: number;
  readonly replaySeconds: number;
  readonly passes: number;
}

export async function measureLiveUnderReplay(
  broker: BrokerChild,
  backlogTopic: string,
  backlogRecords: number,
  seconds: number,
): Promise<LiveUnderReplay> {
  const solo = await measureNativeLatency(broker, liveRate, seconds);
  // Set when the live run ends; the replay loop finishes its pass and stops.
  const liveRun = { ended: false };
  let replayedBytes = 0;
  let passes = 0;
  const started = process.hrtime.bigint();
  const replay = (async () => {
    while (!liveRun.ended) {
      const read = await rawReadAll(broker.bootstrap, backlogTopic, backlogRecords);
      replayedBytes += read.bytes;
      passes += 1;
    }
  })();
  let underReplay: NativeLatency;
  try {
    underReplay = await measureNativeLatency(broker, liveRate, seconds);
  } finally {
    liveRun.ended = true;
  }
  await replay;
  const replaySeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { solo, underReplay, replayedBytes, replaySeconds, passes };
}

/** The rows, for `system` ('' for Kafka's, whose system the comparison fills in). */
export function liveUnderReplayFigures(system: string, m: LiveUnderReplay): BenchFigure[] {
  const live = { system, client: m.solo.client, unit: 'ms' };
  const soloP99 = m.solo.e2eMs.p99;
  const underP99 = m.underReplay.e2eMs.p99;
  const tributary = system === 'tributary';
  return [
    { ...live, metric: 'live consumer e2e p99, alone', value: soloP99 },
    { ...live, metric: 'live consumer e2e p99, during a replay', value: underP99 },
    {
      ...live,
      metric: 'live e2e p99 during a replay / alone',
      value: soloP99 > 0 ? underP99 / soloP99 : 0,
      unit: 'x',
      ...(tributary ? { target: { value: 1.5, atLeast: false } } : {}),
    },
    {
      system,
      client: rawReaderClient,
      metric: 'replay read beside the live consumer',
      value: m.replaySeconds > 0 ? m.replayedBytes / 1e6 / m.replaySeconds : 0,
      unit: 'MB/s',
      ...(tributary ? { target: { value: 1000, atLeast: true } } : {}),
    },
  ];
}

export function liveUnderReplayNote(m: LiveUnderReplay): string {
  return (
    `Live consumer beside a replay: ${m.solo.client} at ${liveRate}/s for ` +
    `${m.solo.seconds} s alone, then again while the raw reader read the backlog ` +
    `${m.passes} times over (${(m.replayedBytes / 1e6).toFixed(0)} MB in ` +
    `${m.replaySeconds.toFixed(1)} s, the last pass finishing after the live run); broker CPU ` +
    `${m.solo.use.brokerCpuSeconds.toFixed(2)} s alone, ` +
    `${m.underReplay.use.brokerCpuSeconds.toFixed(2)} s beside the replay`
  );
}
