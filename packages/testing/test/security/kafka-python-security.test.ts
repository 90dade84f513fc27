/**
 * SASL/PLAIN with kafka-python 2.0.2 (Debian's python3-kafka), the one target client that sends
 * SaslHandshake v0 and then its token as a raw frame instead of SaslAuthenticate (CLIENTS.md
 * §3.8): the right password lists topics, a wrong one is refused and logged.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { runCommand, systemPython, tempDir, type TempDir } from '@tributary/testing';
import { plainUsers, startSecureBroker, type SecureBroker } from './secure-broker.ts';

const script = fileURLToPath(new URL('python/kafka_python_plain.py', import.meta.url));

let dir: TempDir;
let secure: SecureBroker;

before(async () => {
  dir = await tempDir('kafka-python-security');
  secure = await startSecureBroker(dir.path);
});

after(async () => {
  await secure?.broker.close();
  await dir?.remove();
});

async function listTopics(password: string): Promise<{ ok: boolean; error?: string }> {
  const bootstrap = `127.0.0.1:${secure.port('SASL_PLAINTEXT')}`;
  const run = await runCommand(systemPython, [script, bootstrap, 'carol', password], {
    timeoutMs: 90_000,
  });
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as {
    ok: boolean;
    error?: string;
  };
}

test('kafka-python: PLAIN over SaslHandshake v0 and raw frames', async () => {
  const answer = await listTopics(plainUsers.carol);
  assert.equal(answer.ok, true, answer.error);
  assert.ok(secure.logged('authenticated', 'mechanism=PLAIN', 'principal=User:carol').length > 0);
  const refused = await listTopics('not-carols');
  assert.equal(refused.ok, false);
  assert.ok(secure.logged('authentication failed', 'mechanism=PLAIN', 'user="carol"').length > 0);
});
