/**
 * The "slow request" warning, bounded. One stall (a disk that takes seconds to sync, say) makes
 * every request waiting on it slow at once: thousands of lines in a second, each a synchronous
 * write to stderr (logger.ts), and a pipe that fills makes the writes wait, so the log itself
 * stalls the event loop and makes the next requests slow too. Seen on a shared disk: 200
 * producers' requests all over 1 s, and the broker's main thread then spent more than half of
 * its time in the logger's wait for the pipe.
 *
 * So the first `slowRequestLogMaxPerSecond` slow requests of each second are logged one by one
 * (with their request ids, to be found from a dashboard); the rest are counted and, when that
 * second ends, logged as one line with their number, their APIs and the slowest time.
 */
import type { Logger } from '../logger.ts';

/** Slow requests logged one by one per second; beyond it they are summed up in one line. */
export const slowRequestLogMaxPerSecond = 10;

export interface SlowRequestLogOptions {
  /** Lines of single requests per window. */
  maxPerWindow?: number;
  /** The window, in ms. */
  windowMs?: number;
}

export class SlowRequestLog {
  readonly #log: Logger;
  readonly #maxPerWindow: number;
  readonly #windowMs: number;
  #windowStartedAt = Number.NEGATIVE_INFINITY;
  #logged = 0;
  /** Requests not logged one by one in the current window, by API, and the slowest of them. */
  #notLogged = new Map<string, number>();
  #slowestNotLoggedMs = 0;
  #summaryTimer: NodeJS.Timeout | undefined;

  constructor(log: Logger, options: SlowRequestLogOptions = {}) {
    this.#log = log;
    this.#maxPerWindow = options.maxPerWindow ?? slowRequestLogMaxPerSecond;
    this.#windowMs = options.windowMs ?? 1000;
  }

  /** A request of `api` took `ms`; `requestId` names it (called only if it is logged). */
  note(api: string, ms: number, requestId: () => string): void {
    const now = performance.now();
    if (now - this.#windowStartedAt >= this.#windowMs) {
      this.#summarize();
      this.#windowStartedAt = now;
      this.#logged = 0;
    }
    if (this.#logged < this.#maxPerWindow) {
      this.#logged += 1;
      this.#log.warn('slow request', { requestId: requestId(), api, ms: Math.round(ms) });
      return;
    }
    this.#notLogged.set(api, (this.#notLogged.get(api) ?? 0) + 1);
    if (ms > this.#slowestNotLoggedMs) this.#slowestNotLoggedMs = ms;
    this.#summaryTimer ??= setTimeout(
      () => this.#summarize(),
      Math.max(0, this.#windowStartedAt + this.#windowMs - now),
    ).unref();
  }

  /** Logs the requests of the ended window that were not logged one by one, if any. */
  #summarize(): void {
    clearTimeout(this.#summaryTimer);
    this.#summaryTimer = undefined;
    if (this.#notLogged.size === 0) return;
    let count = 0;
    const apis: string[] = [];
    for (const [api, each] of this.#notLogged) {
      count += each;
      apis.push(`${api}=${each}`);
    }
    this.#log.warn('slow requests not logged one by one', {
      count,
      apis: apis.join(','),
      slowestMs: Math.round(this.#slowestNotLoggedMs),
      windowMs: this.#windowMs,
    });
    this.#notLogged = new Map();
    this.#slowestNotLoggedMs = 0;
  }
}
