/**
 * Issue 14's replay goal as one measurement: a live consumer's end-to-end p99 (the C producer
 * paced at 5,000 records/s into a topic of its own and the C consumer reading it, as in the
 * latency workload) alone, then while the raw Fetch reader replays the whole backlog from its
 * first offset, again and again, until that live run ends. A p99 over seconds moves 2-3x from
 * run to run on this machine with nothing changed (one stall of tens of milliseconds in a
 * window decides it), so the pair runs `rounds` times interleaved and the goal is judged on the
 * median of the per-round ratios (ADR 0005). Reported: the median p99s, that ratio (goal: at
 * most 1.5) and the replay's rate over its windows (goal: 1 GB/s or more).
 */
import { machineBusyShare, type CpuUse } from './bench-context.ts';
import type { BenchFigure } from './bench-report.ts';
import type { BrokerChild } from './broker-child.ts';
import { median } from './latency-summary.ts';
import { measureNativeLatency, type NativeLatency } from './native-latency.ts';
import { rawReadAll, rawReaderClient } from './raw-fetch-reader.ts';

const liveRate = 5000;

export interface LiveUnderReplayRound {
  readonly solo: NativeLatency;
  readonly underReplay: NativeLatency;
  readonly replayedBytes: number;
  readonly replaySeconds: number;
  readonly passes: number;
}

export interface LiveUnderReplay {
  readonly client: string;
  readonly seconds: number;
  readonly rounds: readonly LiveUnderReplayRound[];
}

/**
 * `quick` (the CI smoke run) takes one round of 4 s; a full run takes three rounds of 8 s, the
 * same for every system so their ratios compare.
 */
export async function measureLiveUnderReplay(
  broker: BrokerChild,
  backlogTopic: string,
  backlogRecords: number,
  quick: boolean,
): Promise<LiveUnderReplay> {
  const seconds = quick ? 4 : 8;
  const rounds = quick ? 1 : 3;
  const measured: LiveUnderReplayRound[] = [];
  for (let round = 0; round < rounds; round++) {
    const solo = await measureNativeLatency(broker, liveRate, seconds);
    measured.push({
      solo,
      ...(await roundUnderReplay(broker, backlogTopic, backlogRecords, seconds)),
    });
  }
  return { client: measured[0]?.solo.client ?? '', seconds, rounds: measured };
}

async function roundUnderReplay(
  broker: BrokerChild,
  backlogTopic: string,
  backlogRecords: number,
  seconds: number,
): Promise<Omit<LiveUnderReplayRound, 'solo'>> {
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
  let live: NativeLatency;
  try {
    live = await measureNativeLatency(broker, liveRate, seconds);
  } finally {
    liveRun.ended = true;
  }
  await replay;
  const replaySeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { underReplay: live, replayedBytes, replaySeconds, passes };
}

/** Each round's live p99 beside the replay over its p99 alone. */
function ratiosOf(m: LiveUnderReplay): number[] {
  return m.rounds.map(({ solo, underReplay }) =>
    solo.e2eMs.p99 > 0 ? underReplay.e2eMs.p99 / solo.e2eMs.p99 : 0,
  );
}

/** The rows, for `system` ('' for Kafka's, whose system the comparison fills in). */
export function liveUnderReplayFigures(system: string, m: LiveUnderReplay): BenchFigure[] {
  const live = { system, client: m.client, unit: 'ms' };
  const tributary = system === 'tributary';
  const bytes = m.rounds.reduce((sum, round) => sum + round.replayedBytes, 0);
  const replaySeconds = m.rounds.reduce((sum, round) => sum + round.replaySeconds, 0);
  const rounds = `median of ${m.rounds.length}`;
  return [
    {
      ...live,
      metric: `live consumer e2e p99, alone (${rounds})`,
      value: median(m.rounds.map((round) => round.solo.e2eMs.p99)),
    },
    {
      ...live,
      metric: `live consumer e2e p99, during a replay (${rounds})`,
      value: median(m.rounds.map((round) => round.underReplay.e2eMs.p99)),
    },
    {
      ...live,
      metric: `live e2e p99 during a replay / alone (${rounds} rounds)`,
      value: median(ratiosOf(m)),
      unit: 'x',
      ...(tributary ? { target: { value: 1.5, atLeast: false } } : {}),
    },
    {
      system,
      client: rawReaderClient,
      metric: 'replay read beside the live consumer',
      value: replaySeconds > 0 ? bytes / 1e6 / replaySeconds : 0,
      unit: 'MB/s',
      ...(tributary ? { target: { value: 1000, atLeast: true } } : {}),
    },
  ];
}

/** Share of the machine's cores that were busy over a window, in percent. */
function busyPercent(use: CpuUse): string {
  return (machineBusyShare(use) * 100).toFixed(0);
}

export function liveUnderReplayNote(m: LiveUnderReplay): string {
  const ratios = ratiosOf(m);
  const rounds = m.rounds.map((round, index) => {
    const ratio = ratios[index] ?? 0;
    return (
      `${round.solo.e2eMs.p99.toFixed(1)} / ${round.underReplay.e2eMs.p99.toFixed(1)} ms ` +
      `(x${ratio.toFixed(2)}; ${round.passes} passes, ` +
      `${(round.replayedBytes / 1e6 / round.replaySeconds).toFixed(0)} MB/s; broker CPU ` +
      `${round.solo.use.brokerCpuSeconds.toFixed(1)} / ` +
      `${round.underReplay.use.brokerCpuSeconds.toFixed(1)} s; machine ` +
      `${busyPercent(round.solo.use)} / ${busyPercent(round.underReplay.use)}% busy)`
    );
  });
  return (
    `Live consumer beside a replay: ${m.client} at ${liveRate}/s, ${m.rounds.length} rounds of ` +
    `${m.seconds} s alone then ${m.seconds} s while the raw reader read the backlog from its ` +
    `first offset over and over (the last pass finishing after the live run); p99 alone / ` +
    `beside the replay per round: ${rounds.join(', ')}`
  );
}
