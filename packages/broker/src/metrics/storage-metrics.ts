/**
 * The embedded storage's write path on /metrics (issue 17): each WAL group commit (how many
 * appends shared one durable write, its bytes, and the time from write to durable: the fsync
 * latency a produce waits for) and each object upload (bytes, time from seal to handed off).
 * Storage calls it as its StorageObserver; nothing is recorded in cluster mode, whose writes go
 * through the window writer.
 */
import type { StorageObserver } from '@tributary/storage';
import { Counter, Histogram, type Registry } from 'prom-client';

const secondsBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];
const appendsBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
const uploadBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class StorageMetrics implements StorageObserver {
  readonly #commitSeconds = new Histogram({
    name: 'tributary_wal_group_commit_seconds',
    help: 'Time from a WAL group write to its being durable (what an acks=all produce waits for).',
    buckets: secondsBuckets,
    registers: [],
  });
  readonly #commitAppends = new Histogram({
    name: 'tributary_wal_group_commit_appends',
    help: 'Batches that shared one durable WAL write (group commit).',
    buckets: appendsBuckets,
    registers: [],
  });
  readonly #walBytes = new Counter({
    name: 'tributary_wal_bytes_written_total',
    help: 'Bytes written durably to the WAL.',
    registers: [],
  });
  readonly #uploadSeconds = new Histogram({
    name: 'tributary_object_upload_seconds',
    help: 'Time from a sealed WAL segment to its object being in the object store.',
    buckets: uploadBuckets,
    registers: [],
  });
  readonly #uploadBytes = new Counter({
    name: 'tributary_object_upload_bytes_total',
    help: 'Bytes of objects uploaded (sealed WAL segments with their index).',
    registers: [],
  });

  walGroupCommitted(appends: number, bytes: number, ms: number): void {
    this.#commitSeconds.observe(ms / 1000);
    this.#commitAppends.observe(appends);
    this.#walBytes.inc(bytes);
  }

  objectUploaded(bytes: number, ms: number): void {
    this.#uploadSeconds.observe(ms / 1000);
    this.#uploadBytes.inc(bytes);
  }

  register(registry: Registry): void {
    for (const metric of [
      this.#commitSeconds,
      this.#commitAppends,
      this.#walBytes,
      this.#uploadSeconds,
      this.#uploadBytes,
    ]) {
      registry.registerMetric(metric);
    }
  }
}
