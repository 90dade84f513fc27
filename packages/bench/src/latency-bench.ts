/**
 * Workload 2: end-to-end latency at a fixed rate (issue 5: 5,000 records/s for 30 s). The
 * producer stamps each value with its intended send time; the consumer (assigned to the
 * partition, long-polling Fetch) subtracts it on receipt, so latency includes any time the
 * producer spent behind schedule: no coordinated omission. Tributary is measured with the C load
 * generator's producer and consumer (native-load.ts), which leave the cores to the broker, and in
 * the full run also with python3-confluent-kafka. The peers (Redis Streams with appendfsync
 * always, NATS JetStream file storage, RabbitMQ streams in the full run) run the same rate,
 * record size and duration with the suite's paced clients (peer-latency.ts), each on a fresh
 * private server. The C pair runs each rate in an unmeasured warm-up round and three measured
 * ones and reports the median round (native-latency.ts), on Tributary, on a second Tributary
 * broker whose data is on tmpfs (what the disk's sync costs) and on Apache Kafka in both
 * configurations, every node up at once and the rounds interleaved so a noisy minute of the
 * shared machine falls on all of them alike.
 */
import { execFileSync } from 'node:child_process';
import {
  bottleneckNote,
  cpuUseWindow,
  sleep,
  uniqueTopic,
  withBroker,
  type BenchContext,
} from './bench-context.ts';
import type { BenchFigure, WorkloadReport } from './bench-report.ts';
import type { BrokerChild } from './broker-child.ts';
import {
  kafkaModes,
  kafkaRatioGoals,
  withKafkaRuns,
  type KafkaModeRun,
} from './kafka-comparison.ts';
import { kafkaSystem, startKafka, type KafkaMode } from './kafka-peer.ts';
import { startTmpfsBroker, tmpfsSystem } from './tmpfs-broker.ts';
import { probeSmallSyncLatency } from './disk-sync-probe.ts';
import {
  consumeResult,
  createTopic,
  librdkafkaClient,
  pacedResult,
  startConsumer,
  startPaced,
} from './kafka-drivers.ts';
import type { LatencySummary } from './latency-summary.ts';
import { nativeLoadAvailable } from './native-load.ts';
import {
  latencyFigures,
  latencyRates,
  latencyRoundsNote,
  latencySecondsOf,
  measureNativeLatencyInterleaved,
  latencyValueBytes as valueBytes,
  type LatencySystem,
  type NativeLatency,
} from './native-latency.ts';
import {
  natsPacedLatency,
  rabbitPacedLatency,
  redisPacedLatency,
  type PacedLatencyOptions,
  type PeerLatencyResult,
} from './peer-latency.ts';
import { startNats, startRabbitmq, startRedis, type PeerServer } from './peer-servers.ts';

interface PeerLatencyAttempt {
  system: string;
  client: string;
  /** What the producer's ack and the consumer's delivery mean for this peer. */
  meaning: string;
  start(): Promise<PeerServer>;
  measure(options: PacedLatencyOptions): Promise<PeerLatencyResult>;
}

interface PeerLatencyRun {
  system: string;
  client: string;
  /** What the producer's ack and the consumer's delivery mean for this peer. */
  meaning: string;
  result: PeerLatencyResult;
}

async function runPeerLatencies(
  context: BenchContext,
  rate: number,
  seconds: number,
): Promise<PeerLatencyRun[]> {
  const rawClient = 'bench raw client, paced';
  const attempts: PeerLatencyAttempt[] = [
    {
      system: 'redis streams, appendfsync always',
      client: rawClient,
      meaning:
        'XADD reply and the blocked XREAD reply (second connection) both leave after the ' +
        "event-loop round's AOF write+fsync",
      start: () => startRedis(context.dataParentDir, 'always'),
      measure: redisPacedLatency,
    },
    {
      system: 'nats jetstream, file storage',
      client: rawClient,
      meaning:
        'PUB ack once written to the block file (no fsync); ephemeral push consumer, ack ' +
        'policy none',
      start: () => startNats(context.dataParentDir),
      measure: natsPacedLatency,
    },
  ];
  // RabbitMQ takes seconds to start; --quick leaves it out to stay under two minutes.
  if (!context.quick) {
    attempts.push({
      system: 'rabbitmq stream queue',
      client: 'amqplib 2.3, paced',
      meaning:
        'confirm after the write to the stream segment (no fsync); stream consumer from offset ' +
        'next, prefetch 1000, ack (multiple) every 250',
      start: () => startRabbitmq(context.dataParentDir),
      measure: rabbitPacedLatency,
    });
  }
  const runs: PeerLatencyRun[] = [];
  for (const { system, client, meaning, start, measure } of attempts) {
    context.log(`latency: peer ${system}`);
    try {
      const server = await start();
      try {
        const result = await measure({ port: server.port, valueBytes, rate, seconds });
        runs.push({ system, client, meaning, result });
      } finally {
        await server.stop();
      }
    } catch (error: unknown) {
      context.log(`peer ${system} failed: ${String(error)}`);
    }
  }
  return runs;
}

function peerLatencyFigures(run: PeerLatencyRun, expect: number): BenchFigure[] {
  const base = { system: run.system, client: run.client };
  const { e2eMs, ackMs } = run.result;
  return [
    { ...base, metric: 'e2e p50', value: e2eMs.p50, unit: 'ms' },
    { ...base, metric: 'e2e p99', value: e2eMs.p99, unit: 'ms' },
    { ...base, metric: 'e2e p99.9', value: e2eMs.p999, unit: 'ms' },
    { ...base, metric: 'e2e max', value: e2eMs.max, unit: 'ms' },
    { ...base, metric: 'producer ack p99 (from intended)', value: ackMs.p99, unit: 'ms' },
    { ...base, metric: 'records delivered', value: run.result.delivered, unit: `of ${expect}` },
  ];
}

/** python3-confluent-kafka producer (paced) and consumer (assign mode, fetch.wait.max.ms 20). */
async function measurePython(
  broker: BrokerChild,
  rate: number,
  seconds: number,
): Promise<NativeLatency> {
  const topic = uniqueTopic('bench-latency');
  await createTopic(broker.bootstrap, topic, 1);
  const expect = rate * seconds;
  const consumer = startConsumer({
    bootstrap: broker.bootstrap,
    topic,
    group: '',
    expect,
    seconds: seconds + 30,
    latency: true,
  });
  await consumer.waitFor('ready');
  await sleep(1000);
  const cpu = cpuUseWindow(broker.pid);
  const producer = startPaced({ bootstrap: broker.bootstrap, topic, ratePerSecond: rate, seconds });
  const paced = pacedResult(await producer.summary);
  const consumed = consumeResult(await consumer.summary);
  return {
    client: librdkafkaClient,
    rate,
    seconds,
    e2eMs: consumed.e2eMs,
    ackMs: paced.ackMs,
    delivered: consumed.count,
    records: expect,
    producerErrors: paced.errors,
    use: cpu(),
  };
}

/**
 * Writes the page cache's dirty pages out (sync(1)) before each interleaved round. Kafka's
 * page-cache node leaves its appends dirty (250 MB after a 5 s round at 50,000/s) and the
 * kernel wrote them back during the next node's round: in a trial, two of five Tributary rounds
 * read e2e p99 77 and 128 ms that way, against 4-11 ms with the sync (docs/adr/0005).
 */
function writeBackDirtyPages(): void {
  try {
    execFileSync('sync', [], { timeout: syncTimeoutMs, stdio: 'ignore' });
  } catch {
    // A sync that fails or outlasts its time leaves the round to start anyway.
  }
}

/** How long the sync before a round may take before the round starts anyway, in ms. */
const syncTimeoutMs = 60_000;

/** A broker beside the Tributary one for the interleaved C rounds, and how to end it. */
interface Companion {
  system: LatencySystem;
  stop(): Promise<void>;
}

async function startKafkaCompanion(
  context: BenchContext,
  mode: KafkaMode,
): Promise<Companion | { mode: KafkaMode; error: string }> {
  try {
    const broker = await startKafka(context.dataParentDir, mode, context.log);
    context.log(`latency: ${kafkaSystem(mode)} pid ${broker.pid} on ${broker.bootstrap}`);
    return { system: { name: kafkaSystem(mode), broker }, stop: () => broker.stop() };
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    context.log(`latency: ${kafkaSystem(mode)} failed: ${message}`);
    return { mode, error: message.split('\n').slice(0, 3).join(' / ') };
  }
}

/** What the C rounds measured on each system, by system name, one entry per rate. */
interface InterleavedRuns {
  bySystem: Map<string, NativeLatency[]>;
  kafkaErrors: Array<{ mode: KafkaMode; error: string }>;
}

/**
 * The C pair at every rate on Tributary, the tmpfs broker and (unless --no-kafka) both Kafka
 * configurations, every node up at once and the rounds interleaved (native-latency.ts).
 */
async function measureCInterleaved(
  context: BenchContext,
  broker: BrokerChild,
): Promise<InterleavedRuns> {
  const companions: Companion[] = [];
  const kafkaErrors: InterleavedRuns['kafkaErrors'] = [];
  const bySystem = new Map<string, NativeLatency[]>();
  try {
    const tmpfs = await startTmpfsBroker(context, 'latency');
    if (tmpfs !== undefined) {
      companions.push({ system: { name: tmpfsSystem, broker: tmpfs.broker }, stop: tmpfs.stop });
    }
    for (const mode of context.kafka ? kafkaModes : []) {
      const started = await startKafkaCompanion(context, mode);
      if ('error' in started) kafkaErrors.push(started);
      else companions.push(started);
    }
    const systems = [{ name: 'tributary', broker }, ...companions.map((each) => each.system)];
    for (const rate of latencyRates) {
      const seconds = latencySecondsOf(rate, context.quick);
      context.log(`latency: ${rate}/s, C clients, ${systems.length} systems interleaved`);
      const { results, failures } = await measureNativeLatencyInterleaved(
        systems,
        rate,
        seconds,
        context.log,
        writeBackDirtyPages,
      );
      const failed = failures.get('tributary');
      if (failed !== undefined) throw new Error(`the C latency rounds failed: ${failed}`);
      for (const [name, error] of failures) {
        const mode = kafkaModes.find((each) => kafkaSystem(each) === name);
        if (mode !== undefined) kafkaErrors.push({ mode, error: `at ${rate}/s: ${error}` });
      }
      for (const [name, run] of results) bySystem.set(name, [...(bySystem.get(name) ?? []), run]);
    }
  } finally {
    for (const companion of companions) await companion.stop();
  }
  return { bySystem, kafkaErrors };
}

/** The Kafka configurations' outcomes for withKafkaRuns: their C rows and notes, or errors. */
function kafkaModeRuns(measured: InterleavedRuns): KafkaModeRun[] {
  const runs: KafkaModeRun[] = [];
  for (const mode of kafkaModes) {
    const errors = measured.kafkaErrors.filter((each) => each.mode === mode).map((e) => e.error);
    const rates = measured.bySystem.get(kafkaSystem(mode));
    if (rates === undefined) {
      if (errors.length > 0) runs.push({ mode, error: errors.join('; ') });
      continue;
    }
    const failed = errors.length > 0 ? `; failed ${errors.join('; ')}` : '';
    runs.push({
      mode,
      result: {
        figures: rates.flatMap((run) =>
          latencyFigures('', run).map(({ system: _system, ...figure }) => figure),
        ),
        note:
          rates
            .map(
              (run) =>
                `C clients at ${run.rate}/s for ${latencyRoundsNote(run)}: producer errors ` +
                `${run.producerErrors}, broker CPU ${run.use.brokerCpuSeconds.toFixed(2)} s`,
            )
            .join('; ') + failed,
      },
    });
  }
  return runs;
}

export async function runLatencyBench(context: BenchContext): Promise<WorkloadReport> {
  const [rate] = latencyRates;
  const seconds = latencySecondsOf(rate, context.quick);
  const diskBefore = probeSmallSyncLatency(context.dataParentDir, diskProbeMs);
  const measured = await withBroker(context, {}, async (broker) => {
    const interleaved: InterleavedRuns = (await nativeLoadAvailable(context.log))
      ? await measureCInterleaved(context, broker)
      : { bySystem: new Map(), kafkaErrors: [] };
    const runs = [...(interleaved.bySystem.get('tributary') ?? [])];
    if (!context.quick || runs.length === 0) {
      context.log(`latency: ${rate}/s for ${seconds} s, Python clients`);
      runs.push(await measurePython(broker, rate, seconds));
    }
    return { runs, interleaved };
  });
  const peers = await runPeerLatencies(context, rate, seconds);
  const diskAfter = probeSmallSyncLatency(context.dataParentDir, diskProbeMs);
  const disk = [diskBefore, diskAfter] as const;
  const { runs, interleaved } = measured;
  const tmpfsRuns = interleaved.bySystem.get(tmpfsSystem) ?? [];
  const report = latencyReport({
    rate,
    seconds,
    expect: rate * seconds,
    runs,
    tmpfsRuns,
    cRuns: interleaved.bySystem,
    peers,
    disk,
  });
  const kafkaRuns = kafkaModeRuns(interleaved);
  if (!context.kafka || kafkaRuns.length === 0) return report;
  return kafkaRatioGoals(withKafkaRuns(report, kafkaRuns), 'e2e p99');
}

/** How long the disk's sync latency is probed before and after the workload, in ms. */
const diskProbeMs = 2000;

function syncLatencyText(probe: LatencySummary): string {
  return (
    `p50 ${probe.p50Ms.toFixed(2)}, p99 ${probe.p99Ms.toFixed(2)}, max ` +
    `${probe.maxMs.toFixed(1)} ms`
  );
}

function diskNote([before, after]: readonly [LatencySummary, LatencySummary]): string {
  return (
    `The disk under the data directories, 4 KiB append + fdatasync for ${diskProbeMs / 1000} ` +
    `s: before Tributary's runs ${syncLatencyText(before)}; after the peers' ` +
    `${syncLatencyText(after)}. Every ` +
    'acks=all reply here waits for such a sync (Kafka with flush per message too), so a busy ' +
    'hour of a shared disk moves these figures.'
  );
}

interface LatencyMeasurements {
  rate: number;
  seconds: number;
  expect: number;
  runs: NativeLatency[];
  /** The tmpfs broker's C runs, one per rate (none when /dev/shm is not tmpfs). */
  tmpfsRuns: readonly NativeLatency[];
  /** Every system's C runs by system name, for the note that sets them side by side. */
  cRuns: ReadonlyMap<string, readonly NativeLatency[]>;
  peers: PeerLatencyRun[];
  /** The disk's sync latency before Tributary's runs and after the peers'. */
  disk: readonly [LatencySummary, LatencySummary];
}

function tributaryNote(run: NativeLatency): string {
  const clients =
    run.client !== librdkafkaClient
      ? 'tributary-load producer (paced, linger.ms 1, the intended send time in the first 8 ' +
        'bytes of each value) and consumer (assign mode)'
      : 'python3-confluent-kafka producer (paced, linger.ms 1) and consumer (assign mode, ' +
        'fetch.wait.max.ms 20)';
  const tail =
    run.ackMs.p99 >= 0.7 * run.e2eMs.p99
      ? `the tail is on the produce path (producer ack p99 from intended ` +
        `${run.ackMs.p99.toFixed(1)} ms is most of the e2e p99): what would move it is a ` +
        'shorter WAL group-commit cycle and fewer event-loop stalls (GC, other work queued ' +
        'behind the commit), and clients that keep their schedule on a busy machine'
      : 'the tail is on the fetch path (producer acks are much faster than delivery): what ' +
        'would move it is waking long-polling Fetches as soon as the append commits';
  return (
    `${run.client}, ${run.rate}/s for ${latencyRoundsNote(run)}: ${clients}; producer errors ` +
    `${run.producerErrors}; broker CPU ` +
    `${run.use.brokerCpuSeconds.toFixed(2)} s. ${bottleneckNote(run.use)} On this run ${tail}.`
  );
}

/** "tributary on tmpfs", "kafka page cache": a system's name short enough for a list. */
function shortName(system: string): string {
  return system.replace(/, data on tmpfs.*$/, ' on tmpfs').replace(/^kafka [\d.]+, /, 'kafka ');
}

/**
 * The C rounds' e2e p99 of every system at each rate side by side, and what the tmpfs broker
 * says about them: the part of Tributary's figure the disk's sync accounts for.
 */
function interleavedNote(cRuns: ReadonlyMap<string, readonly NativeLatency[]>): string | undefined {
  if (cRuns.size < 2) return undefined;
  const perRate = latencyRates.map((rate) => {
    const parts = [...cRuns].flatMap(([name, runs]) => {
      const run = runs.find((each) => each.rate === rate);
      return run === undefined ? [] : [`${shortName(name)} ${run.e2eMs.p99.toFixed(2)}`];
    });
    return `at ${rate}/s ${parts.join(', ')} ms`;
  });
  return (
    `The C rounds ran interleaved: ${[...cRuns.keys()].join('; ')} were up at once and each ` +
    'round ran each of them in turn (the first one later each round), so quiet and noisy ' +
    `minutes of the shared machine fell on all alike. Median-round e2e p99 ` +
    `${perRate.join('; ')}. ` +
    `"${tmpfsSystem}" is a second Tributary broker, the same build and settings, with its data ` +
    'directory on /dev/shm: its fdatasync returns at once, so the gap between it and the ' +
    'tributary rows is what waiting for the disk costs an acknowledged record; it is a ' +
    'measurement, not a durable setup.'
  );
}

function latencyReport(m: LatencyMeasurements): WorkloadReport {
  const { rate, seconds, expect, runs, tmpfsRuns, cRuns, peers, disk } = m;
  const interleaved = interleavedNote(cRuns);
  return {
    name: 'latency',
    title:
      `end-to-end latency at ${latencyRates.join(' and ')} records/s ` +
      `(${seconds} s at ${rate}/s; 1 KiB, acks=all)`,
    figures: [
      ...runs.flatMap((run) => latencyFigures('tributary', run)),
      ...tmpfsRuns.flatMap((run) => latencyFigures(tmpfsSystem, run)),
      ...peers.flatMap((peer) => peerLatencyFigures(peer, expect)),
    ],
    notes: [
      'Latency runs from the intended send time (CLOCK_MONOTONIC in the value) to the ' +
        'consumer receiving the record: no coordinated omission.',
      diskNote(disk),
      ...runs.map(tributaryNote),
      ...(interleaved === undefined ? [] : [interleaved]),
      `Peers: ${rate}/s only, 1 KiB records and the same duration, a paced producer and a ` +
        'consumer on two ' +
        'connections of the suite process, timed from the intended send time; what ack and ' +
        'delivery mean: ' +
        (peers.map((peer) => `${peer.system}: ${peer.meaning}`).join('; ') || 'none ran') +
        '. Only tributary (acks=all after the WAL fsync) and redis-always ack after fsync.',
    ],
    chart: {
      title: `Workload 2: end-to-end latency at ${latencyRates.join(' and ')}/s (ms)`,
      unit: 'ms',
      bars: [
        ...runs.flatMap((run) => {
          const who = `${run.client === librdkafkaClient ? 'Python' : 'C'} ${run.rate}/s`;
          const targets = run.rate === rate;
          return [
            {
              label: `tributary ${who} p50`,
              value: run.e2eMs.p50,
              ...(targets ? { target: 2 } : {}),
            },
            {
              label: `tributary ${who} p99`,
              value: run.e2eMs.p99,
              ...(targets ? { target: 10 } : {}),
            },
            { label: `tributary ${who} p99.9`, value: run.e2eMs.p999 },
          ];
        }),
        ...tmpfsRuns.map((run) => ({
          label: `tributary on tmpfs C ${run.rate}/s p99`,
          value: run.e2eMs.p99,
        })),
        ...peers.map((peer) => ({ label: `${peer.system} p99`, value: peer.result.e2eMs.p99 })),
      ],
    },
  };
}
