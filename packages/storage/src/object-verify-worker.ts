/**
 * The worker thread of ObjectVerifyThread (object-verify-thread.ts): reads an uploaded object
 * (from its local path, or bytes handed over) and checks it with verifyObject, off the broker's
 * event loop and its heap. Answers with the damage only: the index's entries stay here.
 */
import { readFile } from 'node:fs/promises';
import type { VerifyAnswer, VerifyJob } from './object-verify-thread.ts';
import { verifyObject } from './object-verifier.ts';
import { answerJobs } from './offload-thread.ts';

answerJobs(async (job: VerifyJob): Promise<VerifyAnswer> => {
  try {
    const data = job.path === undefined ? Buffer.from(job.bytes ?? []) : await readFile(job.path);
    const verdict = await verifyObject(data, job.segmentId);
    return { damaged: verdict.damaged, trailerProblem: verdict.trailerProblem };
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    return { damaged: [], trailerProblem: `read back failed: ${reason}` };
  }
});
