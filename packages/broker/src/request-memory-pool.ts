/**
 * RequestMemoryPool: the broker-wide budget of bytes held by requests being read or processed
 * (`queued.max.request.bytes`, Kafka's request memory pool). A connection reserves a frame's
 * declared size once it has read the size prefix, before it buffers the frame, and gives it back
 * when the request has been answered (or the connection closed mid-frame). While the budget is
 * spent, connections wait with their sockets paused, so the kernel's socket buffers and TCP flow
 * control hold the rest, not the broker's heap.
 *
 * Invariants:
 * - Reserved bytes never exceed `capacityBytes` (a frame larger than the whole budget is refused
 *   by the connection before it asks).
 * - Waiters are served first come first served: a large frame cannot be starved by a stream of
 *   small ones, at the price of small ones waiting behind it.
 */

export interface MemoryWaiter {
  readonly bytes: number;
  /** Called once the bytes are reserved for this waiter. */
  readonly granted: () => void;
}

export class RequestMemoryPool {
  readonly capacityBytes: number;
  #reservedBytes = 0;
  readonly #waiters: MemoryWaiter[] = [];

  constructor(capacityBytes: number) {
    this.capacityBytes = capacityBytes;
  }

  get reservedBytes(): number {
    return this.#reservedBytes;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Reserves `waiter.bytes` now (true) or queues the waiter and calls `granted` later (false).
   * Nobody jumps the queue: with waiters queued, a request that would fit still waits.
   */
  reserve(waiter: MemoryWaiter): boolean {
    if (this.#waiters.length === 0 && this.#fits(waiter.bytes)) {
      this.#reservedBytes += waiter.bytes;
      return true;
    }
    this.#waiters.push(waiter);
    return false;
  }

  /** Withdraws a queued waiter (its connection closed); a no-op when it is not queued. */
  cancel(waiter: MemoryWaiter): void {
    const at = this.#waiters.indexOf(waiter);
    if (at >= 0) this.#waiters.splice(at, 1);
    if (at === 0) this.#grantWaiting();
  }

  release(bytes: number): void {
    this.#reservedBytes -= bytes;
    this.#grantWaiting();
  }

  #fits(bytes: number): boolean {
    return this.#reservedBytes + bytes <= this.capacityBytes;
  }

  #grantWaiting(): void {
    for (;;) {
      const head = this.#waiters[0];
      if (head === undefined || !this.#fits(head.bytes)) return;
      this.#waiters.shift();
      this.#reservedBytes += head.bytes;
      head.granted();
    }
  }
}
