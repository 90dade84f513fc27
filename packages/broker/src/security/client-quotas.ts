/**
 * Client quotas (issue 16): Kafka's `producer_byte_rate` and `consumer_byte_rate` per user
 * and client id, set and read with AlterClientQuotas/DescribeClientQuotas (kafka-configs.sh
 * --entity-type users/clients) and enforced as Kafka does since KIP-219: a produce or fetch
 * that takes its entity over the rate is answered at once with `throttle_time_ms`, and the
 * connection's next requests wait out that time (the client backs off too).
 *
 * Entities are (user, client-id) pairs where either may be a name, the default (null) or
 * absent; for each quota key the most specific entity that sets it applies, in Kafka's order:
 * user+client, user+default client, user, default user+client, default user+default client,
 * default user, client, default client. The user is the principal's name (`User:alice` ->
 * `alice`; ANONYMOUS without authentication).
 *
 * Rates are measured per (user, client id) over `quotaWindowSamples` windows of
 * `quotaWindowMs` (Kafka's quota.window.num and quota.window.size.seconds defaults: 11 x 1 s).
 * A throttle lasts (rate - quota) / quota x the measured window, at most the whole window.
 * `request_percentage` is the share of one core (percent) a client's requests may keep the
 * event loop busy: decoding, the handler's synchronous part and encoding, measured by the router
 * (waits for the disk or a long poll are not counted). `connection_creation_rate` and ip
 * entities are refused.
 *
 * Stored in the metadata store with the dynamic broker configs (scope `client-quota:<entity>`,
 * the same table in SQLite and PostgreSQL); cluster-mode brokers re-read them every
 * `quotaRefreshMs`.
 */
import type { BrokerStorage } from '@tributary/storage';

export const quotaKeys = [
  'producer_byte_rate',
  'consumer_byte_rate',
  'request_percentage',
] as const;
export type QuotaKey = (typeof quotaKeys)[number];
export const quotaEntityTypes = ['user', 'client-id'] as const;
export type QuotaEntityType = (typeof quotaEntityTypes)[number];

/** One component: a name, or null for the default entity of that type. */
export type QuotaEntity = Partial<Record<QuotaEntityType, string | null>>;

/** Samples in the rate window (quota.window.num). */
export const quotaWindowSamples = 11;
/** Length of one sample (quota.window.size.seconds, in ms). */
export const quotaWindowMs = 1000;
/** How often cluster-mode brokers re-read the stored quotas. */
export const quotaRefreshMs = 10_000;
/** (user, client id) pairs whose rates are tracked; the least recently used go first. */
export const trackedClientsMax = 10_000;

const scopePrefix = 'client-quota:';

interface Sensor {
  /** Bytes per sample, oldest first; `sampleStart` is the start of the last one. */
  samples: number[];
  sampleStart: number;
  firstSeen: number;
}

export class ClientQuotas {
  readonly #storage: BrokerStorage;
  /** Stored entities by their scope key. */
  #entities = new Map<string, { entity: QuotaEntity; values: Partial<Record<QuotaKey, number>> }>();
  readonly #sensors = new Map<string, Sensor>();
  /** Resolved limits by key, principal and client id; emptied whenever the entities change. */
  readonly #limits = new Map<string, number | undefined>();
  #timer: NodeJS.Timeout | undefined;
  /** Throttled requests and their throttle time by quota key, since the start (/metrics). */
  readonly stats = {
    throttledRequests: { producer_byte_rate: 0, consumer_byte_rate: 0, request_percentage: 0 },
    throttleMs: { producer_byte_rate: 0, consumer_byte_rate: 0, request_percentage: 0 },
  };

  constructor(storage: BrokerStorage) {
    this.#storage = storage;
  }

  /** Loads the stored quotas; in cluster mode re-reads them every `quotaRefreshMs`. */
  static async start(storage: BrokerStorage, refreshPeriodically: boolean): Promise<ClientQuotas> {
    const quotas = new ClientQuotas(storage);
    await quotas.load();
    if (refreshPeriodically) {
      quotas.#timer = setInterval(() => void quotas.load().catch(() => undefined), quotaRefreshMs);
      quotas.#timer.unref();
    }
    return quotas;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  async load(): Promise<void> {
    const next = new Map<
      string,
      { entity: QuotaEntity; values: Partial<Record<QuotaKey, number>> }
    >();
    for (const { scope, configs } of await this.#storage.listBrokerConfigs()) {
      if (!scope.startsWith(scopePrefix)) continue;
      const entity = JSON.parse(scope.slice(scopePrefix.length)) as QuotaEntity;
      const values: Partial<Record<QuotaKey, number>> = {};
      for (const key of quotaKeys) {
        const value = configs[key];
        if (value !== undefined) values[key] = Number(value);
      }
      next.set(scope, { entity, values });
    }
    this.#entities = next;
    this.#limits.clear();
  }

  /** Every stored entity with its values (DescribeClientQuotas filters them). */
  list(): { entity: QuotaEntity; values: Partial<Record<QuotaKey, number>> }[] {
    return [...this.#entities.values()];
  }

  /** Sets (a number) or removes (undefined) quota keys of one entity, durably. */
  async alter(entity: QuotaEntity, changes: Partial<Record<QuotaKey, number | undefined>>) {
    const scope = scopeOf(entity);
    const current = { ...this.#entities.get(scope)?.values };
    for (const key of quotaKeys) {
      if (!(key in changes)) continue;
      const value = changes[key];
      if (value === undefined) delete current[key];
      else current[key] = value;
    }
    const configs: Record<string, string> = {};
    for (const [key, value] of Object.entries(current)) configs[key] = String(value);
    await this.#storage.setBrokerConfigs(scope, configs);
    if (Object.keys(current).length === 0) this.#entities.delete(scope);
    else this.#entities.set(scope, { entity, values: current });
    this.#limits.clear();
  }

  /** The quota that applies to (principal, client id) for `key`, or undefined. */
  limitOf(principal: string, clientId: string, key: QuotaKey): number | undefined {
    if (this.#entities.size === 0) return undefined;
    // Every request asks (request_percentage): resolve each (user, client, key) once per change.
    const cacheKey = `${key}\u0000${principal}\u0000${clientId}`;
    if (this.#limits.has(cacheKey)) return this.#limits.get(cacheKey);
    if (this.#limits.size >= trackedClientsMax) this.#limits.clear();
    const limit = this.#resolve(userOf(principal), clientId, key);
    this.#limits.set(cacheKey, limit);
    return limit;
  }

  #resolve(user: string, clientId: string, key: QuotaKey): number | undefined {
    const candidates: QuotaEntity[] = [
      { user, 'client-id': clientId },
      { user, 'client-id': null },
      { user },
      { user: null, 'client-id': clientId },
      { user: null, 'client-id': null },
      { user: null },
      { 'client-id': clientId },
      { 'client-id': null },
    ];
    for (const entity of candidates) {
      const value = this.#entities.get(scopeOf(entity))?.values[key];
      if (value !== undefined) return value;
    }
    return undefined;
  }

  /**
   * Records `bytes` moved for (principal, client id) under `key` at `nowMs`; returns how long
   * the client must be throttled (0 when under its quota or without one).
   */
  record(principal: string, clientId: string, key: QuotaKey, bytes: number, nowMs: number): number {
    const limit = this.limitOf(principal, clientId, key);
    if (limit === undefined) return 0;
    const sensorKey = `${key}\u0000${principal}\u0000${clientId}`;
    let sensor = this.#sensors.get(sensorKey);
    if (sensor === undefined) {
      if (this.#sensors.size >= trackedClientsMax) {
        const oldest = this.#sensors.keys().next().value;
        if (oldest !== undefined) this.#sensors.delete(oldest);
      }
      sensor = { samples: [0], sampleStart: nowMs, firstSeen: nowMs };
    } else {
      this.#sensors.delete(sensorKey); // re-inserted below: most recently used last
    }
    this.#sensors.set(sensorKey, sensor);
    advance(sensor, nowMs);
    sensor.samples[sensor.samples.length - 1] = (sensor.samples.at(-1) ?? 0) + bytes;
    const windowMs = Math.max(
      quotaWindowMs,
      Math.min(nowMs - sensor.firstSeen, quotaWindowSamples * quotaWindowMs),
    );
    const throttle = throttleOf(sensor, limit, windowMs);
    if (throttle > 0) {
      this.stats.throttledRequests[key] += 1;
      this.stats.throttleMs[key] += throttle;
    }
    return throttle;
  }
}

/** Kafka's throttle: (rate - quota) / quota x the measured window, at most the whole window. */
function throttleOf(sensor: Sensor, limit: number, windowMs: number): number {
  const total = sensor.samples.reduce((sum, value) => sum + value, 0);
  const rate = (total * 1000) / windowMs;
  if (rate <= limit) return 0;
  return Math.min(
    Math.round(((rate - limit) / limit) * windowMs),
    quotaWindowSamples * quotaWindowMs,
  );
}

/** Moves the sensor's window forward to the sample holding `nowMs`. */
function advance(sensor: Sensor, nowMs: number): void {
  while (nowMs - sensor.sampleStart >= quotaWindowMs) {
    sensor.samples.push(0);
    sensor.sampleStart += quotaWindowMs;
    if (sensor.samples.length > quotaWindowSamples) sensor.samples.shift();
    // A long silence: start afresh instead of pushing one empty sample per second.
    if (nowMs - sensor.sampleStart >= quotaWindowSamples * quotaWindowMs) {
      sensor.samples = [0];
      sensor.sampleStart = nowMs;
    }
  }
}

export function userOf(principal: string): string {
  return principal.startsWith('User:') ? principal.slice('User:'.length) : principal;
}

/** The stored key of an entity: its components in a fixed order. */
export function scopeOf(entity: QuotaEntity): string {
  const parts = quotaEntityTypes
    .filter((type) => type in entity)
    .map((type) => [type, entity[type] ?? null]);
  return scopePrefix + JSON.stringify(parts.length === 0 ? {} : Object.fromEntries(parts));
}
