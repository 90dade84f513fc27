/**
 * A slow disk (RELIABILITY.md §5.4, issue 13 point 7), without FUSE or dm-delay: the storage
 * package's test hook (packages/storage/src/write-latency.ts) starts every WAL write and sync
 * late. Two levels:
 *
 * 1. The WAL itself over real files, appends arriving one by one: every append resolves only
 *    once the bytes of its entry are durable (counted by a wrapper under the delay, which sees
 *    each O_DSYNC write or fdatasync complete), a reopened WAL recovers every entry exactly once,
 *    and the group commit batches more when writes are slow (appends per durable operation).
 * 2. A broker process with TEST_TRIBUTARY_WAL_WRITE_DELAY_MS set, killed with SIGKILL at seeded
 *    random moments while librdkafka produces with acks=all. The delay runs before the bytes
 *    reach the kernel, so a broker that acknowledged before its write would lose those records
 *    to kill -9 even though the page cache survives; every acknowledged record must be back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import {
  DirectorySegmentFiles,
  SegmentedWriteAheadLog,
  delayedOpen,
  newTopicId,
  walWriteDelayVariable,
  type OpenFile,
} from '@tributary/storage';
import { RestartableBroker } from '../../src/index.ts';
import { checkAckedRecords, checkLogContinued } from './durability-check.ts';
import { faultSeed, randomInt, seededRandom } from './fault-seed.ts';
import { createTopic, readTopic, startProducer, type DriverProcess } from './python-driver.ts';

const slowWriteMs = 40;
const appendCount = 300;
/** Under a 40 ms write, appends arriving every few ms must share durable operations. */
const minAppendsPerDurableOpWhenSlow = 3;
const brokerWriteDelayMs = 25;
const killRounds = 3;

const seed = faultSeed();
const random = seededRandom(seed);
const scratch = mkdtempSync(join(tmpdir(), 'tributary-slow-disk-'));
let broker: RestartableBroker | undefined;
let producer: DriverProcess | undefined;

after(async () => {
  producer?.kill();
  await broker?.kill();
  rmSync(scratch, { recursive: true, force: true });
});

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

interface DurableCounter {
  ops: number;
  /** Per segment file name: end of the bytes whose durable write or sync has completed. */
  readonly durableEnd: Map<string, number>;
}

/**
 * `open` that counts completed durable operations on `.wal` files: a write on the O_DSYNC
 * segment handle (the WAL creates segments so) or an fdatasync/fsync.
 */
function countingOpen(counter: DurableCounter): OpenFile {
  return async (path, flags) => {
    const handle = await open(path, flags);
    const name = basename(path);
    if (!name.endsWith('.wal')) return handle;
    let writtenEnd = 0;
    const done = (end: number): void => {
      counter.ops += 1;
      counter.durableEnd.set(name, Math.max(counter.durableEnd.get(name) ?? 0, end));
    };
    return new Proxy(handle, {
      get(target, property) {
        if (property === 'writev') {
          return async (buffers: NodeJS.ArrayBufferView[], position: number) => {
            const result = await target.writev(buffers, position);
            writtenEnd = Math.max(writtenEnd, position + result.bytesWritten);
            // Only O_DSYNC handles (new segments) are durable on return; see the header.
            if (typeof flags === 'number') done(writtenEnd);
            return result;
          };
        }
        if (property === 'datasync' || property === 'sync') {
          return async () => {
            const end = writtenEnd;
            await target[property]();
            done(end);
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
}

function fakeBatch(label: string): Buffer {
  const payload = Buffer.from(label);
  const batch = Buffer.alloc(12 + payload.length);
  batch.writeBigInt64BE(-1n, 0);
  batch.writeUInt32BE(1, 8);
  payload.copy(batch, 12);
  return batch;
}

interface WalRun {
  appends: number;
  durableOps: number;
  resolvedEarly: number[];
}

/** Appends one by one (a few ms apart) to a WAL in `dir` whose writes take `delayMs` longer. */
async function appendPaced(dir: string, delayMs: number): Promise<WalRun> {
  const counter: DurableCounter = { ops: 0, durableEnd: new Map() };
  const files = new DirectorySegmentFiles(dir, 16, delayedOpen(delayMs, countingOpen(counter)));
  const wal = new SegmentedWriteAheadLog(files);
  await wal.recover();
  await wal.start(1);
  const opsBefore = counter.ops;
  const topicId = newTopicId();
  const resolvedEarly: number[] = [];
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < appendCount; i += 1) {
    const batch = fakeBatch(`slow-${i}`);
    const meta = { lastOffsetDelta: 0, maxTimestamp: 0n, recordCount: 1 };
    const appended = wal.append({ topicId, partition: 0, baseOffset: BigInt(i), meta, batch });
    pending.push(
      appended.then((info) => {
        const name = files.pathOf(info.segmentId);
        const durable = counter.durableEnd.get(basename(name)) ?? 0;
        if (durable < info.position + info.sizeBytes) resolvedEarly.push(i);
      }),
    );
    await sleep(randomInt(random, 0, 3));
  }
  await Promise.all(pending);
  const durableOps = counter.ops - opsBefore;
  await wal.close();
  await files.close();
  return { appends: appendCount, durableOps, resolvedEarly };
}

/** Offsets of every entry a fresh WAL recovers from `dir`, in write order. */
async function recoveredOffsets(dir: string): Promise<bigint[]> {
  const files = new DirectorySegmentFiles(dir);
  const wal = new SegmentedWriteAheadLog(files);
  try {
    const segments = await wal.recover();
    return segments.flatMap((segment) => segment.entries.map((entry) => entry.baseOffset));
  } finally {
    await files.close();
  }
}

test('the WAL on a slow disk: acks after durable, nothing lost, bigger groups', async (t) => {
  const runs: Array<[number, WalRun]> = [];
  for (const delayMs of [0, slowWriteMs]) {
    const dir = join(scratch, `wal-${delayMs}`);
    const run = await appendPaced(dir, delayMs);
    runs.push([delayMs, run]);
    assert.deepEqual(run.resolvedEarly, [], `${delayMs} ms: appends resolved before durable`);
    const offsets = await recoveredOffsets(dir);
    assert.deepEqual(
      offsets,
      Array.from({ length: appendCount }, (_, i) => BigInt(i)),
      `${delayMs} ms: recovered entries are not each append exactly once`,
    );
  }
  t.diagnostic(
    runs
      .map(
        ([delayMs, run]) =>
          `write delay ${delayMs} ms: ${run.appends} appends, ${run.durableOps} durable ops ` +
          `(${(run.appends / run.durableOps).toFixed(1)} appends per op)`,
      )
      .join('; ') + ` (FAULT_SEED=${seed})`,
  );
  const slow = runs[1]?.[1];
  assert.ok(slow);
  assert.ok(
    slow.appends / slow.durableOps >= minAppendsPerDurableOpWhenSlow,
    `slow disk: ${slow.durableOps} durable ops for ${slow.appends} appends; ` +
      'the group commit did not batch',
  );
});

test(
  'a broker on a slow disk, killed at random moments, keeps every acked record',
  { timeout: 240_000 },
  async (t) => {
    t.diagnostic(`FAULT_SEED=${seed}; ${walWriteDelayVariable}=${brokerWriteDelayMs}`);
    const topic = 'slow-disk';
    broker = new RestartableBroker({
      dataDir: join(scratch, 'broker'),
      env: { [walWriteDelayVariable]: String(brokerWriteDelayMs) },
    });
    await broker.start();
    await createTopic(broker.bootstrap, topic, 3);
    const running = startProducer({
      bootstrap: broker.bootstrap,
      topic,
      partitions: 3,
      ratePerSecond: 600,
      prefix: 'slow',
    });
    producer = running;
    const acksAtKill: number[] = [];
    for (let round = 0; round < killRounds; round += 1) {
      const before = running.acks().length;
      await running.waitFor(() => running.acks().length >= before + 50, 60_000, 'acks');
      await sleep(randomInt(random, 0, 1500));
      await broker.kill();
      acksAtKill.push(running.acks().length);
      t.diagnostic(`round ${round}: killed at ${running.acks().length} acks`);
      await broker.start();
    }
    const last = running.acks().length;
    await running.waitFor(() => running.acks().length >= last + 50, 60_000, 'final acks');
    const exitCode = await running.stop(90_000);
    assert.equal(exitCode, 0, `producer exited with ${exitCode}: ${running.stderr.slice(-2000)}`);
    const acks = running.acks();
    const records = await readTopic(broker.bootstrap, topic);
    t.diagnostic(`${acks.length} acks, ${records.length} records read (FAULT_SEED=${seed})`);
    assert.deepEqual(checkLogContinued(acks, acksAtKill), [], 'the log did not continue');
    assert.deepEqual(
      checkAckedRecords(acks, records),
      [],
      `acked records lost on a slow disk (FAULT_SEED=${seed})`,
    );
  },
);
