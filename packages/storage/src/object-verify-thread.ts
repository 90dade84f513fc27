/**
 * ObjectVerifyThread: verifies uploaded objects (object-verifier.ts) on a worker thread, so the
 * read-back of every sealed object (ADR 0013) costs the broker's event loop and heap nothing:
 * under a produce load it was about a fifth of the main thread and the 64 MiB reads drove
 * full collections (issue 14). The worker reads the object's file itself where the store has
 * one on this machine (the directory store); otherwise the bytes read here are copied over.
 *
 * One worker (offload-thread.ts); if it dies, the checks it had fall back to verifying here.
 */
import { setImmediate } from 'node:timers/promises';
import type { ObjectStore } from './object-store.ts';
import { type DamagedBatch, type ObjectVerdict, verifyObject } from './object-verifier.ts';
import { OffloadThread } from './offload-thread.ts';

export interface VerifyJob {
  name: string;
  segmentId: number;
  /** The object's file (read by the worker), or else its bytes. */
  path?: string;
  bytes?: Uint8Array;
}

export interface VerifyAnswer {
  damaged: readonly DamagedBatch[];
  trailerProblem: string | undefined;
}

export class ObjectVerifyThread {
  readonly #store: ObjectStore;
  readonly #thread: OffloadThread<VerifyJob, VerifyAnswer, ObjectVerdict>;

  constructor(store: ObjectStore) {
    this.#store = store;
    this.#thread = new OffloadThread({
      workerUrl: new URL('./object-verify-worker.ts', import.meta.url),
      resultOf: ({ damaged, trailerProblem }) => ({ entries: [], damaged, trailerProblem }),
      here: ({ name, segmentId }) => verifyHere(store, name, segmentId),
    });
  }

  /** The verdict on object `name` (its `entries` are left empty: only the damage comes back). */
  async verify(name: string, segmentId: number): Promise<ObjectVerdict> {
    if (this.#thread.closed) return verifyHere(this.#store, name, segmentId);
    const path = this.#store.localPath?.(name);
    // Bytes are copied, not transferred: a store may hand out a buffer it still holds.
    return this.#thread.run(
      path === undefined
        ? { name, segmentId, bytes: await this.#store.getAll(name) }
        : { name, segmentId, path },
    );
  }

  close(): Promise<void> {
    return this.#thread.close();
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
