/**
 * Workload 6: many small producers. 200 producers, each on its own connection, together sending
 * 10,000 records/s of 1 KiB (50 records/s each), acks=all; ack latency from the intended send
 * time. The C load generator (200 librdkafka producer instances in one process, native-load.ts)
 * gives the figure that measures the broker; the full run adds 200 @platformatic/kafka
 * producers in the suite's Node process, the Node view, which saturates that process first.
 * The peers (peer-small-producers.ts) get the same 200 connections and rates from the suite's
 * raw clients, for fewer seconds in --quick; the broker gets them too, from a raw Kafka client
 * of the same shape (raw-produce-lane.ts), so the ratio to NATS compares servers, not clients.
 * The raw lanes also run against a broker with its data on tmpfs (tmpfs-broker.ts), which
 * shows what share of the ack latency is the disk's sync. The goal's comparison (the raw lanes
 * on both brokers, NATS, and two do-nothing servers as floors) runs in interleaved rounds with
 * every server up, so a noisy minute of the shared machine falls on all of them alike.
 */
import {
  bottleneckNote,
  cpuUseWindow,
  resourceFigures,
  perCpu,
  uniqueTopic,
  type CpuUse,
  withBroker,
  type BenchContext,
} from './bench-context.ts';
import type { BenchFigure, WorkloadReport } from './bench-report.ts';
import { createTopic } from './kafka-drivers.ts';
import { median } from './latency-summary.ts';
import { pacedWindows, type OpenedLane } from './peer-paced.ts';
import {
  interleavedSmallProducers,
  peerSmallProducers,
  smallProducerRoundSeconds,
  smallProducerWarmupSeconds,
  type PacedTarget,
  type PeerSmallProducersRun,
} from './peer-small-producers.ts';
import {
  natsFile,
  peersFor,
  runOnPeers,
  summarizePeers,
  type PeerOutcome,
  type StartableSystem,
} from './peer-systems.ts';
import { nativeClient, nativeLoadAvailable, startNativeProduce } from './native-load.ts';
import { platformaticClient, runSmallProducers } from './platformatic-load.ts';
import type { BrokerChild } from './broker-child.ts';
import { openRawProduceLane, rawProducerClient } from './raw-produce-lane.ts';
import { floorTopic, goFloor, nodeFloor } from './produce-floor.ts';
import { startTmpfsBroker, tmpfsSystem } from './tmpfs-broker.ts';

/** Value bytes of every record. */
const recordBytes = 1024;

const producers = 200;
const ratePerProducer = 50;
const partitions = 8;

/** The bottleneck, naming the load generator when the suite's one process nears a core. */
function generatorBottleneck(use: CpuUse, generatorSeconds: number): string {
  const generatorCores = generatorSeconds / use.wallSeconds;
  if (generatorCores < 0.85) return bottleneckNote(use);
  return (
    `Bottleneck: the load generator, one Node process at ${generatorCores.toFixed(2)} cores, ` +
    `saturates before the server (${bottleneckNote(use).replace(/^Bottleneck: /, '')}). ` +
    `Splitting the ${producers} producers over processes needs cores this machine does not have.`
  );
}

function peerFigures(outcome: PeerOutcome<PeerSmallProducersRun>): BenchFigure[] {
  const run = outcome.result;
  if (run === undefined) return [];
  const client = `${outcome.peer.client.name}, ${producers} connections`;
  const p99Metric = outcome.peer === natsFile ? roundsP99Metric : windowedP99Metric;
  return ackFigures({ system: outcome.peer.system, client }, run.result, run.use, p99Metric);
}

/** The acked rate and the ack latency percentiles of one run. */
function ackFigures(
  base: { system: string; client: string },
  result: {
    acked: number;
    seconds: number;
    ackMs: { p50: number; p99: number; max: number };
    windowP99Ms?: readonly number[] | undefined;
  },
  use: CpuUse,
  p99Metric = windowedP99Metric,
): BenchFigure[] {
  const windows = result.windowP99Ms;
  return [
    {
      ...base,
      metric: 'acked rate',
      value: result.acked / result.seconds,
      unit: `rec/s of ${producers * ratePerProducer}`,
      perCpuSecond: perCpu(result.acked, use.brokerCpuSeconds),
    },
    { ...base, metric: 'ack p50 (from intended)', value: result.ackMs.p50, unit: 'ms' },
    { ...base, metric: 'ack p99 (from intended)', value: result.ackMs.p99, unit: 'ms' },
    ...(windows === undefined
      ? []
      : [{ ...base, metric: p99Metric, value: median(windows), unit: 'ms' }]),
    { ...base, metric: 'ack max', value: result.ackMs.max, unit: 'ms' },
    ...resourceFigures(base, use, { producedBytes: result.acked * recordBytes, fetchedBytes: 0 }),
  ];
}

function peerNotes(
  outcomes: ReadonlyArray<PeerOutcome<PeerSmallProducersRun>>,
  seconds: number,
  warmupSeconds: number,
): string[] {
  const { ran, failures } = summarizePeers(outcomes);
  return [
    `Peers: ${producers} connections from the suite's process, each sending one 1 KiB ` +
      `message every ${1000 / ratePerProducer} ms (staggered), ${seconds} s measured after ` +
      `${warmupSeconds} s of warm-up at the same rate; ack from the ` +
      'intended send time. What the ack means: ' +
      (ran.map(({ peer }) => `${peer.system}: ${peer.ack}`).join('; ') || 'none ran') +
      '.',
    ...ran.map(
      ({ peer, run }) =>
        `${peer.system}: errors ${run.result.errors}, ` +
        `${windowsText(run.result.windowP99Ms, peer === natsFile ? 'round' : 'window')}, ` +
        'server CPU ' +
        `${run.use.brokerCpuSeconds.toFixed(2)} s, load generator CPU ` +
        `${run.generatorSeconds.toFixed(2)} s. ${generatorBottleneck(run.use, run.generatorSeconds)}`,
    ),
    ...failures,
  ];
}

/** The median of a paced run's window p99s (peer-paced.ts), the figure the goal is held to. */
const windowedP99Metric = `ack p99, median of ${pacedWindows} windows`;

/**
 * The figure of the runs that go in interleaved rounds (the raw lanes on the broker and on the
 * tmpfs broker, NATS and the floors), the one the goal is held to: the median of the rounds'
 * p99s.
 */
const roundsP99Metric = `ack p99, median of ${pacedWindows} interleaved rounds`;

/** "ack p99 per window 5.1 / 4.8 / 17.3 ms" (or per round). */
function windowsText(windows: readonly number[], kind: 'window' | 'round' = 'window'): string {
  return `ack p99 per ${kind} ${windows.map((ms) => ms.toFixed(1)).join(' / ')} ms`;
}

/**
 * Issue 14's goal: ack p99 within 2x NATS JetStream's. The raw client's row carries the target:
 * it loads the broker exactly as NATS is loaded; the others add their client's own cost. The
 * target is held to the median of the interleaved rounds' p99s on both sides (ADR 0005): a
 * whole run's p99 is one stall's, which moved NATS's between 3.4, 6.2 and 17.3 ms from run to
 * run, and runs minutes apart met different minutes of the shared machine.
 */
function natsRatioFigures(
  runs: readonly TributaryRun[],
  outcomes: ReadonlyArray<PeerOutcome<PeerSmallProducersRun>>,
  tmpfs: TributaryRun | undefined,
): BenchFigure[] {
  const nats = outcomes.find((outcome) => outcome.peer.system.startsWith('nats'))?.result;
  if (nats === undefined || nats.result.ackMs.p99 <= 0) return [];
  const whole = runs.map((run) => ({
    system: 'tributary',
    client: run.client,
    metric: 'ack p99 / nats jetstream ack p99',
    value: run.ackMs.p99 / nats.result.ackMs.p99,
    unit: 'x',
  }));
  const natsWindowed = median(nats.result.windowP99Ms);
  const raw = runs.find((run) => run.kind === 'raw');
  if (raw?.windowP99Ms === undefined || natsWindowed <= 0) return whole;
  // The tmpfs broker's ratio has no target: it shows how much of the gap the disk's sync is.
  const onTmpfs =
    tmpfs?.windowP99Ms === undefined
      ? []
      : [
          {
            system: tmpfsSystem,
            client: tmpfs.client,
            metric: `${roundsP99Metric} / nats jetstream's`,
            value: median(tmpfs.windowP99Ms) / natsWindowed,
            unit: 'x',
          },
        ];
  return [
    ...whole,
    ...onTmpfs,
    {
      system: 'tributary',
      client: raw.client,
      metric: `${roundsP99Metric} / nats jetstream's`,
      value: median(raw.windowP99Ms) / natsWindowed,
      unit: 'x',
      target: { value: 2, atLeast: false },
    },
  ];
}

/** One client's run against the broker, in the report's terms. */
interface TributaryRun {
  kind: 'native' | 'platformatic' | 'raw';
  client: string;
  acked: number;
  errors: number;
  firstError: string | null;
  seconds: number;
  ackMs: { p50: number; p99: number; max: number };
  /** Ack p99 per window of the measured seconds, for the paced raw lanes (peer-paced.ts). */
  windowP99Ms?: readonly number[];
  use: CpuUse;
  /** CPU of the load generator, when it is this process (platformatic). */
  generatorSeconds: number | undefined;
}

async function runNative(
  broker: BrokerChild,
  topic: string,
  seconds: number,
  warmupSeconds: number,
) {
  // CPU is sampled over the measured records only, as the acks are counted.
  let cpu = cpuUseWindow(broker.pid);
  const run = await startNativeProduce({
    bootstrap: broker.bootstrap,
    topic,
    records: producers * ratePerProducer * seconds,
    warmupRecords: producers * ratePerProducer * warmupSeconds,
    onMeasuring: () => {
      cpu = cpuUseWindow(broker.pid);
    },
    size: recordBytes,
    lingerMs: 0,
    ratePerSecond: producers * ratePerProducer,
    producers,
    timeoutMs: (seconds + warmupSeconds + 120) * 1000,
  });
  const result = await run.result;
  return {
    kind: 'native' as const,
    client: `${nativeClient}, ${producers} producer instances`,
    acked: result.acked,
    errors: result.errors,
    firstError: result.firstError,
    seconds: result.elapsedSeconds,
    ackMs: result.ackMs,
    use: cpu(),
    generatorSeconds: undefined,
  };
}

async function runPlatformatic(
  broker: BrokerChild,
  topic: string,
  seconds: number,
  warmupSeconds: number,
) {
  // CPU (the broker's and this process's) is sampled over the measured seconds only.
  let cpu = cpuUseWindow(broker.pid);
  let generator = process.cpuUsage();
  const result = await runSmallProducers({
    bootstrap: broker.bootstrap,
    topic,
    producers,
    ratePerProducer,
    seconds,
    warmupSeconds,
    onMeasuring: () => {
      cpu = cpuUseWindow(broker.pid);
      generator = process.cpuUsage();
    },
    valueBytes: recordBytes,
  });
  const use = cpu();
  const used = process.cpuUsage(generator);
  return {
    kind: 'platformatic' as const,
    client: platformaticClient,
    acked: result.acked,
    errors: result.errors,
    firstError: result.firstError,
    seconds: result.seconds,
    ackMs: {
      p50: result.ackLatency.p50Ms,
      p99: result.ackLatency.p99Ms,
      max: result.ackLatency.maxMs,
    },
    use,
    generatorSeconds: (used.user + used.system) / 1e6,
  };
}

/** The raw lanes' rounds (interleavedSmallProducers) in the report's terms. */
function rawRun(run: PeerSmallProducersRun): TributaryRun {
  return {
    kind: 'raw',
    client: `${rawProducerClient}, ${producers} connections`,
    acked: run.result.acked,
    errors: run.result.errors,
    firstError: null,
    seconds: run.result.seconds,
    ackMs: run.result.ackMs,
    windowP99Ms: run.result.windowP99Ms,
    use: run.use,
    generatorSeconds: run.generatorSeconds,
  };
}

/** A broker's raw lanes (the peers' shape) as a target of the interleaved rounds. */
async function rawTarget(name: string, broker: BrokerChild): Promise<PacedTarget> {
  const topic = uniqueTopic('bench-small');
  await createTopic(broker.bootstrap, topic, partitions);
  return {
    name,
    openLane: (index) => openRawProduceLane(broker.bootstrap, topic, index % partitions),
    pid: broker.pid,
  };
}

/** What the interleaved rounds gave: the two brokers' raw runs, NATS's and the floors'. */
interface GoalRounds {
  raw: TributaryRun;
  tmpfs: TributaryRun | undefined;
  nats: PeerOutcome<PeerSmallProducersRun>;
  floors: FloorOutcome[];
}

/** A raw Produce v9 lane to a floor server on `port`. */
function floorLane(port: number): Promise<OpenedLane> {
  return openRawProduceLane(`127.0.0.1:${port}`, floorTopic, 0);
}

/** The servers besides the brokers that the interleaved rounds load, and each one's lanes. */
const roundServers: ReadonlyArray<{
  system: StartableSystem;
  openLane: (port: number) => Promise<OpenedLane>;
}> = [
  { system: natsFile, openLane: (port) => natsFile.client.openLane(port) },
  { system: nodeFloor, openLane: floorLane },
  { system: goFloor, openLane: floorLane },
];

/**
 * The goal's paced runs in interleaved rounds (interleavedSmallProducers): the raw lanes on
 * `broker`, the same on the tmpfs broker, NATS JetStream and the two do-nothing floors, every
 * server up at once.
 */
async function runGoalRounds(
  context: BenchContext,
  broker: BrokerChild,
  seconds: number,
): Promise<GoalRounds> {
  const targets: PacedTarget[] = [await rawTarget('tributary', broker)];
  const stops: Array<() => Promise<void>> = [];
  const startErrors = new Map<string, string>();
  try {
    const tmpfs = await startTmpfsBroker(context, 'small producers');
    if (tmpfs !== undefined) {
      stops.push(tmpfs.stop);
      targets.push(await rawTarget(tmpfsSystem, tmpfs.broker));
    }
    for (const { system, openLane } of roundServers) {
      try {
        const server = await system.start(context.dataParentDir);
        stops.push(server.stop);
        targets.push({
          name: system.system,
          openLane: () => openLane(server.port),
          pid: server.pid,
        });
      } catch (error: unknown) {
        const message = error instanceof Error ? error.message : String(error);
        context.log(`small producers: ${system.system} failed: ${message}`);
        startErrors.set(system.system, message.split('\n')[0] ?? message);
      }
    }
    context.log(`small producers: ${targets.map((t) => t.name).join('; ')} in interleaved rounds`);
    const { results, failures } = await interleavedSmallProducers(
      targets,
      {
        producers,
        ratePerProducer,
        seconds,
        warmupSeconds: smallProducerWarmupSeconds(context.quick),
      },
      context.log,
    );
    const raw = results.get('tributary');
    if (raw === undefined) {
      throw new Error(`the raw lanes failed: ${failures.get('tributary') ?? 'no result'}`);
    }
    const tmpfsRun = results.get(tmpfsSystem);
    const outcome = <P extends StartableSystem>(peer: P): PeerOutcome<PeerSmallProducersRun, P> => {
      const result = results.get(peer.system);
      if (result !== undefined) return { peer, result };
      const error = startErrors.get(peer.system) ?? failures.get(peer.system) ?? 'no result';
      return { peer, error };
    };
    return {
      raw: rawRun(raw),
      tmpfs: tmpfsRun === undefined ? undefined : rawRun(tmpfsRun),
      nats: outcome(natsFile),
      floors: [outcome(nodeFloor), outcome(goFloor)],
    };
  } finally {
    for (const stop of stops) await stop();
  }
}

/** One floor's paced run, or why it could not run. */
type FloorOutcome = PeerOutcome<PeerSmallProducersRun, StartableSystem>;

function floorFigures(outcome: FloorOutcome): BenchFigure[] {
  const run = outcome.result;
  if (run === undefined) return [];
  const client = `${rawProducerClient}, ${producers} connections`;
  return ackFigures({ system: outcome.peer.system, client }, run.result, run.use, roundsP99Metric);
}

/** The raw row's ack p99 over each floor's: the share of it that is the broker's own work. */
function floorRatioFigures(
  runs: readonly TributaryRun[],
  floors: readonly FloorOutcome[],
): BenchFigure[] {
  const raw = runs.find((run) => run.kind === 'raw');
  if (raw === undefined) return [];
  return floors.flatMap((floor) => {
    const p99 = floor.result?.result.ackMs.p99 ?? 0;
    if (p99 <= 0) return [];
    const metric = `ack p99 / ${floor.peer.system.replace(/^floor: /, '')} ack p99`;
    return [
      { system: 'tributary', client: raw.client, metric, value: raw.ackMs.p99 / p99, unit: 'x' },
    ];
  });
}

function floorNotes(floors: readonly FloorOutcome[], seconds: number): string[] {
  return [
    `Floors: the same ${producers} raw Produce v9 lanes against a server that answers every ` +
      'request at once with a canned response and does nothing else (no log, no sync): the Go ' +
      "one (a goroutine per connection) is the load generator's and the loopback's own cost, the " +
      'Node one (one event loop, this Node.js) the least a Node.js server pays under this load. ' +
      `Run in the interleaved rounds, ${seconds} s each in all. A floor's p99 moves only with ` +
      'the machine and the load generator, so its rounds show how noisy each round was.',
    ...floors.map(({ peer, result, error }) =>
      result === undefined
        ? `${peer.system}: did not run: ${error ?? 'unknown'}`
        : `${peer.system}: ${windowsText(result.result.windowP99Ms, 'round')}, server CPU ` +
          `${result.use.brokerCpuSeconds.toFixed(2)} s, load generator CPU ` +
          `${result.generatorSeconds.toFixed(2)} s.`,
    ),
  ];
}

function tributaryFigures(run: TributaryRun): BenchFigure[] {
  const p99Metric = run.kind === 'raw' ? roundsP99Metric : windowedP99Metric;
  return ackFigures({ system: 'tributary', client: run.client }, run, run.use, p99Metric);
}

function tributaryNote(run: TributaryRun, seconds: number): string {
  const where = {
    native:
      `${producers} librdkafka producer instances in one C process (one connection each, ` +
      'linger 0, delivery reports served every 0.5 ms), measured after the warm-up',
    platformatic:
      `${producers} Producer instances in the suite's own Node process (one connection each), ` +
      'measured after the warm-up',
    raw:
      `${producers} connections from the suite's process, each a paced lane sending one ` +
      'single-record Produce v9 (acks=all) at a time as the peers are loaded, measured after ' +
      'the warm-up',
  }[run.kind];
  const generator =
    run.generatorSeconds === undefined
      ? bottleneckNote(run.use)
      : `load generator CPU ${run.generatorSeconds.toFixed(2)} s. ` +
        generatorBottleneck(run.use, run.generatorSeconds);
  return (
    `${run.client}: ${where}, ${partitions} partitions, ${seconds} s; errors ${run.errors}` +
    (run.firstError === null ? '' : ` (first: ${run.firstError})`) +
    (run.windowP99Ms === undefined
      ? ''
      : `; ${windowsText(run.windowP99Ms, run.kind === 'raw' ? 'round' : 'window')}`) +
    `; broker CPU ${run.use.brokerCpuSeconds.toFixed(2)} s; ${generator}`
  );
}

/**
 * The broker's rows: each client in turn against one broker, a fresh topic each; the raw lanes
 * in the goal's interleaved rounds beside the tmpfs broker and NATS (runGoalRounds).
 */
async function runTributary(
  context: BenchContext,
  seconds: number,
): Promise<{ runs: TributaryRun[]; goal: GoalRounds }> {
  return withBroker(context, {}, async (broker) => {
    const runs: TributaryRun[] = [];
    const native = await nativeLoadAvailable(context.log);
    const warmupSeconds = smallProducerWarmupSeconds(context.quick);
    if (native) {
      const topic = uniqueTopic('bench-small');
      await createTopic(broker.bootstrap, topic, partitions);
      context.log(`small producers (native): ${producers} x ${ratePerProducer}/s, ${seconds} s`);
      runs.push(await runNative(broker, topic, seconds, warmupSeconds));
    }
    const goal = await runGoalRounds(context, broker, seconds);
    runs.push(goal.raw);
    if (!context.quick || !native) {
      const topic = uniqueTopic('bench-small');
      await createTopic(broker.bootstrap, topic, partitions);
      context.log(`small producers (platformatic): ${producers} x ${ratePerProducer}/s`);
      runs.push(await runPlatformatic(broker, topic, seconds, warmupSeconds));
    }
    return { runs, goal };
  });
}

function tmpfsNote(run: TributaryRun, seconds: number): string {
  return (
    `${tmpfsSystem}: the raw lanes again against a second broker, the same build and ` +
    'settings, with its data directory on /dev/shm, where fdatasync returns at once; the gap ' +
    'between its rows and the raw row above is what waiting for the disk costs (it is a ' +
    `measurement, not a durable setup). ${tributaryNote(run, seconds)}`
  );
}

/** How the goal's three runs were interleaved, for the notes. */
function goalRoundsNote(seconds: number, warmupSeconds: number): string {
  const roundSeconds = smallProducerRoundSeconds(seconds);
  return (
    `The goal's runs (the raw lanes on tributary, the same on ${tmpfsSystem}, ` +
    `${natsFile.system} and the two floors) went in ${pacedWindows} interleaved rounds with ` +
    'every server up: ' +
    `each round ran each of them in turn (the first one later each round) for ${roundSeconds} ` +
    `s after ${warmupSeconds} s of warm-up on fresh connections, after one such round on each ` +
    "that is not counted, so the shared machine's quiet " +
    'and noisy minutes fell on all alike. Their "interleaved rounds" rows are the median of the ' +
    "rounds' p99s, their other percentiles the median round's, counts and CPU all rounds'."
  );
}

/** p50 and p99 of each broker client, each floor's p99, each peer's p50 and p99. */
function smallProducersChart(
  runs: readonly TributaryRun[],
  tmpfs: TributaryRun | undefined,
  floors: readonly FloorOutcome[],
  outcomes: ReadonlyArray<PeerOutcome<PeerSmallProducersRun>>,
): WorkloadReport['chart'] {
  const who = { native: 'C', raw: 'raw', platformatic: 'platformatic' };
  return {
    title: `Workload 6: ${producers} small producers, ack latency (ms)`,
    unit: 'ms',
    bars: [
      ...runs.flatMap((run) => [
        { label: `tributary ${who[run.kind]} ack p50`, value: run.ackMs.p50 },
        { label: `tributary ${who[run.kind]} ack p99`, value: run.ackMs.p99 },
      ]),
      ...(tmpfs === undefined
        ? []
        : [{ label: 'tributary on tmpfs raw ack p99', value: tmpfs.ackMs.p99 }]),
      ...floors.flatMap(({ peer, result }) =>
        result === undefined
          ? []
          : [{ label: `${peer.system} p99`, value: result.result.ackMs.p99 }],
      ),
      ...outcomes.flatMap((outcome) =>
        outcome.result === undefined
          ? []
          : [
              { label: `${outcome.peer.system} p50`, value: outcome.result.result.ackMs.p50 },
              { label: `${outcome.peer.system} p99`, value: outcome.result.result.ackMs.p99 },
            ],
      ),
    ],
  };
}

export async function runSmallProducersBench(context: BenchContext): Promise<WorkloadReport> {
  const seconds = context.quick ? 6 : 20;
  const { runs, goal } = await runTributary(context, seconds);
  const { tmpfs, floors } = goal;
  const peerSeconds = context.quick ? 2 : 20;
  const warmupSeconds = smallProducerWarmupSeconds(context.quick);
  const others = await runOnPeers(
    context,
    'small producers',
    peersFor(context).filter((peer) => peer !== natsFile),
    (peer, server) =>
      peerSmallProducers(peer, server, {
        producers,
        ratePerProducer,
        seconds: peerSeconds,
        warmupSeconds,
      }),
  );
  // In the peers' usual order, with NATS's outcome from the interleaved rounds in its place.
  const outcomes = peersFor(context).flatMap((peer) =>
    peer === natsFile ? [goal.nats] : others.filter((outcome) => outcome.peer === peer),
  );
  return {
    name: 'small-producers',
    title: `${producers} producers x ${ratePerProducer} records/s (1 KiB, acks=all)`,
    figures: [
      ...runs.flatMap(tributaryFigures),
      ...(tmpfs === undefined
        ? []
        : ackFigures(
            { system: tmpfsSystem, client: tmpfs.client },
            tmpfs,
            tmpfs.use,
            roundsP99Metric,
          )),
      ...floors.flatMap(floorFigures),
      ...outcomes.flatMap(peerFigures),
      ...natsRatioFigures(runs, outcomes, tmpfs),
      ...floorRatioFigures(runs, floors),
    ],
    notes: [
      goalRoundsNote(seconds, warmupSeconds),
      ...runs.map((run) => tributaryNote(run, seconds)),
      ...(tmpfs === undefined ? [] : [tmpfsNote(tmpfs, seconds)]),
      ...floorNotes(floors, seconds),
      ...peerNotes(outcomes, peerSeconds, warmupSeconds),
    ],
    chart: smallProducersChart(runs, tmpfs, floors, outcomes),
  };
}
