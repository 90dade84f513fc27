/**
 * Disk full (issue 13 point 2, RELIABILITY.md §5.4 F5, docs/adr/0014): a broker process whose
 * data directory is a small tmpfs. kcat produces one record per run (acks=all, no retries);
 * the disk is filled, produces fail with KAFKA_STORAGE_ERROR; space is freed and produces work
 * again without a restart; the failure and the recovery are each logged once. After a restart
 * exactly the acknowledged records are in the log: none of the refused ones came back.
 *
 * Needs root (mount); the machine and CI run as root.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { RestartableBroker, kcatPath, runCommand } from '../../src/index.ts';

const topic = 'disk-full';
const tmpfsBytes = 24 * 1024 * 1024;
const kcatTimeoutMs = 30_000;

const mountPoint = mkdtempSync(join(tmpdir(), 'tributary-disk-full-'));
const dataDir = join(mountPoint, 'data');
const filler = join(mountPoint, 'filler');
let broker: RestartableBroker | undefined;

before(() => {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${tmpfsBytes}`, 'tmpfs', mountPoint]);
  mkdirSync(dataDir);
});

after(async () => {
  await broker?.kill().catch(() => undefined);
  execFileSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

/** One record through kcat: true when acknowledged, false when delivery failed. */
async function produce(bootstrap: string, value: string): Promise<boolean> {
  const args = ['-b', bootstrap, '-P', '-t', topic, '-p', '0', '-X', 'acks=all'];
  args.push('-X', 'message.send.max.retries=0', '-X', 'message.timeout.ms=10000');
  const run = await runCommand(kcatPath, args, { input: `${value}\n`, timeoutMs: kcatTimeoutMs });
  if (run.timedOut) throw new Error(`kcat produce of ${value} hung`);
  const failed = run.code !== 0 || /Delivery failed|error/i.test(run.stderr);
  if (failed && !/Disk error|Storage/i.test(run.stderr)) {
    throw new Error(`kcat produce of ${value} failed unexpectedly: ${run.stderr}`);
  }
  return !failed;
}

async function readAll(bootstrap: string): Promise<string[]> {
  const args = ['-b', bootstrap, '-C', '-t', topic, '-e', '-o', 'beginning', '-q', '-f', '%s\\n'];
  const run = await runCommand(kcatPath, args, { timeoutMs: kcatTimeoutMs });
  assert.equal(run.code, 0, run.stderr);
  return run.stdout.split('\n').filter((line) => line !== '');
}

/** Writes zeros to `filler` until the file system says ENOSPC. */
function fillDisk(): number {
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return written;
}

const count = (text: string, pattern: RegExp): number => text.match(pattern)?.length ?? 0;

test('a full disk refuses produces, writing resumes once space returns, nothing refused survives', async (t) => {
  broker = new RestartableBroker({
    dataDir,
    args: ['--override', 'auto.create.topics.enable=true', '--override', 'num.partitions=1'],
  });
  const first = await broker.start();
  const acked: string[] = [];
  const refused: string[] = [];
  const send = async (value: string): Promise<boolean> => {
    const ok = await produce(first.bootstrap, value);
    (ok ? acked : refused).push(value);
    return ok;
  };
  for (let i = 0; i < 5; i++) assert.ok(await send(`before-${i}`), `before-${i} acknowledged`);

  assert.ok(fillDisk() > 0);
  // The last page of the WAL segment may still take a few records; then every produce fails.
  let consecutiveFailures = 0;
  for (let i = 0; i < 200 && consecutiveFailures < 5; i++) {
    consecutiveFailures = (await send(`full-${i}`)) ? 0 : consecutiveFailures + 1;
  }
  assert.equal(consecutiveFailures, 5, 'produces fail while the disk is full');

  rmSync(filler);
  for (let i = 0; i < 5; i++) assert.ok(await send(`after-${i}`), `after-${i} acknowledged`);
  assert.ok(first.alive(), 'no restart was needed');

  const log = first.stderr();
  assert.equal(count(log, /write-ahead log: disk full/g), 1, `one disk-full line:\n${log}`);
  assert.equal(count(log, /writing again after a full disk/g), 1, `one recovery line:\n${log}`);

  const exit = await first.stop();
  assert.equal(exit.code, 0, 'a clean stop');
  const second = await broker.start();
  const stored = await readAll(second.bootstrap);
  assert.deepEqual(
    stored,
    acked,
    `refused and reappeared: ${refused.filter((v) => stored.includes(v)).join(' ')}`,
  );
  assert.ok(refused.length >= 5);
  t.diagnostic(`acknowledged ${acked.length}, refused ${refused.length}; broker log:`);
  for (const line of log.split('\n').filter((text) => /write-ahead log/.test(text))) {
    t.diagnostic(line);
  }
});
