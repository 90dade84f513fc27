/**
 * The workloads' Tributary measurements, run against an Apache Kafka node (kafka-peer.ts) with
 * the same clients, sizes and rates, so each Kafka row has the same client and metric as the
 * Tributary row it is compared with. Only the Kafka-protocol parts run here: the C load
 * generator (librdkafka), the Python librdkafka driver and @platformatic/kafka.
 */
import {
  cpuUseWindow,
  perCpu,
  resourceFigures,
  sleep,
  uniqueTopic,
  type BenchContext,
  type BytesMoved,
  type CpuUse,
} from './bench-context.ts';
import type { BenchFigure } from './bench-report.ts';
import type { BrokerChild } from './broker-child.ts';
import {
  acksDuring,
  createTopic,
  librdkafkaClient,
  pacedResult,
  startPaced,
} from './kafka-drivers.ts';
import { summarizeMs } from './latency-summary.ts';
import { nativeClient, startNativeConsume, startNativeProduce } from './native-load.ts';
import {
  liveUnderReplayFigures,
  liveUnderReplayNote,
  measureLiveUnderReplay,
} from './live-under-replay.ts';
import { smallProducerWarmupSeconds } from './peer-small-producers.ts';
import { platformaticClient, runPipelinedKafka } from './platformatic-load.ts';
import { rawReadAll, rawReadFigures, rawReadNote } from './raw-fetch-reader.ts';

/** What one scenario measured on one Kafka node: rows (system left blank) and a note. */
export interface KafkaScenarioResult {
  figures: Array<Omit<BenchFigure, 'system'>>;
  note: string;
}

/** Kafka's CPU per GB and RSS rows, named as Tributary's so the ratios line up. */
function resources(client: string, use: CpuUse, moved: BytesMoved): KafkaScenarioResult['figures'] {
  return resourceFigures({ system: '', client }, use, moved).map(
    ({ system: _system, ...figure }) => figure,
  );
}

export type KafkaScenario = (
  context: BenchContext,
  broker: BrokerChild,
) => Promise<KafkaScenarioResult>;

function megabytesPerSecond(records: number, seconds: number): number {
  return seconds > 0 ? (records * 1024) / 1e6 / seconds : 0;
}

/** produce: the C generator flat out (linger 2 ms) and platformatic's 256 single sends. */
async function produceOnKafka(context: BenchContext, broker: BrokerChild) {
  const records = context.quick ? 500_000 : 2_000_000;
  const topic = uniqueTopic('bench-kafka-throughput-c');
  await createTopic(broker.bootstrap, topic, 1);
  const use = cpuUseWindow(broker.pid);
  const run = await startNativeProduce({
    bootstrap: broker.bootstrap,
    topic,
    records,
    size: 1024,
    lingerMs: 2,
  });
  const result = await run.result;
  const closed = use();
  const cpu = closed.brokerCpuSeconds;
  const seconds = context.quick ? 4 : 10;
  const window = 256;
  const pipelinedTopic = uniqueTopic('bench-kafka-pipelined');
  await createTopic(broker.bootstrap, pipelinedTopic, 1);
  const pipelinedUse = cpuUseWindow(broker.pid);
  const pipelined = await runPipelinedKafka(broker.bootstrap, pipelinedTopic, seconds, window);
  const pipelinedCpu = pipelinedUse().brokerCpuSeconds;
  return {
    figures: [
      {
        client: nativeClient,
        metric: `acks=all throughput, linger 2 ms (ack p99 ${result.ackMs.p99.toFixed(1)} ms)`,
        value: megabytesPerSecond(result.acked, result.elapsedSeconds),
        unit: 'MB/s',
        perCpuSecond: perCpu(result.acked, cpu),
      },
      ...resources(nativeClient, closed, { producedBytes: result.acked * 1024, fetchedBytes: 0 }),
      {
        client: `${platformaticClient}, ${window} single-record sends in flight`,
        metric: `throughput (ack p99 ${pipelined.ackLatency.p99Ms.toFixed(1)} ms)`,
        value: megabytesPerSecond(pipelined.acked, pipelined.seconds),
        unit: 'MB/s',
        perCpuSecond: perCpu(pipelined.acked, pipelinedCpu),
      },
    ],
    note:
      `C flat out: ${result.acked} of ${records} records acked, errors ${result.errors}, ` +
      `broker CPU ${cpu.toFixed(2)} s; platformatic: ${pipelined.acked} acked in ` +
      `${pipelined.seconds.toFixed(1)} s, errors ${pipelined.errors}, broker CPU ` +
      `${pipelinedCpu.toFixed(2)} s`,
  };
}

/** small-producers: 200 librdkafka producer instances in the C generator, 50 records/s each. */
async function smallProducersOnKafka(context: BenchContext, broker: BrokerChild) {
  const producers = 200;
  const ratePerProducer = 50;
  const seconds = context.quick ? 6 : 20;
  const warmupSeconds = smallProducerWarmupSeconds(context.quick);
  const topic = uniqueTopic('bench-kafka-small');
  await createTopic(broker.bootstrap, topic, 8);
  // As for Tributary's C row: the warm-up is sent, not measured, nor is its CPU.
  let use = cpuUseWindow(broker.pid);
  const run = await startNativeProduce({
    bootstrap: broker.bootstrap,
    topic,
    records: producers * ratePerProducer * seconds,
    warmupRecords: producers * ratePerProducer * warmupSeconds,
    onMeasuring: () => {
      use = cpuUseWindow(broker.pid);
    },
    size: 1024,
    lingerMs: 0,
    ratePerSecond: producers * ratePerProducer,
    producers,
    timeoutMs: (seconds + warmupSeconds + 120) * 1000,
  });
  const result = await run.result;
  const closed = use();
  const cpu = closed.brokerCpuSeconds;
  const client = `${nativeClient}, ${producers} producer instances`;
  return {
    figures: [
      {
        client,
        metric: 'acked rate',
        value: result.acked / result.elapsedSeconds,
        unit: `rec/s of ${producers * ratePerProducer}`,
        perCpuSecond: perCpu(result.acked, cpu),
      },
      { client, metric: 'ack p50 (from intended)', value: result.ackMs.p50, unit: 'ms' },
      { client, metric: 'ack p99 (from intended)', value: result.ackMs.p99, unit: 'ms' },
      { client, metric: 'ack max', value: result.ackMs.max, unit: 'ms' },
      ...resources(client, closed, { producedBytes: result.acked * 1024, fetchedBytes: 0 }),
    ],
    note:
      `${producers} x ${ratePerProducer}/s for ${seconds} s after ${warmupSeconds} s of ` +
      `warm-up, 8 partitions: errors ` +
      `${result.errors}, broker CPU ${cpu.toFixed(2)} s`,
  };
}

/** replay: a backlog from the C generator, a live Python producer, a C group reading it all. */
async function replayOnKafka(context: BenchContext, broker: BrokerChild) {
  const backlogMB = context.quick ? 100 : 2000;
  const liveRate = 5000;
  const liveSeconds = context.quick ? 6 : 20;
  const { bootstrap } = broker;
  const topic = uniqueTopic('bench-kafka-replay');
  await createTopic(bootstrap, topic, 1);
  const backlog = Math.round((backlogMB * 1e6) / 1024);
  const written = (
    await (
      await startNativeProduce({ bootstrap, topic, records: backlog, size: 1024 })
    ).result
  ).acked;
  const pacing = { bootstrap, topic, ratePerSecond: liveRate, seconds: liveSeconds };
  const baseline = pacedResult(await startPaced(pacing).summary);
  const live = startPaced({ ...pacing, dump: true });
  await live.waitFor('started');
  await sleep(1000);
  const use = cpuUseWindow(broker.pid);
  const reader = await startNativeConsume({
    bootstrap,
    topic,
    group: `${topic}-replay`,
    records: written,
    idleMs: 30_000,
  });
  const read = await reader.result;
  const closed = use();
  const cpu = closed.brokerCpuSeconds;
  const rawCpu = cpuUseWindow(broker.pid);
  const raw = await rawReadAll(bootstrap, topic, written);
  const rawUse = rawCpu();
  const underReplay = pacedResult(await live.summary);
  const besideReplay = await measureLiveUnderReplay(
    broker,
    { bootstrap, topic, records: written },
    context.quick,
  );
  const during = acksDuring(underReplay, read);
  const duringP99 = summarizeMs(during).p99Ms;
  const catchUpSeconds = Number(read.lastNs - read.firstNs) / 1e9;
  const base = { client: librdkafkaClient, unit: 'ms' };
  const baselineP99 = baseline.ackMs.p99;
  return {
    figures: [
      {
        client: nativeClient,
        metric: 'catch-up read',
        value: catchUpSeconds > 0 ? read.bytes / 1e6 / catchUpSeconds : 0,
        unit: 'MB/s',
        perCpuSecond: perCpu(read.records, cpu),
      },
      { ...base, metric: 'live ack p99, baseline', value: baselineP99 },
      { ...base, metric: 'live ack p99, during replay', value: duringP99 },
      { ...base, metric: 'live ack p99, whole live run', value: underReplay.ackMs.p99 },
      {
        ...base,
        metric: 'live p99 during / baseline',
        value: baselineP99 > 0 ? duringP99 / baselineP99 : 0,
        unit: 'x',
      },
      ...resources(nativeClient, closed, {
        producedBytes: during.length * 1024,
        fetchedBytes: read.bytes,
      }),
      ...rawReadFigures(raw, underReplay, baselineP99, rawUse),
      ...liveUnderReplayFigures('', besideReplay).map(({ system: _system, ...figure }) => figure),
    ],
    note:
      `backlog ${written} records (${backlogMB} MB), ${read.records} read in ` +
      `${catchUpSeconds.toFixed(2)} s by a fresh group; live errors ${baseline.errors} + ` +
      `${underReplay.errors}; broker CPU over the catch-up ${cpu.toFixed(2)} s; ` +
      `${rawReadNote(raw, rawUse)}; ${liveUnderReplayNote(besideReplay)}`,
  };
}

/** fanout: four consumer groups of the C generator read one 4-partition topic as it fills. */
async function fanoutOnKafka(context: BenchContext, broker: BrokerChild) {
  const records = context.quick ? 150_000 : 500_000;
  const groups = 4;
  const { bootstrap } = broker;
  const topic = uniqueTopic('bench-kafka-fanout-c');
  await createTopic(bootstrap, topic, 4);
  const consumers = await Promise.all(
    Array.from({ length: groups }, (_, index) =>
      startNativeConsume({
        bootstrap,
        topic,
        group: `${topic}-g${index}`,
        records,
        idleMs: 30_000,
        timeoutMs: 180_000,
      }),
    ),
  );
  const use = cpuUseWindow(broker.pid);
  const producer = await startNativeProduce({
    bootstrap,
    topic,
    records,
    size: 1024,
    timeoutMs: 180_000,
  });
  const produced = await producer.result;
  const results = await Promise.all(consumers.map((consumer) => consumer.result));
  const cpu = use().brokerCpuSeconds;
  const lastNs = results.reduce((last, r) => (r.lastNs > last ? r.lastNs : last), 0n);
  const seconds = Number(lastNs - produced.startNs) / 1e9;
  const deliveries = results.reduce((sum, result) => sum + result.records, 0);
  return {
    figures: [
      {
        client: nativeClient,
        metric: 'deliveries/s (all groups)',
        value: seconds > 0 ? deliveries / seconds : 0,
        unit: 'rec/s',
        perCpuSecond: perCpu(deliveries, cpu),
      },
      {
        client: nativeClient,
        metric: 'produce rate in the window',
        value: seconds > 0 ? produced.acked / seconds : 0,
        unit: 'rec/s',
      },
    ],
    note:
      `${records} records, ${groups} groups: per group ` +
      `[${results.map((result) => result.records).join(', ')}] in ${seconds.toFixed(2)} s, ` +
      `broker CPU ${cpu.toFixed(2)} s`,
  };
}

/** The workloads Kafka runs, by workload name. */
export const kafkaScenarios: ReadonlyMap<string, KafkaScenario> = new Map<string, KafkaScenario>([
  ['produce', produceOnKafka],
  ['small-producers', smallProducersOnKafka],
  ['replay', replayOnKafka],
  ['fanout', fanoutOnKafka],
]);

/** The workloads Kafka does not run, and why (said in their reports). */
export const kafkaNotRun: ReadonlyMap<string, string> = new Map([
  [
    'scale',
    'not run against Kafka: 10,000 partitions on one KRaft node open two memory-mapped ' +
      'indexes and a segment file each and take minutes to create on this machine; the ' +
      'restart-after-SIGKILL part measures Tributary recovery only',
  ],
  [
    'cluster',
    'not run against Kafka: it compares Tributary’s own cluster mode with its embedded broker',
  ],
  ['index-memory', 'not run against Kafka: it measures the RSS of Tributary’s batch index'],
]);
