/**
 * Workload index-memory (issue 13 point 1, issue 14 point 3): does the broker's memory stay flat
 * as batches pile up? The C load generator writes 50 M records of 100 bytes (2 M with --quick)
 * with linger.ms=0 from 4 producers over 64 partitions (small batches: many index entries) into
 * the embedded broker, whose batch index budget (`log.index.memory.max.bytes`) is set to
 * 16 MiB; the broker's RSS is sampled from /proc/<pid>/status every second. Reported: RSS at
 * 10%, 50% and 100% of the run, the slope over the last 90% (MB per 10 M records), the live
 * heap at the same points (a full collection forced every 10 s through the broker's inspector,
 * then its /metrics heap in use), the batches
 * written (counted afterwards by `tributary doctor`'s check of the stopped data directory) and
 * the index's own heap bytes per batch, measured in this process on 1 M batches. Then the
 * broker is restarted on the data: time to ready, peak RSS (VmHWM) and live heap after
 * recovery, and again after an idempotent producer wrote to every partition (which rebuilds
 * each partition's producer state by walking its whole index): restart memory must not grow
 * with the history either. (The main load is not idempotent: idempotence caps a producer at 5
 * requests in flight, so batches grow large and few, and the index is what is measured.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  IndexedPartitionLog,
  TailCache,
  doctorDataDir,
  type TopicId,
  type WalEntryInfo,
} from '@tributary/storage';
import { scrapeMetric } from '@tributary/testing';
import {
  cpuUseWindow,
  peakResidentMegabytes,
  residentMegabytes,
  sleep,
  uniqueTopic,
  type BenchContext,
} from './bench-context.ts';
import type { BenchFigure, WorkloadReport } from './bench-report.ts';
import { type BrokerChild, startBrokerChild } from './broker-child.ts';
import { createTopic } from './kafka-drivers.ts';
import { freePort } from './peer-servers.ts';
import { nativeClient, nativeLoadAvailable, startNativeProduce } from './native-load.ts';

const recordBytes = 100;
const partitions = 64;
const producers = 4;
const indexBudgetBytes = 16 * 1024 * 1024;
const sampleIntervalMs = 1000;
/** One sample in this many also forces a full collection and reads the live heap. */
const liveEvery = 10;

interface Sample {
  seconds: number;
  rssMb: number;
  /** V8 heap in use (live objects and garbage not yet collected), from the broker's /metrics. */
  heapMb: number | undefined;
}

/** RSS at `fraction` of the run (the sample nearest that time). */
function rssAt(samples: readonly Sample[], fraction: number): number {
  const last = samples.at(-1);
  if (last === undefined) return 0;
  const wanted = last.seconds * fraction;
  let best = samples[0] as Sample;
  for (const sample of samples) {
    if (Math.abs(sample.seconds - wanted) < Math.abs(best.seconds - wanted)) best = sample;
  }
  return best.rssMb;
}

/** Live heap (after a forced full collection) nearest `fraction` of the run. */
function liveHeapAt(samples: readonly Sample[], fraction: number): number {
  const live = samples.filter((s) => s.heapMb !== undefined);
  return rssAt(
    live.map((s) => ({ seconds: s.seconds, rssMb: s.heapMb ?? 0, heapMb: undefined })),
    fraction,
  );
}

/**
 * Forces a full collection in the broker through its inspector (opened with --inspect on
 * `port`, HeapProfiler.collectGarbage), so the heap in use read afterwards is what is live.
 */
async function collectGarbage(inspectorPort: number): Promise<void> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (url === undefined) throw new Error('the broker has no inspector target');
  const socket = new WebSocket(url);
  await new Promise<void>((resolvePromise, reject) => {
    socket.addEventListener('open', () => {
      socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
    });
    socket.addEventListener('message', () => resolvePromise());
    socket.addEventListener('error', () => reject(new Error('inspector connection failed')));
  });
  socket.close();
}

async function heapInUseMb(metricsPort: number): Promise<number | undefined> {
  try {
    const url = `http://127.0.0.1:${metricsPort}/metrics`;
    const bytes = await scrapeMetric(url, 'tributary_process_nodejs_heap_size_used_bytes');
    return bytes === undefined ? undefined : bytes / 1e6;
  } catch {
    return undefined;
  }
}

/** Least-squares slope of RSS (MB) over time (s), from `fromFraction` of the run on. */
export function rssSlope(samples: readonly Sample[], fromFraction: number): number {
  const last = samples.at(-1);
  if (last === undefined) return 0;
  const tail = samples.filter((sample) => sample.seconds >= last.seconds * fromFraction);
  if (tail.length < 2) return 0;
  const meanT = tail.reduce((sum, s) => sum + s.seconds, 0) / tail.length;
  const meanR = tail.reduce((sum, s) => sum + s.rssMb, 0) / tail.length;
  let num = 0;
  let den = 0;
  for (const s of tail) {
    num += (s.seconds - meanT) * (s.rssMb - meanR);
    den += (s.seconds - meanT) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Heap bytes per batch of one partition's index holding `count` batches (this process). */
export function indexBytesPerBatch(count: number): number {
  // A full collection before and after, so the difference is what the index holds.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  const before = process.memoryUsage();
  const context = {
    wal: { append: () => Promise.reject(new Error('not for appends')) },
    tailCache: new TailCache(0),
    readBatches: () => Promise.resolve([]),
    persistLogStart: () => Promise.resolve(),
    checkOpen: () => undefined,
  };
  const log = new IndexedPartitionLog('index-memory' as TopicId, 0, 0n, context);
  for (let i = 0; i < count; i++) log.restore(sampleEntry(i));
  gc();
  gc();
  const after = process.memoryUsage();
  const bytes = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
  return log.logEndOffset > 0n ? bytes / count : 0;
}

function sampleEntry(i: number): WalEntryInfo {
  return {
    topicId: 'index-memory' as TopicId,
    partition: 0,
    baseOffset: BigInt(i * 10),
    lastOffsetDelta: 9,
    maxTimestamp: 1_765_000_000_000n + BigInt(i),
    recordCount: 10,
    producerId: BigInt(1000 + (i % 7)),
    producerEpoch: 0,
    baseSequence: i * 10,
    txn: { transactional: false, control: false, controlType: -1 },
    entryVersion: 2,
    segmentId: 1 + Math.floor(i / 100_000),
    position: 100 + (i % 100_000) * 300,
    sizeBytes: 250,
  };
}

interface Ports {
  metrics: number;
  inspector: number;
}

/** The restarted broker: after recovery, and after the producer state of every partition. */
interface RestartFigures {
  readySeconds: number;
  recoveredPeakRssMb: number;
  recoveredLiveHeapMb: number;
  producedPeakRssMb: number;
  producedLiveHeapMb: number;
}

function brokerOptions(ports: Ports) {
  return {
    overrides: {
      'log.index.memory.max.bytes': String(indexBudgetBytes),
      'metrics.listen': `127.0.0.1:${ports.metrics}`,
    },
    nodeFlags: [`--inspect=127.0.0.1:${ports.inspector}`],
    startTimeoutMs: 600_000,
  };
}

/** Restarts the broker on `dataDir` and measures it (see the file comment). */
async function measureRestart(
  context: BenchContext,
  dataDir: string,
  ports: Ports,
  topic: string,
): Promise<RestartFigures> {
  const broker = await startBrokerChild(dataDir, brokerOptions(ports));
  try {
    context.log(`restarted on the data: ready in ${(broker.readyMs / 1000).toFixed(1)} s`);
    const recoveredPeakRssMb = peakResidentMegabytes(broker.pid);
    await collectGarbage(ports.inspector);
    const recoveredLiveHeapMb = (await heapInUseMb(ports.metrics)) ?? 0;
    const run = await startNativeProduce({
      bootstrap: broker.bootstrap,
      topic,
      records: partitions * 50,
      size: recordBytes,
      lingerMs: 0,
      idempotence: true,
      timeoutMs: 600_000,
    });
    const result = await run.result;
    if (result.errors > 0) context.log(`restart produce errors: ${result.firstError}`);
    const producedPeakRssMb = peakResidentMegabytes(broker.pid);
    await collectGarbage(ports.inspector);
    const producedLiveHeapMb = (await heapInUseMb(ports.metrics)) ?? 0;
    return {
      readySeconds: broker.readyMs / 1000,
      recoveredPeakRssMb,
      recoveredLiveHeapMb,
      producedPeakRssMb,
      producedLiveHeapMb,
    };
  } finally {
    await broker.stop(120_000);
  }
}

/** RSS, and every `liveEvery`-th sample also the live heap after a forced collection. */
async function takeSample(
  broker: BrokerChild,
  ports: Ports,
  startedAt: number,
  live: boolean,
): Promise<Sample> {
  let heapMb: number | undefined;
  if (live) {
    await collectGarbage(ports.inspector);
    heapMb = await heapInUseMb(ports.metrics);
  }
  const seconds = (performance.now() - startedAt) / 1000;
  return { seconds, rssMb: residentMegabytes(broker.pid), heapMb };
}

function sampleMemory(
  broker: BrokerChild,
  ports: Ports,
  samples: Sample[],
  startedAt: number,
): () => void {
  let count = 0;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    count += 1;
    takeSample(broker, ports, startedAt, count % liveEvery === 0)
      .then(
        (taken) => samples.push(taken),
        () => undefined, // The broker is gone; the run reports that.
      )
      .finally(() => {
        busy = false;
      });
  }, sampleIntervalMs);
  return () => clearInterval(timer);
}

export async function runIndexMemoryBench(context: BenchContext): Promise<WorkloadReport> {
  const name = 'index-memory';
  const title = 'Broker memory under 50 M small records (bounded batch index)';
  const records = context.quick ? 2_000_000 : 50_000_000;
  if (!(await nativeLoadAvailable(context.log))) {
    throw new Error('index-memory needs the C load generator (apt-get install librdkafka-dev)');
  }
  const dataDir = mkdtempSync(join(context.dataParentDir, 'tributary-bench-'));
  const samples: Sample[] = [];
  let broker: BrokerChild | undefined;
  let elapsedSeconds = 0;
  let acked = 0;
  let brokerCpuSeconds = 0;
  let restart: RestartFigures | undefined;
  try {
    const ports = { metrics: await freePort(), inspector: await freePort() };
    broker = await startBrokerChild(dataDir, brokerOptions(ports));
    context.log(`broker pid ${broker.pid} on ${broker.bootstrap}`);
    const topic = uniqueTopic('index-memory');
    await createTopic(broker.bootstrap, topic, partitions);
    const use = cpuUseWindow(broker.pid);
    const startedAt = performance.now();
    samples.push(await takeSample(broker, ports, startedAt, true));
    const stopSampling = sampleMemory(broker, ports, samples, startedAt);
    const run = await startNativeProduce({
      bootstrap: broker.bootstrap,
      topic,
      records,
      size: recordBytes,
      lingerMs: 0,
      producers,
      timeoutMs: 3_600_000,
    });
    const result = await run.result;
    stopSampling();
    samples.push(await takeSample(broker, ports, startedAt, true));
    brokerCpuSeconds = use().brokerCpuSeconds;
    elapsedSeconds = result.elapsedSeconds;
    acked = result.acked;
    if (result.errors > 0) context.log(`produce errors: ${result.errors} (${result.firstError})`);
    await sleep(100);
    await broker.stop(120_000);
    broker = undefined;
    restart = await measureRestart(context, dataDir, ports, topic);
  } finally {
    await broker?.stop();
  }
  let batches = 0;
  try {
    batches = (await doctorDataDir({ dataDir, skipDamaged: false })).batchesChecked;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const perBatch = indexBytesPerBatch(1_000_000);
  return report({
    name,
    title,
    records,
    acked,
    elapsedSeconds,
    batches,
    perBatch,
    samples,
    brokerCpuSeconds,
    restart,
  });
}

function report(run: {
  name: string;
  title: string;
  records: number;
  acked: number;
  elapsedSeconds: number;
  batches: number;
  perBatch: number;
  samples: readonly Sample[];
  brokerCpuSeconds: number;
  restart: RestartFigures | undefined;
}): WorkloadReport {
  const { samples } = run;
  const recordsPerSecond = run.elapsedSeconds > 0 ? run.acked / run.elapsedSeconds : 0;
  const slopePer10M =
    recordsPerSecond > 0 ? (rssSlope(samples, 0.1) * 10_000_000) / recordsPerSecond : 0;
  const live = samples.filter((s) => s.heapMb !== undefined);
  const liveHeaps = live.map((s) => ({ seconds: s.seconds, rssMb: s.heapMb ?? 0, heapMb: 0 }));
  const liveSlopePer10M =
    recordsPerSecond > 0 ? (rssSlope(liveHeaps, 0.1) * 10_000_000) / recordsPerSecond : 0;
  const base = { system: 'Tributary', client: `${nativeClient}, ${producers} producers` };
  const rss = (fraction: number): BenchFigure => ({
    ...base,
    metric: `broker RSS at ${fraction * 100}% of the run`,
    value: rssAt(samples, fraction),
    unit: 'MB',
  });
  const heap = (fraction: number): BenchFigure => ({
    ...base,
    metric: `broker live heap (after a full GC) at ${fraction * 100}%`,
    value: liveHeapAt(samples, fraction),
    unit: 'MB',
  });
  const figures: BenchFigure[] = [
    rss(0.1),
    rss(0.5),
    rss(1),
    heap(0.1),
    heap(0.5),
    heap(1),
    { ...base, metric: 'RSS slope, last 90%', value: slopePer10M, unit: 'MB per 10 M records' },
    {
      ...base,
      metric: 'live heap slope, last 90%',
      value: liveSlopePer10M,
      unit: 'MB per 10 M records',
    },
    { ...base, metric: 'produce rate', value: recordsPerSecond, unit: 'rec/s' },
    { ...base, metric: 'batches written', value: run.batches, unit: 'batches' },
    { ...base, metric: 'batch index heap', value: run.perBatch, unit: 'bytes per batch' },
    ...restartFigures(base, run.restart),
  ];
  const peak = Math.max(...samples.map((sample) => sample.rssMb));
  return {
    name: run.name,
    title: run.title,
    figures,
    notes: [
      `${run.acked} of ${run.records} records of ${recordBytes} bytes acked (acks=all) in ` +
        `${run.elapsedSeconds.toFixed(1)} s, ${partitions} partitions, linger.ms=0; ` +
        `log.index.memory.max.bytes=${indexBudgetBytes}; broker CPU ` +
        `${run.brokerCpuSeconds.toFixed(1)} s; peak sampled RSS ${peak.toFixed(0)} MB.`,
      `Batches per record: ${(run.batches / Math.max(1, run.acked)).toFixed(4)}. An index of ` +
        `one object and several bigints per batch (before ADR 0017: 274 bytes a batch, ` +
        `measured the same way) would have grown by ` +
        `${((run.batches * 274) / 1e6).toFixed(0)} MB over this run; this one holds ` +
        `${run.perBatch.toFixed(0)} bytes a batch, at most the budget resident.`,
      `Every ${liveEvery} s the broker is made to collect garbage (HeapProfiler.collectGarbage ` +
        `through --inspect) and its heap in use read from /metrics: the live heap. RSS also ` +
        `holds garbage between major collections and the pages V8 keeps; docs/adr/0017 has ` +
        `the live heap of the index before it.`,
      `Samples (s: RSS/live heap MB): ${live
        .filter((_, i) => i % Math.max(1, Math.floor(live.length / 12)) === 0)
        .map((s) => `${s.seconds.toFixed(0)}: ${s.rssMb.toFixed(0)}/${s.heapMb?.toFixed(0) ?? '?'}`)
        .join(', ')}.`,
    ],
    chart: {
      title: 'Broker RSS over the run (MB)',
      unit: 'MB',
      bars: [0.1, 0.25, 0.5, 0.75, 1].map((fraction) => ({
        label: `${fraction * 100}% of ${run.records / 1e6} M records`,
        value: rssAt(samples, fraction),
      })),
    },
  };
}

function restartFigures(
  base: { system: string; client: string },
  restart: RestartFigures | undefined,
): BenchFigure[] {
  if (restart === undefined) return [];
  const figure = (metric: string, value: number, unit: string): BenchFigure => ({
    ...base,
    metric: `restart: ${metric}`,
    value,
    unit,
  });
  return [
    figure('time to ready', restart.readySeconds, 's'),
    figure('peak RSS through recovery', restart.recoveredPeakRssMb, 'MB'),
    figure('live heap after recovery', restart.recoveredLiveHeapMb, 'MB'),
    figure('peak RSS after producer state of every partition', restart.producedPeakRssMb, 'MB'),
    figure('live heap after producer state of every partition', restart.producedLiveHeapMb, 'MB'),
  ];
}
