/**
 * The worker thread of FrameCheckThread (frame-check-thread.ts): checks the WAL entry frames of
 * one read in the shared memory it was read into, and answers with the first damaged one.
 */
import { type FrameCheckAnswer, type FrameCheckJob, firstDamagedOf } from './frame-check-thread.ts';
import { answerJobs } from './offload-thread.ts';

answerJobs<FrameCheckJob, FrameCheckAnswer>(firstDamagedOf);
