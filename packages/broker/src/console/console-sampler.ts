/**
 * The console's history for its charts, sampled while the console is served: records appended
 * per topic (a throughput sparkline) and each group's total lag in records and seconds (the lag
 * chart). Kept in memory for the last `historySamples` samples; a restart starts them afresh.
 */
import type { LagSample } from '@tributary/console';
import { listGroupsApi } from '@tributary/protocol';
import type { BrokerRuntime } from '../broker-runtime.ts';
import { groupLag } from './console-groups.ts';
import { callApi, samplerCaller } from './in-process-api.ts';
import { PartitionSizes } from './partition-sizes.ts';

/** Samples kept per topic and per group. */
const historySamples = 120;

export class ConsoleSampler {
  /** Partition sizes carried between requests (the topics page asks every refresh). */
  readonly sizes = new PartitionSizes();
  readonly #runtime: BrokerRuntime;
  readonly #intervalMs: number;
  readonly #endOffsets = new Map<string, { atMs: number; total: number }>();
  readonly #throughput = new Map<string, number[]>();
  readonly #lag = new Map<string, LagSample[]>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(runtime: BrokerRuntime, intervalMs: number) {
    this.#runtime = runtime;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Records per second between consecutive samples, oldest first. */
  throughput(topic: string): readonly number[] {
    return this.#throughput.get(topic) ?? [];
  }

  lagHistory(groupId: string): readonly LagSample[] {
    return this.#lag.get(groupId) ?? [];
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    // The next sample is scheduled after this one ends, so slow samples never pile up.
    this.#timer = setTimeout(() => {
      this.#sample()
        .catch((error: unknown) =>
          this.#runtime.log.warn('console sample failed', {
            error: error instanceof Error ? error.message : String(error),
          }),
        )
        .finally(() => this.#schedule(this.#intervalMs));
    }, delayMs);
    this.#timer.unref();
  }

  async #sample(): Promise<void> {
    const now = this.#runtime.now();
    const storage = this.#runtime.storage;
    for (const topic of storage.listTopics()) {
      let total = 0;
      for (let index = 0; index < topic.partitionCount; index++) {
        total += Number(storage.partition(topic.topicId, index)?.highWatermark ?? 0n);
      }
      const last = this.#endOffsets.get(topic.name);
      this.#endOffsets.set(topic.name, { atMs: now, total });
      if (last === undefined || now <= last.atMs) continue;
      const rate = Math.max(0, ((total - last.total) * 1000) / (now - last.atMs));
      push(this.#throughput, topic.name, rate);
    }
    const groups = await callApi(this.#runtime, samplerCaller, listGroupsApi, 4, {});
    for (const { groupId } of groups.groups) {
      const lags = await groupLag(this.#runtime, samplerCaller, groupId);
      push(this.#lag, groupId, {
        atMs: now,
        lag: lags.reduce((total, entry) => total + entry.lag, 0),
        lagSeconds: lags.reduce((most, entry) => Math.max(most, entry.lagSeconds), 0),
      });
    }
  }
}

function push<T>(history: Map<string, T[]>, key: string, value: T): void {
  const values = history.get(key) ?? [];
  values.push(value);
  if (values.length > historySamples) values.splice(0, values.length - historySamples);
  history.set(key, values);
}
