// Consumer groups with python3-confluent-kafka (librdkafka 2.0.2): sharing partitions, commits
// that survive a broker restart, and partitions moving when a member leaves.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBroker } from '@tributary/broker';
import { clientCell, compatibilityScenarios, recordStep, tempDir } from '../../src/index.ts';
import { groupConsume, produceValues, startGroupBroker } from './group-helpers.ts';

const cell = () => clientCell('confluentKafka', compatibilityScenarios.classicGroup);

test('three members share six partitions and together read every record', (t) =>
  recordStep(t, cell, async () => {
    const dir = await tempDir('groups-share');
    t.after(() => dir.remove());
    const broker = await startBroker({ port: 0, dataDir: dir.path, quiet: true });
    try {
      const values = Array.from({ length: 120 }, (_, i) => `v${i}`);
      await produceValues(broker.bootstrap, 'shared', 6, values);
      const barrierDir = join(dir.path, 'barrier');
      await mkdir(barrierDir);
      const members = ['a', 'b', 'c'].map((name) =>
        groupConsume({
          bootstrap: broker.bootstrap,
          group: 'g-share',
          topic: 'shared',
          name,
          minRunMs: 4000,
          idleMs: 1500,
          barrierDir,
          members: 3,
        }),
      );
      const results = await Promise.all(members);
      const seen = new Set(results.flatMap((r) => r.records.map((record) => record.value)));
      assert.deepEqual([...seen].toSorted(), values.toSorted());
      const snapshots = results.map((r) => r.snapshot ?? []);
      for (const snapshot of snapshots) assert.equal(snapshot.length, 2, JSON.stringify(snapshots));
      assert.deepEqual(snapshots.flat().toSorted(), [0, 1, 2, 3, 4, 5]);
    } finally {
      await broker.close();
    }
  }));

test('committed offsets survive a restart and a new member resumes after them', (t) =>
  recordStep(t, cell, async () => {
    const dir = await tempDir('groups-restart');
    t.after(() => dir.remove());
    let broker = await startGroupBroker(dir.path);
    const first = Array.from({ length: 30 }, (_, i) => `first-${i}`);
    try {
      await produceValues(broker.bootstrap, 'resume', 3, first);
      const read = await groupConsume({
        bootstrap: broker.bootstrap,
        group: 'g-resume',
        topic: 'resume',
        name: 'one',
        idleMs: 1500,
      });
      assert.deepEqual(read.records.map((r) => r.value).toSorted(), first.toSorted());
    } finally {
      await broker.close();
    }
    broker = await startGroupBroker(dir.path);
    try {
      const second = Array.from({ length: 9 }, (_, i) => `second-${i}`);
      await produceValues(broker.bootstrap, 'resume', 3, second, false);
      const resumed = await groupConsume({
        bootstrap: broker.bootstrap,
        group: 'g-resume',
        topic: 'resume',
        name: 'two',
        idleMs: 1500,
      });
      assert.deepEqual(resumed.records.map((r) => r.value).toSorted(), second.toSorted());
    } finally {
      await broker.close();
    }
  }));

test('when a member leaves, its partitions move to the one that stays', (t) =>
  recordStep(t, cell, async () => {
    const dir = await tempDir('groups-leave');
    t.after(() => dir.remove());
    const broker = await startGroupBroker(dir.path);
    try {
      await produceValues(broker.bootstrap, 'moving', 4, ['x0', 'x1', 'x2', 'x3']);
      const staying = groupConsume({
        bootstrap: broker.bootstrap,
        group: 'g-leave',
        topic: 'moving',
        name: 'stays',
        minRunMs: 9000,
        idleMs: 500,
      });
      const leaving = groupConsume({
        bootstrap: broker.bootstrap,
        group: 'g-leave',
        topic: 'moving',
        name: 'leaves',
        minRunMs: 3500,
        idleMs: 500,
      });
      const [stays, leaves] = await Promise.all([staying, leaving]);
      assert.ok(
        stays.history.some((h) => h.assigned.length > 0 && h.assigned.length < 4),
        `the two members shared the partitions: ${JSON.stringify(stays.history)}`,
      );
      assert.ok((leaves.snapshot ?? []).length > 0, 'the leaving member had partitions');
      assert.deepEqual(stays.final, [0, 1, 2, 3]);
    } finally {
      await broker.close();
    }
  }));
