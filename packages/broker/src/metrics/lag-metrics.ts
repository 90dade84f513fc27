/**
 * Consumer lag per group and partition (issue 17), read at scrape time from the group
 * coordinator's committed offsets and the partition logs:
 * - in records: the high watermark minus the committed offset;
 * - in seconds: how old the oldest unconsumed record is, now minus the largest timestamp of the
 *   batch holding the committed offset (to a batch's precision, from the batch index: no read),
 *   0 when the group is caught up.
 * Groups this broker does not coordinate are not reported here (cluster mode: their coordinator
 * reports them). At most `lagSeriesMax` partitions per scrape; the rest are counted as dropped.
 */
import { Gauge, type Registry } from 'prom-client';
import type { BrokerRuntime } from '../broker-runtime.ts';

/** Group-partition series reported per scrape (a bound on the scrape's size). */
export const lagSeriesMax = 10_000;

export interface PartitionLag {
  group: string;
  topic: string;
  partition: number;
  records: number;
  /** Undefined when the records carry no timestamps. */
  seconds: number | undefined;
}

/** Every committed group offset of this broker with its lag, at most `limit` of them. */
export function consumerLags(
  runtime: BrokerRuntime,
  limit = lagSeriesMax,
): {
  lags: PartitionLag[];
  dropped: number;
} {
  const lags: PartitionLag[] = [];
  let dropped = 0;
  const now = BigInt(runtime.now());
  for (const group of runtime.groups.coordinator.groups.values()) {
    for (const { topic, partition, value } of group.offsets.values()) {
      const stored = runtime.storage.getTopic(topic);
      const log =
        stored === undefined ? undefined : runtime.storage.partition(stored.topicId, partition);
      if (log === undefined) continue;
      if (lags.length >= limit) {
        dropped += 1;
        continue;
      }
      const committed = value.offset < log.logStartOffset ? log.logStartOffset : value.offset;
      const records = Number(log.highWatermark > committed ? log.highWatermark - committed : 0n);
      let seconds: number | undefined = 0;
      if (records > 0) {
        const oldest = log.entries(committed).next().value;
        seconds =
          oldest === undefined || oldest.maxTimestamp < 0n
            ? undefined
            : Math.max(0, Number(now - oldest.maxTimestamp) / 1000);
      }
      lags.push({ group: group.groupId, topic, partition, records, seconds });
    }
  }
  return { lags, dropped };
}

export function registerLagMetrics(registry: Registry, runtime: BrokerRuntime): void {
  // One pass serves the three gauges of a scrape.
  let scrape: { at: number; result: ReturnType<typeof consumerLags> } | undefined;
  const current = () => {
    const at = Date.now();
    if (scrape === undefined || at - scrape.at > 1000) {
      scrape = { at, result: consumerLags(runtime) };
    }
    return scrape.result;
  };
  const labelNames = ['group', 'topic', 'partition'] as const;
  registry.registerMetric(
    new Gauge({
      name: 'tributary_consumer_lag_records',
      help: 'Records between a group’s committed offset and the high watermark.',
      labelNames,
      registers: [],
      collect() {
        this.reset();
        for (const lag of current().lags) {
          this.set(labelsOf(lag), lag.records);
        }
      },
    }),
  );
  registry.registerMetric(
    new Gauge({
      name: 'tributary_consumer_lag_seconds',
      help: 'Age of the oldest record a group has not consumed (0 when caught up).',
      labelNames,
      registers: [],
      collect() {
        this.reset();
        for (const lag of current().lags) {
          if (lag.seconds !== undefined) this.set(labelsOf(lag), lag.seconds);
        }
      },
    }),
  );
  registry.registerMetric(
    new Gauge({
      name: 'tributary_consumer_lag_series_dropped',
      help: `Group partitions left out of the lag metrics past ${lagSeriesMax} per scrape.`,
      registers: [],
      collect() {
        this.set(current().dropped);
      },
    }),
  );
}

function labelsOf(lag: PartitionLag): Record<'group' | 'topic' | 'partition', string> {
  return { group: lag.group, topic: lag.topic, partition: String(lag.partition) };
}
