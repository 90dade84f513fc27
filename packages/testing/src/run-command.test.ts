import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { test } from 'node:test';
import { runCommand } from './run-command.ts';
import { tempDir } from './temp-dir.ts';

test('runCommand passes stdin and collects stdout, stderr and the exit code', async () => {
  const script =
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{' +
    'process.stdout.write(s.toUpperCase());process.stderr.write("e");process.exit(3)})';
  const result = await runCommand(process.execPath, ['-e', script], {
    input: 'hello',
    timeoutMs: 10_000,
  });
  assert.deepEqual(
    { stdout: result.stdout, stderr: result.stderr, code: result.code, timedOut: result.timedOut },
    { stdout: 'HELLO', stderr: 'e', code: 3, timedOut: false },
  );
});

test('runCommand kills a child that outlives its timeout', async () => {
  const started = Date.now();
  const result = await runCommand(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], {
    timeoutMs: 300,
  });
  assert.equal(result.timedOut, true);
  assert.equal(result.signal, 'SIGKILL');
  assert.ok(Date.now() - started < 10_000);
});

test('runCommand rejects when the command does not exist', async () => {
  await assert.rejects(runCommand('/nonexistent/tool', [], { timeoutMs: 1_000 }), /cannot run/);
});

test('tempDir creates a directory and removes it', async () => {
  const dir = await tempDir('kit');
  assert.ok((await stat(dir.path)).isDirectory());
  await dir.remove();
  await dir.remove();
  await assert.rejects(stat(dir.path), { code: 'ENOENT' });
});
