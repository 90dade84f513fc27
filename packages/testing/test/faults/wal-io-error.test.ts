/**
 * A WAL I/O error (issue 13 point 5, docs/adr/0014): a broker process whose data directory is a
 * loop-mounted ext4 file system. kcat gets five records acknowledged; then the file system is
 * shut down (EXT4_IOC_SHUTDOWN without flushing the journal, as a dying disk or a power cut
 * would leave it), so every write fails with EIO. The next produce is not acknowledged, and the
 * broker says why and exits with status 74 for a supervisor, instead of staying up and refusing
 * writes in silence. After a remount (journal recovery) a restarted broker has exactly the five
 * acknowledged records: O_DSYNC made them durable before their acks.
 *
 * Needs root (mount, the shutdown ioctl); the machine and CI run as root.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, test } from 'node:test';
import { RestartableBroker, kcatPath, runCommand } from '../../src/index.ts';

const topic = 'wal-io-error';
const imageBytes = 64 * 1024 * 1024;
const kcatTimeoutMs = 30_000;
const exitWaitMs = 20_000;
/** The exit status the broker uses after a WAL I/O failure (broker.ts, walFailureExitCode). */
const walFailureExitCode = 74;
/** _IOR('X', 125, __u32); flag 2 = EXT4_GOING_FLAGS_NOLOGFLUSH: drop what is not yet durable. */
const shutdownScript = `
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.ioctl(fd, 0x8004587D, struct.pack('I', 2))
`;

const workDir = mkdtempSync(join(tmpdir(), 'tributary-wal-eio-'));
const image = join(workDir, 'fs.img');
const mountPoint = join(workDir, 'mnt');
const dataDir = join(mountPoint, 'data');
const broker = new RestartableBroker({
  dataDir,
  args: ['--override', 'auto.create.topics.enable=true', '--override', 'num.partitions=1'],
});

function mount(): void {
  execFileSync('mount', ['-o', 'loop', image, mountPoint]);
}

after(async () => {
  await broker.kill();
  try {
    execFileSync('umount', [mountPoint]);
  } catch {
    // Not mounted (the test failed before mounting, or after unmounting).
  }
  rmSync(workDir, { recursive: true, force: true });
});

async function produce(value: string): Promise<boolean> {
  const args = ['-b', broker.bootstrap, '-P', '-t', topic, '-p', '0', '-X', 'acks=all'];
  args.push('-X', 'message.send.max.retries=0', '-X', 'message.timeout.ms=10000');
  const run = await runCommand(kcatPath, args, { input: `${value}\n`, timeoutMs: kcatTimeoutMs });
  return run.code === 0 && !/Delivery failed|error/i.test(run.stderr);
}

async function readAll(): Promise<string[]> {
  const args = ['-b', broker.bootstrap, '-C', '-t', topic, '-e', '-o', 'beginning', '-q'];
  const run = await runCommand(kcatPath, [...args, '-f', '%s\\n'], { timeoutMs: kcatTimeoutMs });
  assert.equal(run.code, 0, run.stderr);
  return run.stdout.split('\n').filter((line) => line !== '');
}

test('an I/O error under the WAL makes the broker say so and exit; the acked records survive', async () => {
  execFileSync('truncate', ['-s', String(imageBytes), image]);
  execFileSync('mkfs.ext4', ['-q', '-F', image]);
  mkdirSync(mountPoint);
  mount();
  mkdirSync(dataDir);
  const first = await broker.start();
  const acked = Array.from({ length: 5 }, (_, i) => `acked-${i}`);
  for (const value of acked) assert.ok(await produce(value), `${value} acknowledged`);

  execFileSync('/usr/bin/python3', ['-c', shutdownScript, mountPoint]);
  assert.equal(await produce('refused'), false, 'no ack once the disk fails');
  // Bounded: a broker that stays up (refusing writes in silence) fails here, not by hanging.
  const exit = await Promise.race([first.exited, delay(exitWaitMs, undefined)]);
  assert.ok(exit !== undefined, `the broker is still running:\n${first.stderr()}`);
  assert.equal(exit.code, walFailureExitCode, `exit ${JSON.stringify(exit)}:\n${first.stderr()}`);
  assert.match(
    first.stderr(),
    /^(?=.*"level":"error")(?=.*"msg":"write-ahead log failed)(?=.*"errno":"EIO").*$/m,
  );
  assert.match(first.stderr(), /exiting: the write-ahead log failed/);

  execFileSync('umount', [mountPoint]);
  mount();
  await broker.start();
  assert.deepEqual(await readAll(), acked);
});
