/**
 * Paced producers for the peers: any number of lanes (one connection each) sending on a fixed
 * grid, lane `i` offset by `i / lanes` of the interval so the lanes do not fire together. Every
 * message carries its INTENDED send time and ack latency is measured from it, so falling behind
 * schedule shows up as latency (no coordinated omission). One timer drives every lane (about
 * 1 ms per tick), so 200 lanes cost one timer, not 200.
 */
import type { Socket } from 'node:net';
import { percentile } from './latency-summary.ts';

export interface Percentiles {
  samples: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = samples.toSorted((a, b) => a - b);
  return {
    samples: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted.at(-1) ?? 0,
  };
}

const stampChars = 16;

/** A `valueBytes` payload starting with the intended send time (ms, fixed width). */
export function stampedPayload(intendedMs: number, valueBytes: number): string {
  const stamp = intendedMs.toFixed(3).padStart(stampChars, '0');
  return stamp + 'v'.repeat(Math.max(0, valueBytes - stampChars));
}

export function payloadStamp(payload: string): number {
  return Number(payload.slice(0, stampChars));
}

/** How a lane reports answers: message `seq` of this lane acked, or one message failed. */
export interface LaneAcks {
  acked(seq: number): void;
  failed(): void;
}

/** Writes the messages due now; answers come back through the `LaneAcks` it was made with. */
export interface PacedLane {
  send(items: ReadonlyArray<{ seq: number; payload: string }>): void;
}

/**
 * A request/reply wire protocol spoken on one socket: the bytes of message `seq` carrying
 * `payload`, and a parser that consumes complete replies in order.
 */
export interface PipelineProtocol {
  request(seq: number, payload: string): Buffer;
  /** Consumes complete replies from `buffer`; returns the seqs acked, errors, and the rest. */
  parse(buffer: Buffer): { acked: number[]; errors: number; rest: Buffer };
}

/** Runs `protocol` on `socket`, feeding parsed answers to `acks`. */
export function socketLane(socket: Socket, protocol: PipelineProtocol, acks: LaneAcks): PacedLane {
  let buffer: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    const parsed = protocol.parse(buffer);
    buffer = parsed.rest;
    for (let index = 0; index < parsed.errors; index += 1) acks.failed();
    for (const seq of parsed.acked) acks.acked(seq);
  });
  return {
    send: (items) => {
      socket.write(Buffer.concat(items.map((item) => protocol.request(item.seq, item.payload))));
    },
  };
}

export interface PacedOptions {
  /** Messages per second per lane. */
  ratePerLane: number;
  seconds: number;
  valueBytes: number;
  /**
   * Seconds sent at the same rate before `seconds` starts and left out of every figure: the
   * first answers time connection setup and the JIT, not the server's steady state.
   */
  warmupSeconds?: number;
  /** Called once when the warm-up is over (at the first send when there is none). */
  onWarmedUp?: () => void;
  /** Stop waiting for answers this long after the last send. */
  drainTimeoutMs?: number;
}

export interface PacedRunResult {
  sent: number;
  /** Acked after the warm-up (the warm-up's answers are left out). */
  acked: number;
  errors: number;
  /** End of the warm-up to the last answer. */
  seconds: number;
  ackMs: Percentiles;
  /** [intended send time (performance.now() ms), ack latency ms] per acked message. */
  samples: Array<[number, number]>;
  /**
   * Ack p99 of each of `pacedWindows` equal parts of the measured seconds (by intended send
   * time), in order: one stall decides a whole run's p99, the windows show whether it was one.
   */
  windowP99Ms: number[];
}

/** Equal parts of a paced run's measured seconds that get a p99 of their own. */
export const pacedWindows = 3;

/** The ack p99 of the samples whose intended send time falls in each of `windows` parts. */
export function windowP99s(
  samples: ReadonlyArray<readonly [number, number]>,
  fromMs: number,
  spanMs: number,
  windows: number,
): number[] {
  const parts: number[][] = Array.from({ length: windows }, () => []);
  for (const [intended, ms] of samples) {
    const index = Math.floor(((intended - fromMs) / spanMs) * windows);
    parts[Math.min(windows - 1, Math.max(0, index))]?.push(ms);
  }
  return parts.map((part) => percentiles(part).p99);
}

interface LaneState {
  lane: PacedLane;
  offsetMs: number;
  sent: number;
  intended: Float64Array;
}

/** Sends lane `state`'s messages due at `now`; returns how many it sent. */
function sendDue(
  state: LaneState,
  now: number,
  grid: { startMs: number; intervalMs: number; total: number; valueBytes: number },
): number {
  const elapsed = now - grid.startMs - state.offsetMs;
  const due = Math.min(grid.total, Math.floor(elapsed / grid.intervalMs) + 1);
  if (due <= state.sent) return 0;
  const items: Array<{ seq: number; payload: string }> = [];
  for (; state.sent < due; state.sent += 1) {
    const at = grid.startMs + state.offsetMs + state.sent * grid.intervalMs;
    state.intended[state.sent] = at;
    items.push({ seq: state.sent, payload: stampedPayload(at, grid.valueBytes) });
  }
  state.lane.send(items);
  return items.length;
}

/** Sends on every lane at `ratePerLane`; resolves when every message is answered (or drained). */
export function runPacedLanes(
  makeLanes: ReadonlyArray<(acks: LaneAcks) => PacedLane>,
  options: PacedOptions,
): Promise<PacedRunResult> {
  const warmupMs = (options.warmupSeconds ?? 0) * 1000;
  const total = Math.round((options.ratePerLane * (options.seconds * 1000 + warmupMs)) / 1000);
  const grid = {
    startMs: performance.now() + 5,
    intervalMs: 1000 / options.ratePerLane,
    total,
    valueBytes: options.valueBytes,
  };
  const measuredFrom = grid.startMs + warmupMs;
  const samples: Array<[number, number]> = [];
  const counts = { sent: 0, answered: 0, errors: 0 };
  return new Promise((resolvePromise) => {
    let drainTimer: NodeJS.Timeout | undefined;
    let resolved = false;
    const finish = (): void => {
      if (resolved || counts.sent < total * makeLanes.length || counts.answered < counts.sent) {
        return;
      }
      resolved = true;
      clearTimeout(drainTimer);
      resolvePromise({
        sent: counts.sent,
        acked: samples.length,
        errors: counts.errors,
        seconds: (performance.now() - measuredFrom) / 1000,
        ackMs: percentiles(samples.map(([, ms]) => ms)),
        samples,
        windowP99Ms: windowP99s(samples, measuredFrom, options.seconds * 1000, pacedWindows),
      });
    };
    const lanes = makeLanes.map((make, index) => {
      const offsetMs = (index / makeLanes.length) * grid.intervalMs;
      const state: LaneState = {
        lane: { send: () => undefined },
        offsetMs,
        sent: 0,
        intended: new Float64Array(total),
      };
      state.lane = make({
        acked: (seq) => {
          const intended = state.intended[seq] ?? 0;
          if (intended >= measuredFrom) samples.push([intended, performance.now() - intended]);
          counts.answered += 1;
          finish();
        },
        failed: () => {
          // Errors count in the warm-up too: a refused message is never acceptable.
          counts.errors += 1;
          counts.answered += 1;
          finish();
        },
      });
      return state;
    });
    let warmedUp = false;
    const tick = (): void => {
      const now = performance.now();
      if (!warmedUp && now >= measuredFrom) {
        warmedUp = true;
        options.onWarmedUp?.();
      }
      for (const state of lanes) counts.sent += sendDue(state, now, grid);
      if (lanes.some((state) => state.sent < total)) {
        setTimeout(tick, 1);
        return;
      }
      finish();
      if (resolved) return;
      // Whatever is unanswered after the drain timeout counts as not acked.
      drainTimer = setTimeout(() => {
        counts.answered = counts.sent;
        finish();
      }, options.drainTimeoutMs ?? 30_000);
    };
    setTimeout(tick, 5);
  });
}

/** A producer connection ready for `runPacedLanes`; `close` ends it. */
export interface OpenedLane {
  make: (acks: LaneAcks) => PacedLane;
  close(): Promise<void>;
}
