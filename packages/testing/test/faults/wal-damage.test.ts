/**
 * WAL damage at the tail (issue 13 point 3, RELIABILITY.md §5.4 F9, docs/adr/0014): a broker
 * process acknowledges ten records (one kcat run each, so ten write groups), then its newest WAL
 * segment is damaged while it is down.
 *
 * - A byte flipped in, or a few bytes cut from, the last acknowledged entry: that entry was
 *   synced (the sync point says so), so the broker refuses to start, naming the segment and the
 *   byte; once the file is restored it starts with all ten records.
 * - Half an entry after the acknowledged ones (a write a crash tore): cut at start, logged with
 *   its file, bytes and records, counted on /metrics; all ten records are there.
 */
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  RestartableBroker,
  kcatPath,
  printedMetricsUrl,
  runCommand,
  scrapeMetric,
  type SpawnedBroker,
} from '../../src/index.ts';

const topic = 'wal-damage';
const kcatTimeoutMs = 30_000;
const records = Array.from({ length: 10 }, (_, i) => `acked-${i}`);

const dataDir = mkdtempSync(join(tmpdir(), 'tributary-wal-damage-'));
const broker = new RestartableBroker({
  dataDir,
  args: [
    '--override',
    'auto.create.topics.enable=true',
    '--override',
    'num.partitions=1',
    '--metrics-listen',
    '127.0.0.1:0',
  ],
});

after(async () => {
  await broker.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

async function kcat(args: readonly string[], input?: string): Promise<string> {
  const options = { timeoutMs: kcatTimeoutMs, ...(input === undefined ? {} : { input }) };
  const run = await runCommand(kcatPath, ['-b', broker.bootstrap, ...args], options);
  assert.equal(run.code, 0, `kcat ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

async function readAll(): Promise<string[]> {
  const out = await kcat(['-C', '-t', topic, '-e', '-o', 'beginning', '-q', '-f', '%s\\n']);
  return out.split('\n').filter((line) => line !== '');
}

/** The newest WAL segment holding entries, and where its last frame starts. */
function lastEntry(): { path: string; data: Buffer; start: number } {
  const wal = join(dataDir, 'wal');
  const segments = readdirSync(wal)
    .filter((name) => name.endsWith('.wal'))
    .toSorted()
    .map((name) => ({ path: join(wal, name), data: readFileSync(join(wal, name)) }));
  // The segment prepared ahead holds only its 30-byte header frame.
  const used = segments.filter((segment) => segment.data.length > 30).at(-1);
  assert.ok(used !== undefined, 'a WAL segment holds the records');
  let start = 0;
  for (let at = 0; at < used.data.length; at += 8 + used.data.readUInt32BE(at)) start = at;
  return { ...used, start };
}

async function metric(running: SpawnedBroker, name: string): Promise<number> {
  const value = await scrapeMetric(printedMetricsUrl(running), name);
  assert.ok(value !== undefined, `no ${name} in /metrics`);
  return value;
}

test('damage to the last acknowledged WAL entry is refused; a torn tail is cut, logged, counted', async (t) => {
  const first = await broker.start();
  for (const value of records) {
    await kcat(['-P', '-t', topic, '-p', '0', '-X', 'acks=all'], `${value}\n`);
  }
  assert.equal((await first.stop()).code, 0);
  const { path, data, start } = lastEntry();
  assert.ok(data.subarray(start).includes('acked-9'), 'the last frame is the last record');

  // A flipped byte inside the last acknowledged entry.
  const flipped = Buffer.from(data);
  flipped[data.length - 3] = (flipped[data.length - 3] ?? 0) ^ 0x40;
  writeFileSync(path, flipped);
  await assert.rejects(broker.start(), /WAL segment \d+ is corrupt at byte \d+/);
  // Cut short, as a truncation would leave it.
  truncateSync(path, data.length - 5);
  await assert.rejects(broker.start(), /WAL segment \d+ is corrupt at byte \d+/);

  // The operator restores the file: everything is back.
  writeFileSync(path, data);
  const restored = await broker.start();
  assert.deepEqual(await readAll(), records);
  assert.equal(await metric(restored, 'tributary_wal_torn_tails_cut_total'), 0);
  // (Recovered segments become objects: one more record puts an entry in a new segment.)
  await kcat(['-P', '-t', topic, '-p', '0', '-X', 'acks=all'], 'acked-10\n');
  await restored.kill();

  // A write torn by a crash, after the acknowledged entries: part of a copy of the last frame.
  const current = lastEntry();
  const torn = current.data.subarray(current.start, current.start + 60);
  writeFileSync(current.path, Buffer.concat([current.data, torn]));
  const afterCrash = await broker.start();
  assert.deepEqual(await readAll(), [...records, 'acked-10']);
  const line = afterCrash
    .stderr()
    .split('\n')
    .find((text) => text.includes('cut a torn tail'));
  assert.ok(line !== undefined, `no torn-tail line in:\n${afterCrash.stderr()}`);
  const cut = JSON.parse(line) as Record<string, unknown>;
  assert.match(String(cut['file']), new RegExp(`${current.path.split('/').at(-1) ?? ''}$`));
  assert.equal(cut['bytes'], 60);
  assert.equal(cut['records'], 1);
  assert.equal(await metric(afterCrash, 'tributary_wal_torn_tails_cut_total'), 1);
  assert.equal(await metric(afterCrash, 'tributary_wal_torn_tail_bytes_cut_total'), 60);
  t.diagnostic(line);
});
