import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { startPostgresServer } from './postgres-server.ts';

const server = await startPostgresServer({ database: 'first' });
after(() => server.stop());

/** Whether `pid` runs: a zombie has ended (its reaper may be a PID 1 that never reaps). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

test('startPostgresServer serves the database of its URL on loopback', async () => {
  assert.match(server.url, /^postgres:\/\/tributary@127\.0\.0\.1:\d+\/first$/);
  assert.equal(server.url, `postgres://tributary@${server.host}:${server.port}/first`);
  assert.equal(await server.psql('first', 'SELECT current_database()'), 'first');
  const second = await server.createDatabase('second');
  assert.ok(second.endsWith('/second'));
  assert.equal(await server.psql('second', 'SELECT 40 + 2'), '42');
  await assert.rejects(server.createDatabase('Bad-Name'), /bad database name/);
  await assert.rejects(server.psql('first', 'SELECT * FROM missing'), /missing/);
});

test('stop ends a paused server, removes its directory and is a no-op the second time', async () => {
  const other = await startPostgresServer();
  const dataDir = await other.psql('tributary', 'SHOW data_directory');
  assert.ok(existsSync(dataDir));
  other.pause();
  await other.stop();
  assert.equal(alive(other.pid), false);
  assert.equal(existsSync(dataDir), false);
  await other.stop();
});
