/**
 * Workload 2: end-to-end latency at a fixed rate (issue 5: 5,000 records/s for 30 s). The
 * producer stamps each value with its intended send time; the consumer (assigned to the
 * partition, long-polling Fetch) subtracts it on receipt, so latency includes any time the
 * producer spent behind schedule: no coordinated omission. The peers (Redis Streams with
 * appendfsync always, NATS JetStream file storage) run the same rate, record size and duration
 * with the suite's paced raw clients (peer-latency.ts), each on a fresh private server.
 */
import {
  bottleneckNote,
  cpuUseWindow,
  type CpuUse,
  perCpu,
  sleep,
  uniqueTopic,
  withBroker,
  type BenchContext,
} from './bench-context.ts';
import type { BenchFigure, WorkloadReport } from './bench-report.ts';
import {
  consumeResult,
  createTopic,
  librdkafkaClient,
  pacedResult,
  type ConsumeResult,
  type PacedResult,
  startConsumer,
  startPaced,
} from './kafka-drivers.ts';
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
        const result = await measure({ port: server.port, valueBytes: 1024, rate, seconds });
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

export async function runLatencyBench(context: BenchContext): Promise<WorkloadReport> {
  const rate = 5000;
  const seconds = context.quick ? 8 : 30;
  const measured = await withBroker(context, {}, async (broker) => {
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
    // Let the consumer's first (empty) Fetch reach the broker before the clock starts.
    await sleep(1000);
    context.log(`latency: ${rate}/s for ${seconds} s`);
    const cpu = cpuUseWindow(broker.pid);
    const producer = startPaced({
      bootstrap: broker.bootstrap,
      topic,
      ratePerSecond: rate,
      seconds,
    });
    const paced = pacedResult(await producer.summary);
    const consumed = consumeResult(await consumer.summary);
    return { rate, seconds, expect, paced, consumed, use: cpu() };
  });
  const peers = await runPeerLatencies(context, rate, seconds);
  return latencyReport({ ...measured, peers });
}

interface LatencyMeasurements {
  rate: number;
  seconds: number;
  expect: number;
  paced: PacedResult;
  consumed: ConsumeResult;
  use: CpuUse;
  peers: PeerLatencyRun[];
}

function latencyReport(m: LatencyMeasurements): WorkloadReport {
  const { rate, seconds, expect, paced, consumed, use, peers } = m;
  const cpuSeconds = use.brokerCpuSeconds;
  const e2e = consumed.e2eMs;
  const base = { system: 'tributary', client: librdkafkaClient };
  const records = perCpu(consumed.count, cpuSeconds);
  return {
    name: 'latency',
    title: `end-to-end latency at ${rate} records/s for ${seconds} s (1 KiB, acks=all)`,
    figures: [
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
      { ...base, metric: 'producer ack p99 (from intended)', value: paced.ackMs.p99, unit: 'ms' },
      {
        ...base,
        metric: 'records delivered',
        value: consumed.count,
        unit: `of ${expect}`,
        perCpuSecond: records,
      },
      ...peers.flatMap((peer) => peerLatencyFigures(peer, expect)),
    ],
    notes: [
      'Latency runs from the intended send time (CLOCK_MONOTONIC in the value) to the ' +
        'consumer receiving the record: no coordinated omission.',
      `Consumer: assign mode on the single partition, fetch.wait.max.ms 20; producer linger.ms 1. ` +
        `Producer errors: ${paced.errors}.`,
      'Peers: same rate, 1 KiB records and duration, a paced producer and a consumer on two ' +
        'connections of the suite process, timed from the intended send time; what ack and ' +
        'delivery mean: ' +
        (peers.map((peer) => `${peer.system}: ${peer.meaning}`).join('; ') || 'none ran') +
        '. Only tributary (acks=all after the WAL fsync) and redis-always ack after fsync.',
      `Broker CPU ${cpuSeconds.toFixed(2)} s over the run. ${bottleneckNote(use)}`,
      paced.ackMs.p99 >= 0.7 * e2e.p99
        ? `The tail is on the produce path: producer ack p99 from intended ` +
          `(${paced.ackMs.p99.toFixed(1)} ms) is most of the e2e p99; what would move it is a ` +
          'shorter WAL group-commit cycle (fsync latency plus the event-loop work queued ' +
          'behind it), and the Python producer keeping its schedule on a busy machine.'
        : 'The tail is on the fetch path (producer acks are much faster than delivery): ' +
          'what would move it is waking long-polling Fetches as soon as the append commits.',
    ],
    chart: {
      title: `Workload 2: end-to-end latency at ${rate}/s (ms)`,
      unit: 'ms',
      bars: [
        { label: 'p50', value: e2e.p50, target: 2 },
        { label: 'p99', value: e2e.p99, target: 10 },
        { label: 'p99.9', value: e2e.p999 },
        { label: 'max', value: e2e.max },
        ...peers.map((peer) => ({ label: `${peer.system} p99`, value: peer.result.e2eMs.p99 })),
      ],
    },
  };
}
