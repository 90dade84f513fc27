/**
 * FrameCheckThread: the crc32c check of every batch a read brings back from a WAL segment or an
 * object (ADR 0013), done on a worker thread for large reads. A consumer catching up at 1 GB/s
 * makes the broker check 1 GB/s of frames; on the event loop that was about a third of the main
 * thread, and every live produce and fetch waited behind it (issue 14's replay goal). The
 * worker checks the bytes where they were read: read buffers live in shared memory
 * (read-buffer-pool.ts), so nothing is copied or transferred, only offsets go across.
 *
 * Small reads (under `frameCheckOffloadMinBytes`) and reads not in shared memory are checked
 * here: for them a message round trip costs more than the check. One worker, started on first
 * use and not keeping the process alive; if it dies, what it was checking is checked here and
 * the next large read starts a new one.
 */
import { Worker } from 'node:worker_threads';
import { walEntryFrameIntact } from './frame.ts';

/** Reads at least this large (bytes) are checked on the worker thread. */
export const frameCheckOffloadMinBytes = 256 * 1024;

export interface FrameCheckJob {
  id: number;
  memory: SharedArrayBuffer;
  byteOffset: number;
  byteLength: number;
  /** Each frame's first byte and end, relative to byteOffset. */
  starts: Int32Array;
  ends: Int32Array;
}

export interface FrameCheckAnswer {
  id: number;
  /** Index of the first frame that is not intact, or -1. */
  damaged: number;
}

interface Pending {
  job: FrameCheckJob;
  resolve: (damaged: number) => void;
}

const workerUrl = new URL('./frame-check-worker.ts', import.meta.url);

export class FrameCheckThread {
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | undefined;
  #nextId = 1;
  #closed = false;

  /**
   * Checks the WAL entry frames `starts[i]..ends[i]` of `data`; resolves with the index of the
   * first damaged one, or -1 when all are intact. `data` must not change until it resolves.
   */
  firstDamaged(data: Buffer, starts: Int32Array, ends: Int32Array): Promise<number> {
    const memory = data.buffer;
    if (
      this.#closed ||
      data.length < frameCheckOffloadMinBytes ||
      !(memory instanceof SharedArrayBuffer)
    ) {
      return Promise.resolve(firstDamagedHere(data, starts, ends));
    }
    const id = this.#nextId++;
    const job = { id, memory, byteOffset: data.byteOffset, byteLength: data.length, starts, ends };
    return new Promise((resolve) => {
      this.#pending.set(id, { job, resolve });
      const worker = this.#workerNow();
      worker.postMessage(job);
      worker.ref();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    this.#checkPendingHere();
    await worker?.terminate();
  }

  #workerNow(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(workerUrl);
    worker.on('message', (answer: FrameCheckAnswer) => {
      const pending = this.#pending.get(answer.id);
      this.#pending.delete(answer.id);
      if (this.#pending.size === 0) worker.unref();
      pending?.resolve(answer.damaged);
    });
    const lost = (): void => {
      if (this.#worker === worker) this.#worker = undefined;
      this.#checkPendingHere();
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    this.#worker = worker;
    return worker;
  }

  /** The worker is gone (or closing): what it was checking is checked here instead. */
  #checkPendingHere(): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const { job, resolve } of pending) {
      const data = Buffer.from(job.memory, job.byteOffset, job.byteLength);
      resolve(firstDamagedHere(data, job.starts, job.ends));
    }
  }
}

function firstDamagedHere(data: Buffer, starts: Int32Array, ends: Int32Array): number {
  for (let index = 0; index < starts.length; index++) {
    if (!walEntryFrameIntact(data, starts[index] as number, ends[index] as number)) return index;
  }
  return -1;
}
