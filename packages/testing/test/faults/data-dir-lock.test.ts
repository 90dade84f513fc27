/**
 * The data directory lock is released by the kernel when its owner dies (issue 13, point 4):
 * a broker killed with SIGKILL whose parent has not reaped it yet (a zombie: its pid still
 * answers kill(pid, 0)) must not keep a supervisor's immediate restart out. Two live brokers on
 * one directory are still refused, with a message naming the directory and the owner.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import {
  cliMainPath,
  kcatPath,
  runCommand,
  spawnBroker,
  tempDir,
  type SpawnedBroker,
} from '../../src/index.ts';

const commandTimeoutMs = 30_000;
const readyTimeoutMs = 20_000;
const cleanups: (() => Promise<void> | void)[] = [];

after(async () => {
  for (const cleanup of cleanups.toReversed()) await cleanup();
});

/** /proc state letter of `pid` ('Z' for a zombie), undefined once it is gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/**
 * Starts a broker as the child of a shell that then execs `sleep`: sleep never calls wait(), so
 * once the broker dies it stays a zombie until the sleep ends. Returns the broker's pid, its
 * address and a function that ends the non-reaping parent.
 */
async function startUnreapedBroker(dataDir: string): Promise<{
  pid: number;
  bootstrap: string;
  endParent: () => void;
}> {
  const script = `"$0" "$@" & echo "broker-pid=$!"; exec sleep 600`;
  const args = [cliMainPath, 'start', '--data-dir', dataDir, '--listen', '127.0.0.1:0'];
  const parent = spawn('/bin/sh', ['-c', script, process.execPath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  parent.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  parent.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
  const endParent = (): void => {
    parent.kill('SIGKILL');
  };
  cleanups.push(endParent);
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const pid = /broker-pid=(\d+)/.exec(output)?.[1];
    const ready = /listening on (\S+):(\d+)/.exec(output);
    if (pid !== undefined && ready !== null) {
      return { pid: Number(pid), bootstrap: `${ready[1]}:${ready[2]}`, endParent };
    }
    assert.ok(Date.now() < deadline, `the broker did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function produce(bootstrap: string, topic: string, lines: string): Promise<void> {
  const run = await runCommand(kcatPath, ['-b', bootstrap, '-t', topic, '-P'], {
    input: lines,
    timeoutMs: commandTimeoutMs,
  });
  assert.equal(run.code, 0, run.stderr);
}

async function consume(bootstrap: string, topic: string, count: number): Promise<string[]> {
  const args = ['-b', bootstrap, '-t', topic, '-C', '-o', 'beginning', '-c', String(count)];
  const run = await runCommand(kcatPath, [...args, '-e', '-q'], { timeoutMs: commandTimeoutMs });
  assert.equal(run.code, 0, run.stderr);
  return run.stdout.split('\n').filter((line) => line !== '');
}

function track(broker: SpawnedBroker): SpawnedBroker {
  cleanups.push(async () => {
    await broker.kill();
  });
  return broker;
}

test('a broker starts at once on the data dir of a SIGKILLed, not yet reaped broker', async () => {
  const dir = await tempDir('lock');
  cleanups.push(() => dir.remove());
  const first = await startUnreapedBroker(dir.path);
  await produce(first.bootstrap, 'lock-restart', 'before-1\nbefore-2\n');

  process.kill(first.pid, 'SIGKILL');
  const deadline = Date.now() + 10_000;
  while (processState(first.pid) !== 'Z') {
    assert.ok(Date.now() < deadline, `broker ${first.pid} did not become a zombie`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }

  // The dead broker is still a zombie (its pid is taken) while the new one starts.
  const second = track(await spawnBroker({ dataDir: dir.path, readyTimeoutMs }));
  assert.equal(processState(first.pid), 'Z', 'the old broker was reaped before the restart');
  await produce(second.bootstrap, 'lock-restart', 'after-1\n');
  assert.deepEqual(await consume(second.bootstrap, 'lock-restart', 3), [
    'before-1',
    'before-2',
    'after-1',
  ]);
  first.endParent();
});

test('a second live broker on the same data dir is refused with a clear message', async () => {
  const dir = await tempDir('lock');
  cleanups.push(() => dir.remove());
  const owner = track(await spawnBroker({ dataDir: dir.path, readyTimeoutMs }));
  await assert.rejects(spawnBroker({ dataDir: dir.path, readyTimeoutMs }), (error: Error) => {
    assert.match(error.message, /data directory \S+ is in use by process (\d+)/);
    assert.ok(error.message.includes(`process ${owner.pid}`), error.message);
    return true;
  });
  // The refused start did not disturb the owner.
  await produce(owner.bootstrap, 'lock-owner', 'still-here\n');
  assert.deepEqual(await consume(owner.bootstrap, 'lock-owner', 1), ['still-here']);
});
