/**
 * ObjectVerifyThread: verifies uploaded objects (object-verifier.ts) on a worker thread, so the
 * read-back of every sealed object (ADR 0013) costs the broker's event loop and heap nothing:
 * under a produce load it was about a fifth of the main thread and the 64 MiB reads drove
 * full collections (issue 14). The worker reads the object's file itself where the store has
 * one on this machine (the directory store); otherwise the bytes read here are copied over.
 *
 * One worker, started on first use and not keeping the process alive. If it dies, the pending
 * checks fall back to verifying here and the next check starts a new worker.
 */
import { setImmediate } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { ObjectStore } from './object-store.ts';
import { type DamagedBatch, type ObjectVerdict, verifyObject } from './object-verifier.ts';

export interface VerifyJob {
  id: number;
  segmentId: number;
  /** The object's file (read by the worker), or else its bytes. */
  path?: string;
  bytes?: Uint8Array;
}

export interface VerifyAnswer {
  id: number;
  damaged: readonly DamagedBatch[];
  trailerProblem: string | undefined;
}

interface Pending {
  name: string;
  segmentId: number;
  resolve: (verdict: ObjectVerdict) => void;
}

const workerUrl = new URL('./object-verify-worker.ts', import.meta.url);

export class ObjectVerifyThread {
  readonly #store: ObjectStore;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | undefined;
  #nextId = 1;
  #closed = false;

  constructor(store: ObjectStore) {
    this.#store = store;
  }

  /** The verdict on object `name` (its `entries` are left empty: only the damage comes back). */
  async verify(name: string, segmentId: number): Promise<ObjectVerdict> {
    if (this.#closed) return verifyHere(this.#store, name, segmentId);
    const id = this.#nextId++;
    const path = this.#store.localPath?.(name);
    const job: VerifyJob =
      path === undefined
        ? { id, segmentId, bytes: await this.#store.getAll(name) }
        : { id, segmentId, path };
    return new Promise((resolve) => {
      this.#pending.set(id, { name, segmentId, resolve });
      const worker = this.#workerNow();
      // Bytes are copied, not transferred: a store may hand out a buffer it still holds.
      worker.postMessage(job);
      worker.ref();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    this.#failPending();
    await worker?.terminate();
  }

  #workerNow(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(workerUrl);
    worker.on('message', (answer: VerifyAnswer) => {
      const pending = this.#pending.get(answer.id);
      this.#pending.delete(answer.id);
      if (this.#pending.size === 0) worker.unref();
      pending?.resolve({
        entries: [],
        damaged: answer.damaged,
        trailerProblem: answer.trailerProblem,
      });
    });
    const lost = (): void => {
      if (this.#worker === worker) this.#worker = undefined;
      this.#failPending();
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    this.#worker = worker;
    return worker;
  }

  /** The worker is gone: what it was checking is checked here instead. */
  #failPending(): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const { name, segmentId, resolve } of pending) {
      void verifyHere(this.#store, name, segmentId).then(resolve);
    }
  }
}

/** Verifies on this thread (the fallback, and the uploader's default without a thread). */
export async function verifyHere(
  store: ObjectStore,
  name: string,
  segmentId: number,
): Promise<ObjectVerdict> {
  try {
    return await verifyObject(await store.getAll(name), segmentId, () => setImmediate());
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    return { entries: [], damaged: [], trailerProblem: `read back failed: ${reason}` };
  }
}
