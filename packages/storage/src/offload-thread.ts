/**
 * OffloadThread: one worker thread that takes jobs and answers each by its id, for the checks
 * the storage keeps off the event loop (frame-check-thread.ts, object-verify-thread.ts). The
 * worker starts on first use and keeps the process alive only while a job is out. If it dies,
 * or the thread is closed, every job still out is done here instead (`here`), and the next job
 * starts a new worker: a check is never lost, only slower.
 *
 * A worker module answers with `answerJobs` below.
 */
import { type MessagePort, Worker, parentPort } from 'node:worker_threads';

interface JobMessage<Job> {
  id: number;
  job: Job;
}

interface AnswerMessage<Answer> {
  id: number;
  answer: Answer;
}

interface Pending<Job, Result> {
  job: Job;
  resolve: (result: Result | PromiseLike<Result>) => void;
}

export interface OffloadThreadOptions<Job, Answer, Result> {
  /** The worker module; it calls `answerJobs`. */
  workerUrl: URL;
  /** The result of a job from the worker's answer. */
  resultOf: (answer: Answer, job: Job) => Result;
  /** The same job done on this thread: the fallback when there is no worker. */
  here: (job: Job) => Result | Promise<Result>;
}

export class OffloadThread<Job, Answer, Result> {
  readonly #options: OffloadThreadOptions<Job, Answer, Result>;
  readonly #pending = new Map<number, Pending<Job, Result>>();
  #worker: Worker | undefined;
  #nextId = 1;
  #closed = false;

  constructor(options: OffloadThreadOptions<Job, Answer, Result>) {
    this.#options = options;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Hands `job` to the worker (structured-cloned: shared memory is shared, other bytes copied)
   * and resolves with its result; after close, does it here.
   */
  run(job: Job): Promise<Result> {
    if (this.#closed) return Promise.resolve(this.#options.here(job));
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, { job, resolve });
      const worker = this.#workerNow();
      worker.postMessage({ id, job } satisfies JobMessage<Job>);
      worker.ref();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    this.#doPendingHere();
    await worker?.terminate();
  }

  #workerNow(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(this.#options.workerUrl);
    worker.on('message', ({ id, answer }: AnswerMessage<Answer>) => {
      const pending = this.#pending.get(id);
      this.#pending.delete(id);
      if (this.#pending.size === 0) worker.unref();
      if (pending !== undefined) pending.resolve(this.#options.resultOf(answer, pending.job));
    });
    const lost = (): void => {
      if (this.#worker === worker) this.#worker = undefined;
      this.#doPendingHere();
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    this.#worker = worker;
    return worker;
  }

  /** The worker is gone (or closing): what it was doing is done here instead. */
  #doPendingHere(): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const { job, resolve } of pending) resolve(this.#options.here(job));
  }
}

/** In a worker module: answers each job OffloadThread posts with `handle`'s answer. */
export function answerJobs<Job, Answer>(
  handle: (job: Job) => Answer | Promise<Answer>,
  port: MessagePort | null = parentPort,
): void {
  if (port === null) throw new Error('answerJobs runs in a worker thread');
  port.on('message', ({ id, job }: JobMessage<Job>) => {
    void Promise.resolve(handle(job)).then((answer) =>
      port.postMessage({ id, answer } satisfies AnswerMessage<Answer>),
    );
  });
}
