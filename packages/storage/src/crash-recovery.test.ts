/**
 * Crash recovery with a real file WAL: a child process produces, is SIGKILLed mid-stream, and
 * every batch it saw acknowledged must be readable at its offset after reopening; offsets then
 * continue after the last one. Two rounds, so recovery of a recovered directory is covered too.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LogStorage } from './log-storage.ts';
import { fakeBatch, labelOf, metaOf } from './testing/fake-batch.ts';

const writer = join(import.meta.dirname, 'testing', 'crash-writer.ts');

interface Ack {
  partition: number;
  offset: bigint;
  label: string;
}

/** Runs the writer until it has printed `ackTarget` acknowledgements, then SIGKILLs it. */
function runAndKill(dataDir: string, round: number, ackTarget: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, dataDir, String(round)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acks: Ack[] = [];
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [partition, offset, label] = line.split(' ');
        if (label === undefined || partition === undefined || offset === undefined) continue;
        acks.push({ partition: Number(partition), offset: BigInt(offset), label });
      }
      if (acks.length >= ackTarget) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acks);
      else reject(new Error(`writer exited ${code}: ${stderr}`));
    });
  });
}

async function verify(dataDir: string, acks: readonly Ack[]): Promise<void> {
  const storage = await LogStorage.open({ dataDir, walSegmentMaxBytes: 16 * 1024 });
  try {
    const topic = storage.getTopic('crash');
    assert.ok(topic !== undefined);
    for (let partition = 0; partition < 3; partition++) {
      const log = storage.partition(topic.topicId, partition);
      assert.ok(log !== undefined);
      const batches = await log.read(0n, Number.MAX_SAFE_INTEGER);
      const byOffset = new Map(batches.map((b) => [b.readBigInt64BE(0), labelOf(b)]));
      const mine = acks.filter((ack) => ack.partition === partition);
      for (const ack of mine) {
        assert.equal(byOffset.get(ack.offset), ack.label, `partition ${partition} @${ack.offset}`);
      }
      const before = log.logEndOffset;
      const batch = fakeBatch('after-crash');
      const { baseOffset } = await log.append(batch, metaOf(batch));
      assert.equal(baseOffset, before, 'offsets continue after the last one');
    }
  } finally {
    await storage.close();
  }
}

describe('crash recovery (SIGKILL, file WAL)', () => {
  it('keeps every acknowledged batch at its offset across two kills', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tributary-crash-'));
    try {
      const all: Ack[] = [];
      for (let round = 0; round < 2; round++) {
        const acks = await runAndKill(dataDir, round, 1500);
        assert.ok(acks.length >= 1500);
        all.push(...acks);
        await verify(dataDir, all);
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('data directory lock', () => {
  it('refuses a directory a live process holds, and takes it over once that process died', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tributary-lock-'));
    try {
      const child = spawn(process.execPath, [writer, dataDir, '0'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('ready')) resolve();
        });
      });
      await assert.rejects(LogStorage.open({ dataDir }), /in use by process/);
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      const storage = await LogStorage.open({ dataDir });
      await storage.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
