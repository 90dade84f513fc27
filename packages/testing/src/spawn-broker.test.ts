import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RestartableBroker, spawnBroker, type SpawnedBroker } from './spawn-broker.ts';
import { tempDir, type TempDir } from './temp-dir.ts';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.toReversed()) await cleanup();
});

async function scratch(): Promise<TempDir> {
  const dir = await tempDir('spawn');
  cleanups.push(() => dir.remove());
  return dir;
}

function track(broker: SpawnedBroker): SpawnedBroker {
  cleanups.push(() => broker.kill());
  return broker;
}

test('spawnBroker starts the CLI on an ephemeral port and SIGTERM exits 0', async () => {
  const dir = await scratch();
  const broker = track(await spawnBroker({ dataDir: dir.path }));
  assert.ok(broker.port > 0);
  assert.equal(broker.bootstrap, `${broker.host}:${broker.port}`);
  await new Promise<void>((resolve, reject) => {
    const socket = connect(broker.port, broker.host, () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
  const exit = await broker.stop('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, broker.stderr());
});

test('spawnBroker fails with the process stderr when the broker cannot start', async () => {
  const dir = await scratch();
  const notADirectory = join(dir.path, 'file');
  await writeFile(notADirectory, 'not a directory');
  await assert.rejects(
    spawnBroker({ dataDir: notADirectory, readyTimeoutMs: 15_000 }),
    /broker did not start[\s\S]*stderr:/,
  );
});

test('RestartableBroker starts again on the same port with the same identity', async () => {
  const dir = await scratch();
  const broker = new RestartableBroker({ dataDir: dir.path });
  cleanups.push(() => broker.kill());
  const first = await broker.start();
  assert.ok(first.alive());
  assert.ok((first.rssBytes() ?? 0) > 0);
  await broker.kill();
  assert.equal(first.alive(), false);
  assert.equal(first.rssBytes(), undefined);
  const second = await broker.start();
  assert.notEqual(second.pid, first.pid);
  assert.equal(second.port, first.port);
  assert.equal(broker.bootstrap, first.bootstrap);
  assert.deepEqual([second.clusterId, second.nodeId], [first.clusterId, first.nodeId]);
});
