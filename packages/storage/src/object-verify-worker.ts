/**
 * The worker thread of ObjectVerifyThread (object-verify-thread.ts): reads an uploaded object
 * (from its local path, or bytes handed over) and checks it with verifyObject, off the broker's
 * event loop and its heap. Answers with the damage only: the index's entries stay here.
 */
import { readFile } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import type { VerifyAnswer, VerifyJob } from './object-verify-thread.ts';
import { verifyObject } from './object-verifier.ts';

const port = parentPort;
if (port === null) throw new Error('object-verify-worker.ts runs as a worker thread');

port.on('message', (job: VerifyJob) => {
  void answer(job).then((reply) => port.postMessage(reply));
});

async function answer(job: VerifyJob): Promise<VerifyAnswer> {
  try {
    const data = job.path === undefined ? Buffer.from(job.bytes ?? []) : await readFile(job.path);
    const verdict = await verifyObject(data, job.segmentId);
    return { id: job.id, damaged: verdict.damaged, trailerProblem: verdict.trailerProblem };
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    return { id: job.id, damaged: [], trailerProblem: `read back failed: ${reason}` };
  }
}
