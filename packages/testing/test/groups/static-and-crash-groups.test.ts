// Static membership (KIP-345) with librdkafka 2.0.2, committed offsets across a broker SIGKILL,
// and a kafka-python 2.0.2 group (the oldest group protocol versions any target client sends).
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBroker } from '@tributary/broker';
import {
  clientCell,
  compatibilityScenarios,
  recordStep,
  spawnBroker,
  tempDir,
} from '../../src/index.ts';
import { groupConsume, produceValues } from './group-helpers.ts';

const confluentKafka = () => clientCell('confluentKafka', compatibilityScenarios.classicGroup);
const kafkaPython = () => clientCell('kafkaPython', compatibilityScenarios.classicGroup);

test('a static member restarting gets its partitions back without a rebalance', (t) =>
  recordStep(t, confluentKafka, async () => {
    const dir = await tempDir('groups-static');
    t.after(() => dir.remove());
    const broker = await startBroker({ port: 0, dataDir: dir.path, quiet: true });
    try {
      await produceValues(broker.bootstrap, 'static', 4, ['s0', 's1', 's2', 's3']);
      const barrierDir = join(dir.path, 'barrier');
      await mkdir(barrierDir);
      const common = { bootstrap: broker.bootstrap, group: 'g-static', topic: 'static' };
      const other = groupConsume({
        ...common,
        name: 'other',
        instanceId: 'pod-b',
        minRunMs: 14_000,
        idleMs: 500,
        barrierDir,
        members: 2,
      });
      const before = await groupConsume({
        ...common,
        name: 'pod-a-1',
        instanceId: 'pod-a',
        minRunMs: 3000,
        idleMs: 300,
        barrierDir,
        members: 2,
        crash: true,
      });
      const crashedAt = Date.now() / 1000;
      const after = await groupConsume({
        ...common,
        name: 'pod-a-2',
        instanceId: 'pod-a',
        minRunMs: 2500,
        idleMs: 300,
      });
      const restartedUntil = Date.now() / 1000;
      const stays = await other;
      assert.equal((before.snapshot ?? []).length, 2, JSON.stringify(before));
      assert.deepEqual(after.snapshot, before.snapshot);
      const rebalances = stays.history.filter((h) => h.t > crashedAt && h.t < restartedUntil);
      assert.deepEqual(rebalances, [], 'the other member saw no rebalance during the restart');
    } finally {
      await broker.close();
    }
  }));

test('committed offsets survive a broker SIGKILL', (t) =>
  recordStep(t, confluentKafka, async () => {
    const dir = await tempDir('groups-sigkill');
    t.after(() => dir.remove());
    let broker = await spawnBroker({ dataDir: dir.path });
    try {
      const first = Array.from({ length: 20 }, (_, i) => `before-${i}`);
      await produceValues(broker.bootstrap, 'killed', 2, first);
      const read = await groupConsume({
        bootstrap: broker.bootstrap,
        group: 'g-kill',
        topic: 'killed',
        name: 'one',
        idleMs: 1500,
      });
      assert.equal(read.records.length, first.length);
      const exit = await broker.kill();
      assert.equal(exit.signal, 'SIGKILL');
      broker = await spawnBroker({ dataDir: dir.path });
      const second = ['after-0', 'after-1', 'after-2', 'after-3'];
      await produceValues(broker.bootstrap, 'killed', 2, second, false);
      const resumed = await groupConsume({
        bootstrap: broker.bootstrap,
        group: 'g-kill',
        topic: 'killed',
        name: 'two',
        idleMs: 1500,
      });
      assert.deepEqual(resumed.records.map((r) => r.value).toSorted(), second.toSorted());
    } finally {
      await broker.stop();
    }
  }));

test('kafka-python members share a group and resume after their commits', (t) =>
  recordStep(t, kafkaPython, async () => {
    const dir = await tempDir('groups-kafka-python');
    t.after(() => dir.remove());
    const broker = await startBroker({ port: 0, dataDir: dir.path, quiet: true });
    try {
      const values = Array.from({ length: 40 }, (_, i) => `p${i}`);
      await produceValues(broker.bootstrap, 'kp', 4, values);
      const barrierDir = join(dir.path, 'barrier');
      await mkdir(barrierDir);
      const common = {
        bootstrap: broker.bootstrap,
        group: 'g-kp',
        topic: 'kp',
        client: 'kafka-python',
        minRunMs: 4000,
        idleMs: 1500,
        barrierDir,
        members: 2,
      } as const;
      const results = await Promise.all([
        groupConsume({ ...common, name: 'kp-a' }),
        groupConsume({ ...common, name: 'kp-b' }),
      ]);
      const seen = new Set(results.flatMap((r) => r.records.map((record) => record.value)));
      assert.deepEqual([...seen].toSorted(), values.toSorted());
      const snapshots = results.map((r) => r.snapshot ?? []);
      assert.deepEqual(snapshots.flat().toSorted(), [0, 1, 2, 3], JSON.stringify(snapshots));
      const more = ['q0', 'q1', 'q2', 'q3'];
      await produceValues(broker.bootstrap, 'kp', 4, more, false);
      const resumed = await groupConsume({
        bootstrap: broker.bootstrap,
        group: 'g-kp',
        topic: 'kp',
        name: 'kp-c',
        client: 'kafka-python',
        idleMs: 2000,
      });
      assert.deepEqual(resumed.records.map((r) => r.value).toSorted(), more.toSorted());
    } finally {
      await broker.close();
    }
  }));
