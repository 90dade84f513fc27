/**
 * FrameCheckThread: the crc32c check of every batch a read brings back from a WAL segment or an
 * object (ADR 0013), done on a worker thread for large reads. A consumer catching up at 1 GB/s
 * makes the broker check 1 GB/s of frames; on the event loop that was about a third of the main
 * thread, and every live produce and fetch waited behind it (issue 14's replay goal). The
 * worker checks the bytes where they were read: read buffers live in shared memory
 * (read-buffer-pool.ts), so nothing is copied or transferred, only offsets go across.
 *
 * Small reads (under `frameCheckOffloadMinBytes`) and reads not in shared memory are checked
 * by the caller (`checkedOnThread` says which): for them a message round trip costs more than
 * the check. One worker (offload-thread.ts); if it dies, what it was checking is checked here.
 */
import { walEntryFrameIntact } from './frame.ts';
import { OffloadThread } from './offload-thread.ts';

/** Reads at least this large (bytes) are checked on the worker thread. */
export const frameCheckOffloadMinBytes = 256 * 1024;

export interface FrameCheckJob {
  /** The read's memory: shared, so the worker checks it in place (other memory is copied). */
  memory: ArrayBufferLike;
  byteOffset: number;
  byteLength: number;
  /** Each frame's first byte and end, relative to byteOffset. */
  starts: Int32Array;
  ends: Int32Array;
}

/** Index of the first frame that is not intact, or -1. */
export type FrameCheckAnswer = number;

export class FrameCheckThread {
  readonly #thread = new OffloadThread<FrameCheckJob, FrameCheckAnswer, number>({
    workerUrl: new URL('./frame-check-worker.ts', import.meta.url),
    resultOf: (damaged) => damaged,
    here: firstDamagedOf,
  });

  /** Whether a read of `data` is worth checking on the worker thread. */
  checkedOnThread(data: Buffer): boolean {
    return (
      !this.#thread.closed &&
      data.length >= frameCheckOffloadMinBytes &&
      data.buffer instanceof SharedArrayBuffer
    );
  }

  /**
   * Checks the WAL entry frames `starts[i]..ends[i]` of `data` on the worker; resolves with the
   * index of the first damaged one, or -1 when all are intact. For reads `checkedOnThread`
   * accepts (in shared memory: nothing is copied). `data` must not change until it resolves.
   */
  firstDamaged(data: Buffer, starts: Int32Array, ends: Int32Array): Promise<number> {
    return this.#thread.run({
      memory: data.buffer,
      byteOffset: data.byteOffset,
      byteLength: data.length,
      starts,
      ends,
    });
  }

  close(): Promise<void> {
    return this.#thread.close();
  }
}

/** The check itself, on whichever thread runs it. */
export function firstDamagedOf(job: FrameCheckJob): number {
  const data = Buffer.from(job.memory, job.byteOffset, job.byteLength);
  for (let index = 0; index < job.starts.length; index++) {
    if (!walEntryFrameIntact(data, job.starts[index] as number, job.ends[index] as number)) {
      return index;
    }
  }
  return -1;
}
