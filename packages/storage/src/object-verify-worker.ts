/**
 * The worker thread of ObjectVerifyThread (object-verify-thread.ts): checks an uploaded object
 * off the broker's event loop and its heap, from its local path window by window into one buffer
 * kept for every object (verifyObjectFile), or from bytes handed over (verifyObject). Answers
 * with the damage only: the index's entries stay here.
 */
import { open } from 'node:fs/promises';
import type { VerifyAnswer, VerifyJob } from './object-verify-thread.ts';
import {
  type ObjectVerdict,
  objectVerifyWindowBytes,
  verifyObject,
  verifyObjectFile,
} from './object-verifier.ts';
import { answerJobs } from './offload-thread.ts';

/** The read window of verifyObjectFile, made at the first object and reused after. */
let window: Buffer | undefined;
/** The file verify in progress: jobs arrive concurrently, the window serves one at a time. */
let previous: Promise<unknown> = Promise.resolve();

function verifyFile(path: string, segmentId: number): Promise<ObjectVerdict> {
  const verdict = previous.then(async () => {
    window ??= Buffer.allocUnsafe(objectVerifyWindowBytes);
    const file = await open(path, 'r');
    try {
      return await verifyObjectFile(file, segmentId, window);
    } finally {
      await file.close();
    }
  });
  previous = verdict.catch(() => undefined);
  return verdict;
}

answerJobs(async (job: VerifyJob): Promise<VerifyAnswer> => {
  try {
    const verdict =
      job.path === undefined
        ? await verifyObject(Buffer.from(job.bytes ?? []), job.segmentId)
        : await verifyFile(job.path, job.segmentId);
    return { damaged: verdict.damaged, trailerProblem: verdict.trailerProblem };
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    return { damaged: [], trailerProblem: `read back failed: ${reason}` };
  }
});
