import assert from 'node:assert/strict';
import { appendFile, mkdtemp, open, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DirectorySegmentFiles, syncPointSuffix } from './directory-segment-files.ts';
import { FileWriteAheadLog } from './file-write-ahead-log.ts';
import { MemorySegmentFiles } from './memory-segment-files.ts';
import { MemoryWriteAheadLog } from './memory-write-ahead-log.ts';
import type { SegmentWriter } from './segment-files.ts';
import { SegmentedWriteAheadLog } from './segmented-write-ahead-log.ts';
import { ProbedMemorySegmentFiles, probedOpen } from './testing/durability-probe.ts';
import { fakeBatch, labelOf, metaOf } from './testing/fake-batch.ts';
import { newTopicId } from './types.ts';
import { writeAheadLogContract } from './write-ahead-log.contract.ts';

/** Removes a test's WAL directory and the sync point file kept beside it. */
async function removeWalDirectory(directory: string): Promise<void> {
  await rm(directory, { recursive: true, force: true });
  await rm(directory + syncPointSuffix, { force: true });
}

writeAheadLogContract('FileWriteAheadLog', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'tributary-wal-'));
  const files = new DirectorySegmentFiles(directory);
  const { openFile, probe } = probedOpen();
  return {
    // FileWriteAheadLog's files, opened through the probe (the kernel's flags are checked).
    open: (options = {}) =>
      new SegmentedWriteAheadLog(new DirectorySegmentFiles(directory, 16, openFile), options),
    truncate: (segmentId, length) => truncate(files.pathOf(segmentId), length),
    appendBytes: (segmentId, bytes) => appendFile(files.pathOf(segmentId), bytes),
    durability: probe,
    flip: async (segmentId, position) => {
      const handle = await open(files.pathOf(segmentId), 'r+');
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, position);
      byte[0] = (byte[0] ?? 0) ^ 0xff;
      await handle.write(byte, 0, 1, position);
      await handle.close();
    },
    cleanup: () => removeWalDirectory(directory),
  };
});

writeAheadLogContract('MemoryWriteAheadLog', () => {
  const segments = new ProbedMemorySegmentFiles();
  return Promise.resolve({
    open: (options = {}) => new MemoryWriteAheadLog(options, segments),
    truncate: (segmentId, length) => segments.truncate(segmentId, length),
    appendBytes: async (segmentId, bytes) => {
      const end = (await segments.readAll(segmentId)).length;
      const writer = await segments.openForWrite(segmentId);
      await writer.writev([bytes], end);
      await writer.sync();
    },
    durability: segments.probe,
    flip: (segmentId, position) => {
      segments.flipByte(segmentId, position);
      return Promise.resolve();
    },
    cleanup: () => Promise.resolve(),
  });
});

/** Counts syncs and holds each one until released, to observe group commit. */
class GatedFiles extends MemorySegmentFiles {
  syncs = 0;
  writes: number[] = [];
  gate: Promise<void> = Promise.resolve();
  /** When set, each sync first waits a macrotask (so a crash can land between write and sync). */
  slowSync = false;
  /** After a simulated power loss the old process is gone: its I/O fails. */
  dead = false;

  /** Syncs of segment 1 only (the WAL also syncs the next segment it prepares ahead). */
  firstSegmentSyncs = 0;

  override async create(segmentId: number): Promise<SegmentWriter> {
    return this.#wrap(await super.create(segmentId), segmentId);
  }

  #wrap(writer: SegmentWriter, segmentId: number): SegmentWriter {
    return {
      writev: (buffers, position) => {
        if (this.dead) return Promise.reject(new Error('process is dead'));
        this.writes.push(buffers.length);
        return writer.writev(buffers, position);
      },
      sync: async () => {
        this.syncs += 1;
        if (segmentId === 1) this.firstSegmentSyncs += 1;
        await this.gate;
        if (this.slowSync) await new Promise((resolve) => setImmediate(resolve));
        if (this.dead) throw new Error('process is dead');
        return writer.sync();
      },
      close: () => writer.close(),
    };
  }
}

const topicId = newTopicId();
const append = (wal: SegmentedWriteAheadLog, label: string) => {
  const batch = fakeBatch(label);
  return wal.append({ topicId, partition: 0, baseOffset: 0n, meta: metaOf(batch), batch });
};

/** Appends `count` batches of 60 bytes, one after the other, at offsets 0..count-1. */
async function appendNumbered(wal: SegmentedWriteAheadLog, label: string, count: number) {
  const infos = [];
  for (let i = 0; i < count; i++) {
    const batch = fakeBatch(`${label}${i}`, 1, 60);
    const baseOffset = BigInt(i);
    infos.push(await wal.append({ topicId, partition: 0, baseOffset, meta: metaOf(batch), batch }));
  }
  return infos;
}

describe('SegmentedWriteAheadLog group commit', () => {
  it('writes everything queued during a sync in one writev, resolved after the next sync', async () => {
    const files = new GatedFiles();
    const wal = new SegmentedWriteAheadLog(files);
    await wal.start(1);
    const syncsAtStart = files.firstSegmentSyncs;
    const { promise: gate, resolve: release } = Promise.withResolvers<void>();
    files.gate = gate;
    const first = append(wal, 'first');
    await new Promise((resolve) => setImmediate(resolve));
    let resolved = 0;
    const rest = Array.from({ length: 10 }, (_, i) => append(wal, `r${i}`).then(() => resolved++));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(resolved, 0, 'nothing resolves before its sync');
    files.gate = Promise.resolve();
    release();
    await first;
    await Promise.all(rest);
    assert.equal(
      files.firstSegmentSyncs - syncsAtStart,
      2,
      'one sync for the first, one for the rest',
    );
    // Two buffers per entry (frame head, then the batch itself).
    assert.equal(files.writes.at(-1), 20, 'the ten queued entries went out in one writev');
    await wal.close();
  });

  it('fails pending and later appends after a sync error', async () => {
    const files = new GatedFiles();
    const wal = new SegmentedWriteAheadLog(files);
    await wal.start(1);
    files.gate = Promise.reject(new Error('EIO'));
    files.gate.catch(() => undefined);
    await assert.rejects(append(wal, 'a'), { code: 'STORAGE_FAILURE' });
    await assert.rejects(append(wal, 'b'), { code: 'STORAGE_FAILURE' });
    await wal.close();
  });
});

describe('SegmentedWriteAheadLog power loss', () => {
  it('keeps every acknowledged entry when unsynced bytes vanish (torn at random)', async () => {
    let lostSome = false;
    for (let round = 0; round < 30; round++) {
      const segments = new GatedFiles();
      segments.slowSync = true;
      const wal = new MemoryWriteAheadLog({ segmentMaxBytes: 2000 }, segments);
      await wal.start(1);
      const acked: bigint[] = [];
      const inFlight: Promise<unknown>[] = [];
      const crashAt = 5 + Math.floor(Math.random() * 30);
      // Appends arrive over several ticks; power fails at a random one of them.
      for (let i = 0; i < crashAt; i++) {
        const batch = fakeBatch(`p${i}`, 1, 50);
        const offset = BigInt(i);
        const appended = wal.append({
          topicId,
          partition: 0,
          baseOffset: offset,
          meta: metaOf(batch),
          batch,
        });
        inFlight.push(appended.then(() => acked.push(offset)));
        if (i % 3 === 0) await new Promise((r) => setImmediate(r));
      }
      segments.dead = true;
      const ackedAtCrash = [...acked];
      segments.crash((_, unsynced) => Math.floor(Math.random() * (unsynced + 1)));
      const reopened = new MemoryWriteAheadLog({}, segments);
      const recovered = await reopened.recover();
      const offsets = recovered.flatMap((s) => s.entries.map((e) => e.baseOffset));
      for (const offset of ackedAtCrash)
        assert.ok(offsets.includes(offset), `acked ${offset} lost`);
      assert.ok(ackedAtCrash.length < crashAt, 'the crash landed mid-stream');
      lostSome ||= offsets.length < crashAt;
      void Promise.allSettled(inFlight);
    }
    assert.ok(lostSome, 'some unacknowledged entries were lost, as a power loss does');
  });
});

describe('SegmentedWriteAheadLog rolls', () => {
  it('creates the next segment ahead, and recovery drops it while it holds no entry', async () => {
    const segments = new MemorySegmentFiles();
    const wal = new MemoryWriteAheadLog({ segmentMaxBytes: 300 }, segments);
    await wal.start(1);
    await appendNumbered(wal, 'n', 6);
    await wal.close();
    const ids = await segments.list();
    const used = ids.slice(0, -1);
    assert.ok(used.length >= 3, 'the appends rolled');
    // The newest segment was being written: a torn tail there (past the sync point) is cut,
    // not taken for corruption.
    const newest = used.at(-1) ?? 0;
    const end = (await segments.readAll(newest)).length;
    await (await segments.openForWrite(newest)).writev([Buffer.from([0, 0, 1, 0, 7])], end);
    const recovered = await new MemoryWriteAheadLog({}, segments).recover();
    assert.deepEqual(
      recovered.map((segment) => segment.segmentId),
      used,
    );
    assert.deepEqual(await segments.list(), used, 'the prepared segment is gone');
    assert.equal(recovered.flatMap((segment) => segment.entries).length, 6);
  });
});

describe('FileWriteAheadLog torn tails', () => {
  it('recovers exactly the whole entries before a cut at random points', async () => {
    const source = await mkdtemp(join(tmpdir(), 'tributary-torn-'));
    const wal = new FileWriteAheadLog(source);
    await wal.start(1);
    const ends: number[] = [];
    for (let i = 0; i < 40; i++) {
      const batch = fakeBatch(`torn${i}`, 1, i * 7);
      const offset = BigInt(i);
      const info = await wal.append({
        topicId,
        partition: 0,
        baseOffset: offset,
        meta: metaOf(batch),
        batch,
      });
      ends.push(info.position + info.sizeBytes);
    }
    await wal.close();
    await wal.files.close();
    const files = new DirectorySegmentFiles(source);
    const bytes = await files.readAll(1);
    for (let round = 0; round < 25; round++) {
      const cut = Math.floor(Math.random() * bytes.length);
      const dir = await mkdtemp(join(tmpdir(), 'tributary-torn-cut-'));
      const copy = new DirectorySegmentFiles(dir);
      const writer = await copy.create(1);
      await writer.writev([bytes.subarray(0, cut)], 0);
      await writer.close();
      const recovered = await new FileWriteAheadLog(dir).recover();
      const expected = ends.filter((end) => end <= cut).length;
      assert.equal(recovered[0]?.entries.length ?? 0, expected, `cut at ${cut}`);
      const remaining = await copy.list();
      if (remaining.length > 0) {
        assert.equal((await copy.readAll(1)).length, recovered[0]?.endPosition, 'tail removed');
      }
      await copy.close();
      await removeWalDirectory(dir);
    }
    await files.close();
    await removeWalDirectory(source);
  });

  it('refuses a sealed segment with a bad entry, whatever follows', async () => {
    const segments = new MemorySegmentFiles();
    const wal = new MemoryWriteAheadLog({ segmentMaxBytes: 300 }, segments);
    await wal.start(1);
    const infos = await appendNumbered(wal, 's', 10);
    await wal.close();
    const lastOfFirst = infos.filter((info) => info.segmentId === 1).at(-1);
    assert.ok(lastOfFirst !== undefined && (await segments.list()).length > 1);
    segments.flipByte(1, lastOfFirst.position + 1);
    await assert.rejects(new MemoryWriteAheadLog({}, segments).recover(), { code: 'CORRUPT_DATA' });
  });
});

/** Memory segments whose writes fail on demand, after writing part of the group (a full disk). */
class FaultyFiles extends MemorySegmentFiles {
  /** When set, the next writes write `afterBytes` bytes of the group, then throw `code`. */
  fault: { code: string; afterBytes: number } | undefined;
  failCreates = false;

  override async create(segmentId: number): Promise<SegmentWriter> {
    if (this.failCreates) throw errno('ENOSPC');
    return super.create(segmentId);
  }

  override async openForWrite(segmentId: number): Promise<SegmentWriter> {
    const writer = await super.openForWrite(segmentId);
    return {
      writev: async (buffers, position) => {
        const fault = this.fault;
        if (fault === undefined) return writer.writev(buffers, position);
        const bytes = Buffer.concat(buffers);
        await writer.writev(
          [bytes.subarray(0, Math.min(bytes.length, fault.afterBytes))],
          position,
        );
        throw errno(fault.code);
      },
      sync: () => writer.sync(),
      close: () => writer.close(),
    };
  }
}

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected`), { code });
}

function recordingLog() {
  const lines: string[] = [];
  const record = (level: string) => (message: string) => lines.push(`${level} ${message}`);
  return { lines, log: { info: record('INFO'), warn: record('WARN'), error: record('ERROR') } };
}

const labelled = (wal: SegmentedWriteAheadLog, label: string, offset: number) => {
  const batch = fakeBatch(label, 1, 40);
  const baseOffset = BigInt(offset);
  return wal.append({ topicId, partition: 0, baseOffset, meta: metaOf(batch), batch });
};

async function recoveredLabels(files: MemorySegmentFiles): Promise<string[]> {
  const wal = new MemoryWriteAheadLog({}, files);
  const segments = await wal.recover();
  const labels: string[] = [];
  for (const entry of segments.flatMap((segment) => segment.entries)) {
    const bytes = await files.read(entry.segmentId, entry.position, entry.sizeBytes);
    labels.push(labelOf(bytes));
  }
  return labels;
}

describe('SegmentedWriteAheadLog on a full disk', () => {
  it('rolls back a partly written group, writes again once space returns, logs both once', async () => {
    const files = new FaultyFiles();
    const { lines, log } = recordingLog();
    let failures = 0;
    const wal = new SegmentedWriteAheadLog(files, { log, onFailure: () => failures++ });
    await wal.start(1);
    for (let i = 0; i < 3; i++) await labelled(wal, `ok${i}`, i);
    // The disk fills in the middle of a group: its first entry lands whole, the second in part.
    const first = await labelled(wal, 'probe', 3);
    files.fault = { code: 'ENOSPC', afterBytes: first.sizeBytes + 74 + 20 };
    const group = ['full0', 'full1', 'full2'].map((label, i) => labelled(wal, label, 4 + i));
    for (const pending of group) await assert.rejects(pending, { code: 'STORAGE_FAILURE' });
    await assert.rejects(labelled(wal, 'full3', 7), { code: 'STORAGE_FAILURE' });
    assert.equal(wal.stats().diskFull, true);
    files.fault = undefined;
    await labelled(wal, 'after', 8);
    await labelled(wal, 'after2', 9);
    assert.deepEqual(wal.stats(), { ...wal.stats(), diskFull: false, diskFullRejectedAppends: 4 });
    assert.equal(failures, 0, 'a full disk does not fail the log');
    assert.deepEqual(
      lines.map((line) => line.split(',')[0]),
      ['WARN write-ahead log: disk full', 'INFO write-ahead log: writing again after a full disk'],
    );
    await wal.close();
    // What a restart finds: exactly the acknowledged entries, none of the rejected ones.
    assert.deepEqual(await recoveredLabels(files), [
      'ok0',
      'ok1',
      'ok2',
      'probe',
      'after',
      'after2',
    ]);
  });

  it('rolls to the next segment once it can be created again', async () => {
    const files = new FaultyFiles();
    const wal = new SegmentedWriteAheadLog(files, { segmentMaxBytes: 400 });
    await wal.start(1);
    files.failCreates = true;
    let rejected = 0;
    for (let i = 0; i < 8; i++) await labelled(wal, `r${i}`, i).catch(() => rejected++);
    assert.ok(rejected > 0, 'the roll needed a new segment and the disk was full');
    files.failCreates = false;
    for (let i = 8; i < 12; i++) await labelled(wal, `r${i}`, i);
    await wal.close();
    const labels = await recoveredLabels(files);
    assert.deepEqual(labels.slice(-4), ['r8', 'r9', 'r10', 'r11']);
    assert.equal(labels.length, 12 - rejected);
  });
});

describe('SegmentedWriteAheadLog on an I/O error', () => {
  it('fails for good, says so once, and leaves no rejected entry behind', async () => {
    const files = new FaultyFiles();
    const { lines, log } = recordingLog();
    const failures: Error[] = [];
    const wal = new SegmentedWriteAheadLog(files, { log, onFailure: (e) => failures.push(e) });
    await wal.start(1);
    await labelled(wal, 'kept', 0);
    files.fault = { code: 'EIO', afterBytes: 200 };
    await assert.rejects(labelled(wal, 'lost', 1), { code: 'STORAGE_FAILURE' });
    files.fault = undefined;
    await assert.rejects(labelled(wal, 'later', 2), { code: 'STORAGE_FAILURE' });
    assert.equal(failures.length, 1);
    assert.equal(wal.stats().failed, true);
    assert.deepEqual(lines, ['ERROR write-ahead log failed; refusing every write until restarted']);
    await wal.close();
    assert.deepEqual(await recoveredLabels(files), ['kept']);
  });
});

describe('SegmentedWriteAheadLog damage to acknowledged data', () => {
  it('refuses a flipped byte anywhere in an acknowledged segment, never cuts it', async () => {
    const segments = new MemorySegmentFiles();
    const wal = new MemoryWriteAheadLog({}, segments);
    await wal.start(1);
    // Groups of 1 to 4 entries, the last group included: all acknowledged.
    let i = 0;
    while (i < 30) {
      const size = 1 + (i % 4);
      await Promise.all(Array.from({ length: size }, (_, k) => labelled(wal, `d${i + k}`, i + k)));
      i += size;
    }
    const written = i;
    await wal.close();
    const length = (await segments.readAll(1)).length;
    const positions = Array.from({ length: 200 }, () => Math.floor(Math.random() * length));
    for (const position of [...positions, length - 1, 0]) {
      segments.flipByte(1, position);
      await assert.rejects(
        new MemoryWriteAheadLog({}, segments).recover(),
        { code: 'CORRUPT_DATA' },
        `a flip at byte ${position} of ${length}`,
      );
      segments.flipByte(1, position);
    }
    assert.equal((await recoveredLabels(segments)).length, written, 'intact once restored');
  });
});
