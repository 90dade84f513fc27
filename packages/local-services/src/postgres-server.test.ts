import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startPostgresServer } from './postgres-server.ts';

const server = await startPostgresServer({ database: 'first' });
after(() => server.stop());

/** The first port of Linux's ephemeral range, which outgoing connections take theirs from. */
function ephemeralLow(): number {
  return Number(
    readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
  );
}

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
  // Below the ephemeral range, so no client's local port takes it while a restart is under way.
  assert.ok(server.port < ephemeralLow(), `port ${server.port} is below the ephemeral range`);
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

test('a cluster in a kept dir keeps its data across a stop and a start', async () => {
  const parent = await mkdtemp(join(tmpdir(), 'tributary-postgres-kept-'));
  // mkdtemp makes the dir private; as root, the server runs as `postgres` and must reach it.
  await chmod(parent, 0o755);
  try {
    const dir = join(parent, 'postgres');
    const first = await startPostgresServer({ dir, fsync: true });
    try {
      assert.equal(await first.psql('tributary', 'SHOW fsync'), 'on');
      await first.psql('tributary', "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('x')");
    } finally {
      await first.stop();
    }
    assert.equal(alive(first.pid), false);
    assert.ok(existsSync(join(dir, 'data', 'PG_VERSION')), 'stop keeps a given dir');
    const second = await startPostgresServer({ dir });
    try {
      assert.equal(await second.psql('tributary', 'SELECT v FROM kept'), 'x');
    } finally {
      await second.stop();
    }
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
});
