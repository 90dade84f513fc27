/**
 * What every peer reader reports, so fan-out and replay treat Redis, NATS and RabbitMQ alike:
 * records and payload bytes delivered, and when the first and last arrived (performance.now()
 * ms). A reader stops at `expect` records or at its timeout, whichever comes first.
 */

export interface PeerReadOptions {
  /** Consumer group (Redis), durable consumer (NATS) or consumer tag (RabbitMQ). */
  group: string;
  expect: number;
  timeoutMs: number;
  /** Sees each delivered payload (e.g. to time it from its stamp). */
  onRecord?: (payload: string) => void;
}

export interface PeerReadResult {
  count: number;
  bytes: number;
  startMs: number;
  firstMs: number;
  lastMs: number;
}

export interface ReadTally {
  result: PeerReadResult;
  /** Counts one delivered payload; true once `expect` records have arrived. */
  add(payload: string): boolean;
}

export function readTally(options: PeerReadOptions): ReadTally {
  const result = { count: 0, bytes: 0, startMs: performance.now(), firstMs: 0, lastMs: 0 };
  return {
    result,
    add: (payload) => {
      const now = performance.now();
      if (result.count === 0) result.firstMs = now;
      result.lastMs = now;
      result.count += 1;
      result.bytes += payload.length;
      options.onRecord?.(payload);
      return result.count >= options.expect;
    },
  };
}

/**
 * Resolves with the tally when `read` calls `done`, or with what arrived by the timeout;
 * rejects when it calls `fail` (the server refused the read).
 */
export function untilDoneOrTimeout(
  tally: ReadTally,
  timeoutMs: number,
  read: (done: () => void, fail: (error: Error) => void) => void,
): Promise<PeerReadResult> {
  return new Promise((resolvePromise, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      resolvePromise(tally.result);
    };
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    const timer = setTimeout(done, timeoutMs);
    read(done, fail);
  });
}
