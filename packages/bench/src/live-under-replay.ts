/**
 * Issue 14's replay goal as one measurement: a live consumer's end-to-end p99 (the C producer
 * paced at 5,000 records/s into a topic of its own and the C consumer reading it, as in the
 * latency workload) alone, then while the raw Fetch reader replays the whole backlog from its
 * first offset, again and again, until that live run ends. A p99 over seconds moves 2-3x from
 * run to run on this machine with nothing changed (one stall of tens of milliseconds in a
 * window decides it), so the pair runs `rounds` times interleaved and the goal is judged on the
 * median of the per-round ratios (ADR 0005). Reported: the median p99s, that ratio (goal: at
 * most 1.5) and the replay's rate over its windows (goal: 1 GB/s or more).
 *
 * With a `control` backlog (the same records held by a second broker process on this machine),
 * each round also runs the live pair on the first broker while the reader replays the second's:
 * the same reader and the same bytes moving through the same cores, none of it through the live
 * pair's broker. Its p99 is what sharing the machine with a replay costs by itself; what the
 * broker's own serving of the replay adds is the distance between the two.
 */
import { machineBusyShare, type CpuUse } from './bench-context.ts';
import type { BenchFigure } from './bench-report.ts';
import type { BrokerChild } from './broker-child.ts';
import { median } from './latency-summary.ts';
import { measureNativeLatency, type NativeLatency } from './native-latency.ts';
import { rawReadAll, rawReaderClient } from './raw-fetch-reader.ts';

const liveRate = 5000;

/** The live pair's run beside a replay, and what the reader moved meanwhile. */
export interface ReplayWindow {
  readonly underReplay: NativeLatency;
  readonly replayedBytes: number;
  readonly replaySeconds: number;
  readonly passes: number;
}

export interface LiveUnderReplayRound extends ReplayWindow {
  readonly solo: NativeLatency;
  /** Beside a replay another broker process serves (the control), when one was given. */
  readonly besideOther?: ReplayWindow;
}

/** A backlog the raw reader replays: `records` records from offset 0 of partition 0. */
export interface ReplayBacklog {
  readonly bootstrap: string;
  readonly topic: string;
  readonly records: number;
}

export interface LiveUnderReplay {
  readonly client: string;
  readonly seconds: number;
  readonly rounds: readonly LiveUnderReplayRound[];
}

/**
 * `quick` (the CI smoke run) takes one round of 4 s; a full run takes three rounds of 8 s, the
 * same for every system so their ratios compare. `control`: see the file's comment.
 */
export async function measureLiveUnderReplay(
  broker: BrokerChild,
  backlog: ReplayBacklog,
  quick: boolean,
  control?: ReplayBacklog,
): Promise<LiveUnderReplay> {
  const seconds = quick ? 4 : 8;
  const rounds = quick ? 1 : 3;
  const measured: LiveUnderReplayRound[] = [];
  for (let round = 0; round < rounds; round++) {
    const solo = await measureNativeLatency(broker, liveRate, seconds);
    const beside = await liveBesideReplay(broker, backlog, seconds);
    const besideOther =
      control === undefined ? undefined : await liveBesideReplay(broker, control, seconds);
    measured.push({ solo, ...beside, ...(besideOther === undefined ? {} : { besideOther }) });
  }
  return { client: measured[0]?.solo.client ?? '', seconds, rounds: measured };
}

/** The live pair on `broker` for `seconds` while the raw reader replays `backlog` throughout. */
async function liveBesideReplay(
  broker: BrokerChild,
  backlog: ReplayBacklog,
  seconds: number,
): Promise<ReplayWindow> {
  // Set when the live run ends; the replay loop finishes its pass and stops.
  const liveRun = { ended: false };
  let replayedBytes = 0;
  let passes = 0;
  const started = process.hrtime.bigint();
  const replay = (async () => {
    while (!liveRun.ended) {
      const read = await rawReadAll(backlog.bootstrap, backlog.topic, backlog.records);
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

/**
 * Each round's live p99 beside a replay over its p99 alone: beside the broker's own replay, or
 * beside the window `pick` chooses (0 for a round without one).
 */
function ratiosOf(
  m: LiveUnderReplay,
  pick: (round: LiveUnderReplayRound) => ReplayWindow | undefined = (round) => round,
): number[] {
  return m.rounds.map((round) => {
    const window = pick(round);
    const solo = round.solo.e2eMs.p99;
    return window !== undefined && solo > 0 ? window.underReplay.e2eMs.p99 / solo : 0;
  });
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
    ...controlFigures(live, m),
  ];
}

/** The control's rows (see the file's comment), when every round ran it. */
function controlFigures(
  live: { system: string; client: string; unit: string },
  m: LiveUnderReplay,
): BenchFigure[] {
  const others = m.rounds.flatMap(({ besideOther }) =>
    besideOther === undefined ? [] : [besideOther],
  );
  if (others.length === 0 || others.length < m.rounds.length) return [];
  const rounds = `median of ${m.rounds.length}`;
  return [
    {
      ...live,
      metric: `live consumer e2e p99, beside a replay another broker process serves (${rounds})`,
      value: median(others.map((window) => window.underReplay.e2eMs.p99)),
    },
    {
      ...live,
      metric: `live e2e p99 beside another broker process's replay / alone (${rounds} rounds)`,
      value: median(ratiosOf(m, (round) => round.besideOther)),
      unit: 'x',
    },
  ];
}

/** Share of the machine's cores that were busy over a window, in percent. */
function busyPercent(use: CpuUse): string {
  return (machineBusyShare(use) * 100).toFixed(0);
}

export function liveUnderReplayNote(m: LiveUnderReplay): string {
  const ratios = ratiosOf(m);
  const rounds = m.rounds.map((round, index) =>
    windowNote(round.solo, round, ratios[index] ?? 0, true),
  );
  const controlRatios = ratiosOf(m, (round) => round.besideOther);
  const control = m.rounds.flatMap(({ solo, besideOther }, index) =>
    besideOther === undefined ? [] : [windowNote(solo, besideOther, controlRatios[index] ?? 0)],
  );
  const controlNote =
    control.length === 0
      ? ''
      : '. Control, in the same rounds: the same live pair on this broker while the same reader ' +
        'replayed a copy of the backlog held by a second broker process on this machine (its ' +
        "own data directory; none of the replay through the live pair's broker); p99 alone / " +
        `beside that replay per round: ${control.join(', ')}`;
  return (
    `Live consumer beside a replay: ${m.client} at ${liveRate}/s, ${m.rounds.length} rounds of ` +
    `${m.seconds} s alone then ${m.seconds} s while the raw reader read the backlog from its ` +
    `first offset over and over (the last pass finishing after the live run); p99 alone / ` +
    `beside the replay per round: ${rounds.join(', ')}${controlNote}`
  );
}

/** One round's figures: p99 alone / beside, ratio, the replay's passes and rate, CPU. */
function windowNote(
  solo: NativeLatency,
  window: ReplayWindow,
  ratio: number,
  withBrokerCpu = false,
): string {
  const brokerCpu = withBrokerCpu
    ? `broker CPU ${solo.use.brokerCpuSeconds.toFixed(1)} / ` +
      `${window.underReplay.use.brokerCpuSeconds.toFixed(1)} s; `
    : '';
  return (
    `${solo.e2eMs.p99.toFixed(1)} / ${window.underReplay.e2eMs.p99.toFixed(1)} ms ` +
    `(x${ratio.toFixed(2)}; ${window.passes} passes, ` +
    `${(window.replayedBytes / 1e6 / window.replaySeconds).toFixed(0)} MB/s; ${brokerCpu}` +
    `machine ${busyPercent(solo.use)} / ${busyPercent(window.underReplay.use)}% busy)`
  );
}
