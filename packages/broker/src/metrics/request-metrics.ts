/**
 * Per-API request metrics (issue 17): how many requests each Kafka API received, how long the
 * broker took to answer them (from the frame being read to the response being ready, so the
 * time a produce waits for its WAL sync counts and socket writes do not), and how many failed
 * (malformed, or the handler threw: the connection is then closed). Recorded by the router for
 * every request; registered on /metrics by the metrics server.
 *
 * Requests slower than `slowRequestMs` are logged with a request id (`peer#correlationId`), the
 * API and the time, so a slow request in a dashboard can be found in the log; at most
 * `slowRequestLogMaxPerSecond` one by one, the rest summed up (slow-request-log.ts).
 */
import { apiName } from '@tributary/protocol';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../logger.ts';
import { SlowRequestLog } from './slow-request-log.ts';

/** Latency buckets in seconds: 0.25 ms to 10 s (long polls land in the last ones). */
const latencyBuckets = [
  0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** A request slower than this is logged (Fetch long polls and JoinGroup excepted). */
export const slowRequestMs = 1000;
/** APIs that wait by design (long polls, rebalances): never "slow". */
const waitingApis = new Set(['Fetch', 'JoinGroup', 'SyncGroup', 'ConsumerGroupHeartbeat']);

interface ApiChildren {
  requests: { inc(): void };
  latency: { observe(value: number): void };
}

export class RequestMetrics {
  readonly #requests = new Counter({
    name: 'tributary_requests_total',
    help: 'Kafka requests received, by API.',
    labelNames: ['api'],
    registers: [],
  });
  readonly #errors = new Counter({
    name: 'tributary_request_errors_total',
    help: 'Requests that could not be answered (malformed, or the handler failed), by API.',
    labelNames: ['api'],
    registers: [],
  });
  readonly #latency = new Histogram({
    name: 'tributary_request_duration_seconds',
    help: 'Time from a request being read to its response being ready, by API.',
    labelNames: ['api'],
    buckets: latencyBuckets,
    registers: [],
  });
  readonly #slowLog: SlowRequestLog | undefined;
  /** Label children by API name, made at first use: observing through them hashes no labels. */
  readonly #children = new Map<string, ApiChildren>();

  constructor(log?: Logger) {
    this.#slowLog = log === undefined ? undefined : new SlowRequestLog(log);
  }

  register(registry: Registry): void {
    registry.registerMetric(this.#requests);
    registry.registerMetric(this.#errors);
    registry.registerMetric(this.#latency);
  }

  /**
   * One request took `ms`; `failed` when it was not answered. `apiKey` is undefined for keys
   * this broker does not serve (one "unknown" label, so garbage cannot grow the label set).
   */
  observe(apiKey: number | undefined, ms: number, failed: boolean, requestId: () => string): void {
    const api = apiKey === undefined ? 'unknown' : apiName(apiKey);
    const children = this.#childrenOf(api);
    children.requests.inc();
    children.latency.observe(ms / 1000);
    if (failed) this.#errors.inc({ api });
    if (ms >= slowRequestMs && !waitingApis.has(api)) this.#slowLog?.note(api, ms, requestId);
  }

  #childrenOf(api: string): ApiChildren {
    let children = this.#children.get(api);
    if (children === undefined) {
      children = { requests: this.#requests.labels(api), latency: this.#latency.labels(api) };
      this.#children.set(api, children);
    }
    return children;
  }
}
