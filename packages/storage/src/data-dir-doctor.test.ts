import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { doctorDataDir } from './data-dir-doctor.ts';
import { LogStorage } from './log-storage.ts';
import { fakeBatch, metaOf } from './testing/fake-batch.ts';
import { requirePartition, withTempDir } from './testing/storage-fixtures.ts';

/** A data directory whose WAL holds three batches of topic `t` (labels a-1, b-2, c-3). */
async function writeWal(dataDir: string): Promise<string> {
  const storage = await LogStorage.open({ dataDir });
  await storage.createTopic({ name: 't', partitionCount: 1 });
  const log = requirePartition(storage, 't');
  for (const label of ['a-1', 'b-2', 'c-3']) {
    const batch = fakeBatch(label);
    await log.append(batch, metaOf(batch));
  }
  await storage.close();
  const wal = join(dataDir, 'wal');
  for (const name of await readdir(wal)) {
    if ((await readFile(join(wal, name))).includes('b-2')) return join(wal, name);
  }
  throw new Error('no WAL segment holds the batches');
}

describe('doctorDataDir', () => {
  it('reports a clean directory as clean', async () => {
    await withTempDir(async (dataDir) => {
      await writeWal(dataDir);
      const report = await doctorDataDir({ dataDir, skipDamaged: false });
      assert.deepEqual(report.damaged, []);
      assert.equal(report.batchesChecked, 3);
      assert.ok(report.segmentsChecked >= 1);
    });
  });

  it('reports damage inside acknowledged WAL data with its segment, byte and partition', async () => {
    await withTempDir(async (dataDir) => {
      const segment = await writeWal(dataDir);
      const bytes = await readFile(segment);
      const at = bytes.indexOf('b-2');
      bytes[at] = (bytes[at] ?? 0) ^ 0x01;
      await writeFile(segment, bytes);
      const report = await doctorDataDir({ dataDir, skipDamaged: true });
      assert.equal(report.damaged.length, 1, JSON.stringify(report.damaged, String));
      const [damage] = report.damaged;
      assert.match(damage?.file ?? '', /^wal\/\d{20}\.wal$/);
      assert.ok((damage?.position ?? 0) > 0 && (damage?.position ?? 0) < at);
      assert.equal(damage?.topic, 't');
      assert.equal(damage?.partition, 0);
      assert.match(damage?.reason ?? '', /corrupt at byte/);
      // WAL damage is reported, never skipped: the broker must not open over it.
      assert.deepEqual(report.skipped, []);
    });
  });
});
