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
 * ones and reports the median round (native-latency.ts), against Apache Kafka the same way.
 */
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
  measureNativeLatencyRounds,
  latencyValueBytes as valueBytes,
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

export async function runLatencyBench(context: BenchContext): Promise<WorkloadReport> {
  const [rate] = latencyRates;
  const seconds = latencySecondsOf(rate, context.quick);
  const diskBefore = probeSmallSyncLatency(context.dataParentDir, diskProbeMs);
  const runs = await withBroker(context, {}, async (broker) => {
    const done: NativeLatency[] = [];
    if (await nativeLoadAvailable(context.log)) {
      for (const each of latencyRates) {
        const eachSeconds = latencySecondsOf(each, context.quick);
        context.log(`latency: ${each}/s for ${eachSeconds} s, C clients`);
        done.push(await measureNativeLatencyRounds(broker, each, eachSeconds));
      }
    }
    if (!context.quick || done.length === 0) {
      context.log(`latency: ${rate}/s for ${seconds} s, Python clients`);
      done.push(await measurePython(broker, rate, seconds));
    }
    return done;
  });
  const peers = await runPeerLatencies(context, rate, seconds);
  const diskAfter = probeSmallSyncLatency(context.dataParentDir, diskProbeMs);
  const disk = [diskBefore, diskAfter] as const;
  return latencyReport({ rate, seconds, expect: rate * seconds, runs, peers, disk });
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

function latencyReport(m: LatencyMeasurements): WorkloadReport {
  const { rate, seconds, expect, runs, peers, disk } = m;
  return {
    name: 'latency',
    title:
      `end-to-end latency at ${latencyRates.join(' and ')} records/s ` +
      `(${seconds} s at ${rate}/s; 1 KiB, acks=all)`,
    figures: [
      ...runs.flatMap((run) => latencyFigures('tributary', run)),
      ...peers.flatMap((peer) => peerLatencyFigures(peer, expect)),
    ],
    notes: [
      'Latency runs from the intended send time (CLOCK_MONOTONIC in the value) to the ' +
        'consumer receiving the record: no coordinated omission.',
      diskNote(disk),
      ...runs.map(tributaryNote),
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
        ...peers.map((peer) => ({ label: `${peer.system} p99`, value: peer.result.e2eMs.p99 })),
      ],
    },
  };
}
