/**
 * One FIFO of work per partition: records of one partition (so of one key) run one at a time in
 * offset order, different partitions run concurrently. `size` bounds what the consumer reads
 * ahead: it pauses fetching while more than `maxQueuedPerPartition` wait on any partition.
 *
 * Invariant: a task starts only after the previous task of its partition settled; a task that
 * throws does not stop its queue (the consumer decides what a failure means before that).
 */
export class PartitionQueues {
  readonly #tails = new Map<string, Promise<void>>();
  readonly #sizes = new Map<string, number>();
  #pending = 0;
  #idle: (() => void)[] = [];

  /** Queues `task` behind the partition's earlier ones. */
  push(partition: string, task: () => Promise<void>): void {
    const tail = this.#tails.get(partition) ?? Promise.resolve();
    this.#sizes.set(partition, (this.#sizes.get(partition) ?? 0) + 1);
    this.#pending += 1;
    const next: Promise<void> = tail.then(task).then(
      () => this.#settled(partition, next),
      () => this.#settled(partition, next),
    );
    this.#tails.set(partition, next);
  }

  /** Tasks queued or running on `partition`. */
  size(partition: string): number {
    return this.#sizes.get(partition) ?? 0;
  }

  /** The largest queue. */
  maxSize(): number {
    return Math.max(0, ...this.#sizes.values());
  }

  get pending(): number {
    return this.#pending;
  }

  /** Resolves once every queued task has settled. */
  drained(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #settled(partition: string, task: Promise<void>): void {
    this.#pending -= 1;
    const size = (this.#sizes.get(partition) ?? 1) - 1;
    if (size === 0) this.#sizes.delete(partition);
    else this.#sizes.set(partition, size);
    if (this.#tails.get(partition) === task) this.#tails.delete(partition);
    if (this.#pending === 0) {
      const waiting = this.#idle;
      this.#idle = [];
      for (const resolve of waiting) resolve();
    }
  }
}
