import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OffloadThread } from './offload-thread.ts';

// A worker that doubles numbers on its thread and exits on 'exit': the protocol answerJobs
// speaks, written out so the module needs no imports of ours.
const workerUrl = new URL(
  'data:text/javascript,' +
    encodeURIComponent(`
      import { parentPort, threadId } from 'node:worker_threads';
      parentPort.on('message', ({ id, job }) => {
        if (job === 'exit') process.exit(1);
        parentPort.postMessage({ id, answer: { doubled: job * 2, threadId } });
      });
    `),
);

type Job = number | 'exit';
interface Answer {
  doubled: number;
  threadId: number;
}

function doubler(): OffloadThread<Job, Answer, string> {
  return new OffloadThread<Job, Answer, string>({
    workerUrl,
    resultOf: (answer) => `${answer.doubled} on thread ${answer.threadId}`,
    here: (job) => (job === 'exit' ? 'exit here' : `${job * 2} here`),
  });
}

describe('OffloadThread', () => {
  it('answers jobs on its worker, and here once the worker is gone or the thread closed', async () => {
    const thread = doubler();
    const answers = await Promise.all([thread.run(1), thread.run(2)]);
    assert.match(answers[0] ?? '', /^2 on thread [1-9]\d*$/);
    assert.match(answers[1] ?? '', /^4 on thread [1-9]\d*$/);
    // The worker dies on a job: that job is done here, and the next one starts a new worker.
    assert.equal(await thread.run('exit'), 'exit here');
    assert.match(await thread.run(3), /^6 on thread [1-9]\d*$/);
    await thread.close();
    assert.equal(thread.closed, true);
    assert.equal(await thread.run(4), '8 here');
  });
});
