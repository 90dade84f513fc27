/**
 * Workload 3: fan-out. One acks=all producer writes flat out while four consumers, each in its
 * own consumer group, read everything. Deliveries/s is the four consumers' total over the window
 * from the producer's start to the last delivery. The figure held against the target comes from
 * the C load generator (native-load.ts), so the clients take little of the two cores; the full
 * run repeats it with python3-confluent-kafka processes, the client the other workloads use. If
 * the Python group mode delivers nothing (group support missing or broken), that run is repeated
 * with each "group" a consumer assigned to every partition, which exercises the same Fetch path;
 * the report says which mode ran. The peers (peer-fanout.ts) run the same shape with fewer
 * records: four groups, one pipelined producer.
 */
import {
  bottleneckNote,
  cpuUseWindow,
  resourceFigures,
  type BytesMoved,
  perCpu,
  type CpuUse,
  uniqueTopic,
  withBroker,
  type BenchContext,
} from './bench-context.ts';
import type { BenchFigure, WorkloadReport } from './bench-report.ts';
import type { BrokerChild } from './broker-child.ts';
import {
  consumeResult,
  createTopic,
  librdkafkaClient,
  startConsumer,
  startFlatOut,
  type ConsumeResult,
} from './kafka-drivers.ts';
import { peerFanout, type PeerFanoutRun } from './peer-fanout.ts';
import {
  natsFile,
  rabbitStream,
  redisAlways,
  redisEverysec,
  runOnPeers,
  summarizePeers,
  type PeerOutcome,
} from './peer-systems.ts';
import { nativeClient, startNativeConsume, startNativeProduce } from './native-load.ts';
import { driverNumber } from './python-driver.ts';

/** Value bytes of every record. */
const recordBytes = 1024;

const consumerCount = 4;
const partitions = 4;

interface FanoutRun {
  client: string;
  mode: string;
  produced: number;
  deliveries: number;
  seconds: number;
  cpuSeconds: number;
  use: CpuUse;
  perConsumer: number[];
}

async function runOnce(
  broker: BrokerChild,
  records: number,
  useGroups: boolean,
): Promise<FanoutRun> {
  const topic = uniqueTopic('bench-fanout');
  await createTopic(broker.bootstrap, topic, partitions);
  const consumers = Array.from({ length: consumerCount }, (_, index) =>
    startConsumer({
      bootstrap: broker.bootstrap,
      topic,
      group: useGroups ? `${topic}-g${index}` : '',
      expect: records,
      seconds: 120,
    }),
  );
  await Promise.all(consumers.map((consumer) => consumer.waitFor('ready')));
  const cpu = cpuUseWindow(broker.pid);
  const startNs = process.hrtime.bigint();
  const producer = startFlatOut({
    bootstrap: broker.bootstrap,
    topic,
    seconds: 60,
    maxRecords: records,
  });
  const produced = driverNumber(await producer.summary, 'acked');
  const results: ConsumeResult[] = [];
  for (const consumer of consumers) results.push(consumeResult(await consumer.summary));
  const use = cpu();
  const cpuSeconds = use.brokerCpuSeconds;
  const lastNs = results.reduce(
    (last, result) => (result.lastNs > last ? result.lastNs : last),
    0n,
  );
  const deliveries = results.reduce((sum, result) => sum + result.count, 0);
  return {
    client: librdkafkaClient,
    mode: results[0]?.mode ?? '?',
    produced,
    deliveries,
    seconds: Number(lastNs - startNs) / 1e9,
    cpuSeconds,
    use,
    perConsumer: results.map((result) => result.count),
  };
}

/** The same run with the C load generator: four group consumers and one producer. */
async function runNative(broker: BrokerChild, records: number): Promise<FanoutRun> {
  const topic = uniqueTopic('bench-fanout-c');
  await createTopic(broker.bootstrap, topic, partitions);
  const consumers = await Promise.all(
    Array.from({ length: consumerCount }, (_, index) =>
      startNativeConsume({
        bootstrap: broker.bootstrap,
        topic,
        group: `${topic}-g${index}`,
        records,
        idleMs: 30_000,
        timeoutMs: 180_000,
      }),
    ),
  );
  const cpu = cpuUseWindow(broker.pid);
  const producer = await startNativeProduce({
    bootstrap: broker.bootstrap,
    topic,
    records,
    size: recordBytes,
    timeoutMs: 180_000,
  });
  const produced = await producer.result;
  const results = await Promise.all(consumers.map((consumer) => consumer.result));
  const use = cpu();
  const lastNs = results.reduce((last, r) => (r.lastNs > last ? r.lastNs : last), 0n);
  return {
    client: nativeClient,
    mode: 'group',
    produced: produced.acked,
    deliveries: results.reduce((sum, result) => sum + result.records, 0),
    seconds: Number(lastNs - produced.startNs) / 1e9,
    cpuSeconds: use.brokerCpuSeconds,
    use,
    perConsumer: results.map((result) => result.records),
  };
}

function peerFigures(outcome: PeerOutcome<PeerFanoutRun>): BenchFigure[] {
  const run = outcome.result;
  if (run === undefined) return [];
  const base = { system: outcome.peer.system, client: `${outcome.peer.client.name}, 4 readers` };
  return [
    {
      ...base,
      metric: 'deliveries/s (all groups)',
      value: run.deliveries / run.seconds,
      unit: 'rec/s',
      perCpuSecond: perCpu(run.deliveries, run.use.brokerCpuSeconds),
    },
    {
      ...base,
      metric: 'produce rate in the window',
      value: run.produced / run.seconds,
      unit: 'rec/s',
    },
    ...resourceFigures(base, run.use, bytesMoved(run)),
  ];
}

/** Produced once, fetched once per delivery (every group reads everything). */
function bytesMoved(run: { produced: number; deliveries: number }): BytesMoved {
  return { producedBytes: run.produced * recordBytes, fetchedBytes: run.deliveries * recordBytes };
}

function deliveryRate(run: FanoutRun): number {
  return run.seconds > 0 ? run.deliveries / run.seconds : 0;
}

function tributaryFigures(run: FanoutRun): BenchFigure[] {
  const base = { system: 'tributary', client: run.client };
  return [
    {
      ...base,
      metric: 'deliveries/s (all groups)',
      value: deliveryRate(run),
      unit: 'rec/s',
      perCpuSecond: perCpu(run.deliveries, run.cpuSeconds),
      target: { value: 200_000, atLeast: true },
    },
    {
      ...base,
      metric: 'produce rate in the window',
      value: run.seconds > 0 ? run.produced / run.seconds : 0,
      unit: 'rec/s',
    },
    ...resourceFigures(base, run.use, bytesMoved(run)),
  ];
}

function peerNotes(outcomes: ReadonlyArray<PeerOutcome<PeerFanoutRun>>, records: number): string[] {
  const { ran, failures } = summarizePeers(outcomes);
  return [
    `Peers: ${records} records each (fewer than tributary's, to keep the run short), four ` +
      'groups created before the first message, each read on its own connection of the suite ' +
      'process; one producer with 256 unacknowledged. What a delivery and its ack mean: ' +
      (ran.map(({ peer }) => `${peer.system}: ${peer.delivery}`).join('; ') || 'none ran') +
      '.',
    ...ran.map(
      ({ peer, run }) =>
        `${peer.system}: per group [${run.perGroup.join(', ')}] in ${run.seconds.toFixed(2)} s, ` +
        `server CPU ${run.use.brokerCpuSeconds.toFixed(2)} s. ${bottleneckNote(run.use)}`,
    ),
    ...failures,
  ];
}

export async function runFanoutBench(context: BenchContext): Promise<WorkloadReport> {
  const records = context.quick ? 150_000 : 500_000;
  const runs = await withBroker(context, {}, (broker) => runTributary(context, broker, records));
  const peerRecords = context.quick ? 30_000 : 200_000;
  const peers = context.quick
    ? [redisAlways, natsFile]
    : [redisAlways, redisEverysec, natsFile, rabbitStream];
  const outcomes = await runOnPeers(context, 'fanout', peers, (peer, server) =>
    peerFanout(peer, server, { records: peerRecords, groups: consumerCount }),
  );
  return {
    name: 'fanout',
    title: `fan-out: 1 producer, ${consumerCount} groups each reading everything`,
    figures: [...runs.flatMap(tributaryFigures), ...outcomes.flatMap(peerFigures)],
    notes: [...runs.flatMap(tributaryNotes), ...peerNotes(outcomes, peerRecords)],
    chart: {
      title: 'Workload 3: fan-out deliveries/s across four groups',
      unit: 'rec/s',
      bars: [
        ...runs.map((run) => ({
          label: `tributary, ${run.client === nativeClient ? 'C' : 'Python'} clients`,
          value: deliveryRate(run),
          target: 200_000,
        })),
        ...outcomes.flatMap((outcome) =>
          outcome.result === undefined
            ? []
            : [
                {
                  label: outcome.peer.system,
                  value: outcome.result.deliveries / outcome.result.seconds,
                },
              ],
        ),
      ],
    },
  };
}

type NotedRun = FanoutRun & { notes: string[] };

/** The C run, and in the full run the Python one after it. */
async function runTributary(
  context: BenchContext,
  broker: BrokerChild,
  records: number,
): Promise<NotedRun[]> {
  context.log(`fanout: ${records} records, ${consumerCount} groups, C clients`);
  const runs: NotedRun[] = [];
  try {
    runs.push({ ...(await runNative(broker, records)), notes: [] });
  } catch (error: unknown) {
    context.log(`fanout: C load generator failed: ${String(error)}`);
  }
  if (!context.quick || runs.length === 0) runs.push(await runPython(context, broker, records));
  return runs;
}

async function runPython(
  context: BenchContext,
  broker: BrokerChild,
  records: number,
): Promise<NotedRun> {
  context.log(`fanout: ${records} records, ${consumerCount} groups, Python clients`);
  let run = await runOnce(broker, records, true);
  const notes: string[] = [];
  if (run.perConsumer.some((count) => count === 0)) {
    notes.push(
      `Group mode delivered [${run.perConsumer.join(', ')}]: repeated in assign mode ` +
        '(each "group" is one consumer assigned every partition; same Fetch path).',
    );
    run = await runOnce(broker, records, false);
  }
  return { ...run, notes };
}

function tributaryNotes(run: NotedRun): string[] {
  const clients =
    run.client === nativeClient ? 'five tributary-load processes (C)' : 'five Python processes';
  return [
    ...run.notes,
    `${run.client}: ${run.mode === 'group' ? 'four consumer groups (subscribe)' : 'assign'}; ` +
      `${partitions} partitions, ${run.produced} records produced flat out (1 KiB, acks=all) ` +
      `while the consumers read; per consumer [${run.perConsumer.join(', ')}]. A tributary ` +
      'delivery is a record in a Fetch response; the consumers commit no offsets ' +
      '(enable.auto.commit false), so reading writes nothing on the broker.',
    `Window ${run.seconds.toFixed(2)} s from producer start to last delivery; broker CPU ` +
      `${run.cpuSeconds.toFixed(2)} s. The ${clients} share the 2 cores with the broker, so ` +
      'the client side is part of the ceiling here.',
    bottleneckNote(run.use),
  ];
}
