/**
 * The worker thread of FrameCheckThread (frame-check-thread.ts): checks the WAL entry frames of
 * one read in the shared memory it was read into, and answers with the first damaged one.
 */
import { parentPort } from 'node:worker_threads';
import type { FrameCheckAnswer, FrameCheckJob } from './frame-check-thread.ts';
import { walEntryFrameIntact } from './frame.ts';

const port = parentPort;
if (port === null) throw new Error('frame-check-worker.ts runs as a worker thread');

port.on('message', (job: FrameCheckJob) => {
  const data = Buffer.from(job.memory, job.byteOffset, job.byteLength);
  let damaged = -1;
  for (let index = 0; index < job.starts.length; index++) {
    if (!walEntryFrameIntact(data, job.starts[index] as number, job.ends[index] as number)) {
      damaged = index;
      break;
    }
  }
  port.postMessage({ id: job.id, damaged } satisfies FrameCheckAnswer);
});
