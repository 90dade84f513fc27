/**
 * V8 settings the broker process runs with (ADR 0027). Produce and fetch move every byte through
 * Buffers whose memory lies outside V8's heap: socket chunks, request frames, fetch responses.
 * By default V8 starts a full mark-compact each time such external memory grows by a fixed
 * amount (tens of MB) since the last one, however small the heap, so at 50 MB/s in and out the
 * broker ran 4-6 mark-compacts a second on a 40 MB heap. Counting external memory in the global
 * heap limit instead lets that limit grow with the live data, as the heap's own does: a third of
 * the mark-compacts and a fifth of their pause time, for some 100 MB more peak RSS.
 *
 * The limit's growing factor is then fixed at `heapGrowingPercent`: V8's own factor shrinks
 * toward 1.1 when allocation is fast for the collector's speed, and with it a broker serving a
 * mere 5,000 records/s ran a mark-compact every 0.5-0.8 s, whose incremental steps of up to
 * 12 ms on the event loop made the end-to-end p99 17-25 ms instead of 4-5 ms.
 */
import { setFlagsFromString } from 'node:v8';

/** The heap and global limits after a mark-compact: live size times (1 + this / 100). */
export const heapGrowingPercent = 100;

/** Set once, before the broker allocates; V8 reads the flags at each limit computation. */
export function tuneHeapForBroker(): void {
  setFlagsFromString('--external-memory-accounted-in-global-limit');
  setFlagsFromString(`--heap-growing-percent=${heapGrowingPercent}`);
}
