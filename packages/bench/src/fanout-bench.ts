/**
 * Workload 3: fan-out. One acks=all producer writes flat out while four consumers, each in its
 * own consumer group, read everything. Deliveries/s is the four consumers' total over the window
 * from the producer's start to the last delivery. If group mode delivers nothing (group support
 * missing or broken), the run is repeated with each "group" a consumer assigned to every
 * partition, which exercises the same Fetch path; the report says which mode ran.
 */
import {
  bottleneckNote,
  cpuUseWindow,
  perCpu,
  type CpuUse,
  uniqueTopic,
  withBroker,
  type BenchContext,
} from './bench-context.ts';
import type { WorkloadReport } from './bench-report.ts';
import type { BrokerChild } from './broker-child.ts';
import {
  consumeResult,
  createTopic,
  librdkafkaClient,
  startConsumer,
  startFlatOut,
  type ConsumeResult,
} from './kafka-drivers.ts';
import { driverNumber } from './python-driver.ts';

const consumerCount = 4;
const partitions = 4;

interface FanoutRun {
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
    mode: results[0]?.mode ?? '?',
    produced,
    deliveries,
    seconds: Number(lastNs - startNs) / 1e9,
    cpuSeconds,
    use,
    perConsumer: results.map((result) => result.count),
  };
}

export async function runFanoutBench(context: BenchContext): Promise<WorkloadReport> {
  const records = context.quick ? 150_000 : 500_000;
  return withBroker(context, {}, async (broker) => {
    context.log(`fanout: ${records} records, ${consumerCount} groups`);
    let run = await runOnce(broker, records, true);
    const notes: string[] = [];
    if (run.perConsumer.some((count) => count === 0)) {
      notes.push(
        `Group mode delivered [${run.perConsumer.join(', ')}]: repeated in assign mode ` +
          '(each "group" is one consumer assigned every partition; same Fetch path).',
      );
      run = await runOnce(broker, records, false);
    }
    const rate = run.seconds > 0 ? run.deliveries / run.seconds : 0;
    const base = { system: 'tributary', client: librdkafkaClient };
    notes.push(
      `Mode: ${run.mode === 'group' ? 'four consumer groups (subscribe)' : 'assign'}; ` +
        `${partitions} partitions, ${run.produced} records produced flat out (1 KiB, acks=all) ` +
        `while the consumers read; per consumer [${run.perConsumer.join(', ')}].`,
      `Window ${run.seconds.toFixed(2)} s from producer start to last delivery; broker CPU ` +
        `${run.cpuSeconds.toFixed(2)} s. The five client processes share the 2 cores with the ` +
        'broker, so the client side is part of the ceiling here.',
      bottleneckNote(run.use),
      'When it is missed: the consumers are four Python processes beside the producer on two ' +
        'cores; the broker CPU per delivery (msgs/CPU-s) says how far the broker alone would ' +
        'go, and a C consumer would show whether its Fetch path or the clients give first.',
    );
    return {
      name: 'fanout',
      title: `fan-out: 1 producer, ${consumerCount} groups each reading everything`,
      figures: [
        {
          ...base,
          metric: 'deliveries/s (all groups)',
          value: rate,
          unit: 'rec/s',
          perCpuSecond: perCpu(run.deliveries, run.cpuSeconds),
          target: { value: 200_000, atLeast: true },
        },
        {
          ...base,
          metric: 'produce rate in the window',
          value: run.produced / run.seconds,
          unit: 'rec/s',
        },
      ],
      notes,
      chart: {
        title: 'Workload 3: fan-out deliveries/s across four groups',
        unit: 'rec/s',
        bars: [{ label: 'tributary (4 groups)', value: rate, target: 200_000 }],
      },
    };
  });
}
