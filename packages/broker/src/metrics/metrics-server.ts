/**
 * The broker's HTTP side port (`metrics.listen`, `--metrics-listen HOST:PORT`): GET /metrics in
 * the Prometheus text format (prom-client), GET /healthz (200 while the process answers) and
 * GET /readyz (200 once the broker serves requests, 503 while starting or closing) for
 * supervisors and load balancers. Values are read from the broker's own counters when scraped,
 * so no hot path pays for a metric it does not update itself.
 *
 * Served: per-API requests, latency and failures (request-metrics.ts), consumer lag per group
 * and partition in records and seconds (lag-metrics.ts), open connections, produced and fetched
 * bytes per topic, the WAL's group commits and failures, object uploads, cluster-mode zone
 * traffic and the object collector's deletions, damaged stored data, the batch index's memory,
 * record validation, the schema registry, and the process's default metrics (GC pauses, event
 * loop delay, heap). docs/operations.md lists them; docs/grafana/ has a dashboard.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { BrokerRuntime } from '../broker-runtime.ts';
import type { Endpoint } from '../endpoint.ts';
import { registerLagMetrics } from './lag-metrics.ts';
import { type QuotaKey, quotaKeys } from '../security/client-quotas.ts';

/** What the health endpoints and the connection gauge ask the broker. */
export interface BrokerProbe {
  /** Undefined when the broker serves requests; else why not (starting, closing). */
  notReady(): string | undefined;
  openConnections(): number;
}

export interface MetricsServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

function registryFor(runtime: BrokerRuntime, probe: BrokerProbe): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node_id: String(runtime.nodeId) });
  collectDefaultMetrics({ register: registry, prefix: 'tributary_process_' });
  const traffic = runtime.zoneTraffic;
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  };
  counter(
    'tributary_cross_zone_produce_bytes_total',
    'Produce record bytes received from clients in another zone (zone routing keeps this 0).',
    () => traffic.dataBytesIn,
  );
  counter(
    'tributary_cross_zone_fetch_bytes_total',
    'Fetch record bytes sent to clients in another zone.',
    () => traffic.dataBytesOut,
  );
  counter(
    'tributary_zone_forwarded_batches_total',
    'Batches stored here for a leader in another zone and handed to it by location.',
    () => traffic.forwardedBatches,
  );
  counter(
    'tributary_zone_forward_bytes_total',
    'Bytes of those hand-offs (headers and locations only, no records).',
    () => traffic.forwardBytes,
  );
  // Cluster mode's object collector; it runs on one broker at a time, the others report 0.
  const collection = () => runtime.storage.cluster?.objectCollection;
  counter(
    'tributary_cluster_objects_deleted_total',
    'WAL objects the object collector deleted from the bucket on this broker.',
    () => collection()?.objectsDeleted ?? 0,
  );
  counter(
    'tributary_cluster_object_bytes_deleted_total',
    'Bytes of the WAL objects the object collector deleted from the bucket on this broker.',
    () => collection()?.bytesDeleted ?? 0,
  );
  counter(
    'tributary_cluster_orphan_objects_total',
    'Objects found in the bucket with no index row (uncommitted uploads), adopted for deletion.',
    () => collection()?.orphansAdopted ?? 0,
  );
  const validation = runtime.recordValidation;
  registry.registerMetric(
    new Counter({
      name: 'tributary_produce_invalid_records_total',
      help: "Produced records that failed their topic's validation, by the policy that handled them.",
      labelNames: ['policy'],
      collect() {
        this.reset();
        this.inc({ policy: 'reject' }, validation.rejected);
        this.inc({ policy: 'dlq' }, validation.deadLettered);
        this.inc({ policy: 'warn' }, validation.warned);
      },
    }),
  );
  // Damaged stored data (embedded mode, docs/adr/0013): found at upload or on a read.
  counter(
    'tributary_storage_damaged_objects_total',
    'Objects or WAL segments found damaged (a checksum or index fails) since the broker started.',
    () => runtime.storage.stats().damagedObjects ?? 0,
  );
  counter(
    'tributary_storage_corrupt_batch_reads_total',
    'Reads refused because a stored batch failed its checksum (answered KAFKA_STORAGE_ERROR).',
    () => runtime.storage.stats().corruptBatchReads ?? 0,
  );
  // The embedded WAL (docs/adr/0014): torn tails cut at open, a full disk, a failed log.
  const wal = () => runtime.storage.stats().wal;
  counter(
    'tributary_wal_torn_tails_cut_total',
    'Torn WAL tails (unacknowledged writes cut by a crash) recovery cut off at this start.',
    () => wal()?.tornTailsCut ?? 0,
  );
  counter(
    'tributary_wal_torn_tail_bytes_cut_total',
    'Bytes of those torn tails.',
    () => wal()?.tornTailBytesCut ?? 0,
  );
  counter(
    'tributary_wal_disk_full_rejected_appends_total',
    'Appends answered KAFKA_STORAGE_ERROR because the disk was full (rolled back, not stored).',
    () => wal()?.diskFullRejectedAppends ?? 0,
  );
  const diskFull = new Gauge({
    name: 'tributary_wal_disk_full',
    help: '1 while WAL writes fail for lack of space (it clears on the first write that works).',
    registers: [],
    collect() {
      this.set(wal()?.diskFull === true ? 1 : 0);
    },
  });
  registry.registerMetric(diskFull);
  // The bounded batch index (docs/adr/0017): what stays in memory and what was spilled.
  const index = () => runtime.storage.stats().index;
  const gauge = (name: string, help: string, read: () => number): void => {
    registry.registerMetric(
      new Gauge({
        name,
        help,
        registers: [],
        collect() {
          this.set(read());
        },
      }),
    );
  };
  gauge(
    'tributary_log_index_resident_bytes',
    'Bytes of sealed batch-index chunks in memory (bounded by log.index.memory.max.bytes).',
    () => index()?.residentBytes ?? 0,
  );
  gauge(
    'tributary_log_index_spilled_chunks',
    'Sealed batch-index chunks written to the spill file, read back on demand.',
    () => index()?.spilledChunks ?? 0,
  );
  counter(
    'tributary_log_index_spill_loads_total',
    'Spilled batch-index chunks read back from the spill file since the broker started.',
    () => index()?.loads ?? 0,
  );
  registerSchemaRegistryMetrics(registry, runtime);
  runtime.requestMetrics?.register(registry);
  registerLagMetrics(registry, runtime);
  gauge('tributary_connections', 'Client connections open now.', () => probe.openConnections());
  registerTopicTraffic(registry, runtime);
  registerQuotaMetrics(registry, runtime);
  runtime.storageMetrics?.register(registry);
  // Cluster health (0 when embedded): who is alive and what this broker leads.
  gauge(
    'tributary_cluster_live_brokers',
    'Brokers alive at the last lease pass (cluster mode).',
    () => runtime.storage.cluster?.liveBrokers().length ?? 0,
  );
  gauge(
    'tributary_cluster_partitions_led',
    'Partitions whose lease this broker holds (cluster mode).',
    () => partitionsLed(runtime),
  );
  return registry;
}

function partitionsLed(runtime: BrokerRuntime): number {
  const cluster = runtime.storage.cluster;
  if (cluster === undefined) return 0;
  let led = 0;
  for (const topic of runtime.storage.listTopics()) {
    for (let index = 0; index < topic.partitionCount; index++) {
      if (cluster.leads(topic.topicId, index)) led += 1;
    }
  }
  return led;
}

/** Requests throttled by client quotas and the throttle time given, by quota key. */
function registerQuotaMetrics(registry: Registry, runtime: BrokerRuntime): void {
  const stats = runtime.clientQuotas?.stats;
  if (stats === undefined) return;
  const counter = (name: string, help: string, read: (key: QuotaKey) => number) => {
    registry.registerMetric(
      new Counter({
        name,
        help,
        labelNames: ['quota'],
        registers: [],
        collect() {
          this.reset();
          for (const quota of quotaKeys) this.inc({ quota }, read(quota));
        },
      }),
    );
  };
  counter(
    'tributary_quota_throttled_requests_total',
    'Requests that took their client over a quota (answered with throttle_time_ms).',
    (key) => stats.throttledRequests[key],
  );
  counter(
    'tributary_quota_throttle_seconds_total',
    'Throttle time given to clients over their quota.',
    (key) => stats.throttleMs[key] / 1000,
  );
}

/** Produced and fetched record bytes per existing topic. */
function registerTopicTraffic(registry: Registry, runtime: BrokerRuntime): void {
  const traffic = runtime.topicTraffic;
  if (traffic === undefined) return;
  for (const [direction, counts, help] of [
    ['in', traffic.bytesIn, 'Record bytes received in Produce requests, by topic.'],
    ['out', traffic.bytesOut, 'Record bytes sent in Fetch responses, by topic.'],
  ] as const) {
    registry.registerMetric(
      new Counter({
        name: `tributary_topic_bytes_${direction}_total`,
        help,
        labelNames: ['topic'],
        registers: [],
        collect() {
          this.reset();
          for (const [topic, bytes] of counts) {
            if (runtime.storage.getTopic(topic) !== undefined) this.inc({ topic }, bytes);
          }
        },
      }),
    );
  }
}

/** The schema registry's counts (schema.registry.listeners); all 0 while it serves none. */
function registerSchemaRegistryMetrics(registry: Registry, runtime: BrokerRuntime): void {
  const metrics = [
    ['requests', 'REST requests the schema registry received.', 'httpRequests'],
    ['request_errors', 'REST requests answered with an error body.', 'httpErrors'],
    ['versions_registered', 'New subject versions registered.', 'versionsRegistered'],
    ['incompatible_refused', 'Registrations refused as incompatible (409).', 'incompatibleRefused'],
    ['records_decoded', 'Record values decoded against their schema.', 'recordsDecoded'],
    ['records_undecodable', 'Record values that did not decode.', 'recordsUndecodable'],
  ] as const;
  for (const [name, help, field] of metrics) {
    const counter = new Counter({
      name: `tributary_schema_registry_${name}_total`,
      help,
      registers: [],
      collect() {
        this.reset();
        this.inc(runtime.schemaRegistry?.stats[field] ?? 0);
      },
    });
    registry.registerMetric(counter);
  }
}

export async function startMetricsServer(
  runtime: BrokerRuntime,
  listen: Endpoint,
  probe: BrokerProbe,
): Promise<MetricsServer> {
  const registry = registryFor(runtime, probe);
  const server: Server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (request.method !== 'GET') {
      response.writeHead(405, { 'content-type': 'text/plain' }).end('GET only\n');
      return;
    }
    if (path === '/healthz') {
      // Answering at all shows the event loop runs; a failed WAL exits the process (ADR 0014).
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      const reason = probe.notReady();
      response
        .writeHead(reason === undefined ? 200 : 503, { 'content-type': 'text/plain' })
        .end(reason === undefined ? 'ready\n' : `not ready: ${reason}\n`);
      return;
    }
    if (path !== '/metrics') {
      response
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('not found: try /metrics, /healthz or /readyz\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : listen.port;
  return {
    host: listen.host,
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
