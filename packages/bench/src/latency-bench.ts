/**
 * Workload 2: end-to-end latency at a fixed rate (issue 5: 5,000 records/s for 30 s). The
 * producer stamps each value with its intended send time; the consumer (assigned to the
 * partition, long-polling Fetch) subtracts it on receipt, so latency includes any time the
 * producer spent behind schedule: no coordinated omission. Tributary is measured with the C load
 * generator's producer and consumer (native-load.ts), which leave the cores to the broker, and in
 * the full run also with python3-confluent-kafka. The peers (Redis Streams with appendfsync
 * always, NATS JetStream file storage, RabbitMQ streams in the full run) run the same rate,
 * record size and duration with the suite's paced clients (peer-latency.ts), each on a fresh
 * private server.
 */
import {
  bottleneckNote,
  cpuUseWindow,
  resourceFigures,
  type CpuUse,
  perCpu,
  sleep,
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
  pacedResult,
  startConsumer,
  startPaced,
} from './kafka-drivers.ts';
import {
  nativeClient,
  nativeLoadAvailable,
  startNativeConsume,
  startNativeProduce,
} from './native-load.ts';
import {
  natsPacedLatency,
  rabbitPacedLatency,
  redisPacedLatency,
  type PacedLatencyOptions,
  type PeerLatencyResult,
} from './peer-latency.ts';
import { startNats, startRabbitmq, startRedis, type PeerServer } from './peer-servers.ts';
import type { DriverPercentiles } from './python-driver.ts';

/** Value bytes of every record (the title's 1 KiB). */
const valueBytes = 1024;

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

/** One client pair's view of Tributary: who measured, and the latency summaries. */
interface TributaryLatency {
  client: string;
  /** From the intended send time to the consumer receiving the record. */
  e2eMs: DriverPercentiles;
  /** From the intended send time to the producer's acknowledgement. */
  ackMs: DriverPercentiles;
  delivered: number;
  producerErrors: number;
  use: CpuUse;
}

/** C producer (paced, stamping each value) and C consumer (assign mode). */
async function measureNative(broker: BrokerChild, rate: number, seconds: number) {
  const topic = uniqueTopic('bench-latency-c');
  await createTopic(broker.bootstrap, topic, 1);
  const records = rate * seconds;
  const consumer = await startNativeConsume({
    bootstrap: broker.bootstrap,
    topic,
    records,
    idleMs: 30_000,
    stamped: true,
  });
  // Let the consumer's first (empty) Fetch reach the broker before the clock starts.
  await sleep(1500);
  const cpu = cpuUseWindow(broker.pid);
  const producer = await startNativeProduce({
    bootstrap: broker.bootstrap,
    topic,
    records,
    size: valueBytes,
    lingerMs: 1,
    ratePerSecond: rate,
    stamped: true,
  });
  const produced = await producer.result;
  const consumed = await consumer.result;
  if (consumed.e2eMs === undefined) throw new Error('the C consumer reported no latency');
  return {
    client: nativeClient,
    e2eMs: consumed.e2eMs,
    ackMs: produced.ackMs,
    delivered: consumed.records,
    producerErrors: produced.errors,
    use: cpu(),
  };
}

/** python3-confluent-kafka producer (paced) and consumer (assign mode, fetch.wait.max.ms 20). */
async function measurePython(broker: BrokerChild, rate: number, seconds: number) {
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
    e2eMs: consumed.e2eMs,
    ackMs: paced.ackMs,
    delivered: consumed.count,
    producerErrors: paced.errors,
    use: cpu(),
  };
}

export async function runLatencyBench(context: BenchContext): Promise<WorkloadReport> {
  const rate = 5000;
  const seconds = context.quick ? 8 : 30;
  const runs = await withBroker(context, {}, async (broker) => {
    const done: TributaryLatency[] = [];
    if (await nativeLoadAvailable(context.log)) {
      context.log(`latency: ${rate}/s for ${seconds} s, C clients`);
      done.push(await measureNative(broker, rate, seconds));
    }
    if (!context.quick || done.length === 0) {
      context.log(`latency: ${rate}/s for ${seconds} s, Python clients`);
      done.push(await measurePython(broker, rate, seconds));
    }
    return done;
  });
  const peers = await runPeerLatencies(context, rate, seconds);
  return latencyReport({ rate, seconds, expect: rate * seconds, runs, peers });
}

interface LatencyMeasurements {
  rate: number;
  seconds: number;
  expect: number;
  runs: TributaryLatency[];
  peers: PeerLatencyRun[];
}

function tributaryFigures(run: TributaryLatency, expect: number): BenchFigure[] {
  const base = { system: 'tributary', client: run.client };
  const e2e = run.e2eMs;
  return [
    {
      ...base,
      metric: 'e2e p50',
      value: e2e.p50,
      unit: 'ms',
      target: { value: 2, atLeast: false },
    },
    {
      ...base,
      metric: 'e2e p99',
      value: e2e.p99,
      unit: 'ms',
      target: { value: 10, atLeast: false },
    },
    { ...base, metric: 'e2e p99.9', value: e2e.p999, unit: 'ms' },
    { ...base, metric: 'e2e max', value: e2e.max, unit: 'ms' },
    { ...base, metric: 'producer ack p99 (from intended)', value: run.ackMs.p99, unit: 'ms' },
    {
      ...base,
      metric: 'records delivered',
      value: run.delivered,
      unit: `of ${expect}`,
      perCpuSecond: perCpu(run.delivered, run.use.brokerCpuSeconds),
    },
    ...resourceFigures(base, run.use, {
      producedBytes: run.delivered * valueBytes,
      fetchedBytes: run.delivered * valueBytes,
    }),
  ];
}

function tributaryNote(run: TributaryLatency): string {
  const clients =
    run.client === nativeClient
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
    `${run.client}: ${clients}; producer errors ${run.producerErrors}; broker CPU ` +
    `${run.use.brokerCpuSeconds.toFixed(2)} s. ${bottleneckNote(run.use)} On this run ${tail}.`
  );
}

function latencyReport(m: LatencyMeasurements): WorkloadReport {
  const { rate, seconds, expect, runs, peers } = m;
  return {
    name: 'latency',
    title: `end-to-end latency at ${rate} records/s for ${seconds} s (1 KiB, acks=all)`,
    figures: [
      ...runs.flatMap((run) => tributaryFigures(run, expect)),
      ...peers.flatMap((peer) => peerLatencyFigures(peer, expect)),
    ],
    notes: [
      'Latency runs from the intended send time (CLOCK_MONOTONIC in the value) to the ' +
        'consumer receiving the record: no coordinated omission.',
      ...runs.map(tributaryNote),
      'Peers: same rate, 1 KiB records and duration, a paced producer and a consumer on two ' +
        'connections of the suite process, timed from the intended send time; what ack and ' +
        'delivery mean: ' +
        (peers.map((peer) => `${peer.system}: ${peer.meaning}`).join('; ') || 'none ran') +
        '. Only tributary (acks=all after the WAL fsync) and redis-always ack after fsync.',
    ],
    chart: {
      title: `Workload 2: end-to-end latency at ${rate}/s (ms)`,
      unit: 'ms',
      bars: [
        ...runs.flatMap((run) => {
          const who = run.client === nativeClient ? 'C' : 'Python';
          return [
            { label: `tributary ${who} p50`, value: run.e2eMs.p50, target: 2 },
            { label: `tributary ${who} p99`, value: run.e2eMs.p99, target: 10 },
            { label: `tributary ${who} p99.9`, value: run.e2eMs.p999 },
          ];
        }),
        ...peers.map((peer) => ({ label: `${peer.system} p99`, value: peer.result.e2eMs.p99 })),
      ],
    },
  };
}
