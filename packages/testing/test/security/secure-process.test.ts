/**
 * The security settings through the real command line, on a broker process (`tributary start`):
 *
 * - `--listen` with several NAME://HOST:PORT listeners and --override for the protocol map, the
 *   PEM keystore and per-listener SASL settings; the start prints each listener;
 * - `tributary users add|list|delete` as processes (password from a file), then kcat
 *   authenticating with SCRAM-SHA-256 as that user, and refused once the user is deleted;
 * - SIGHUP re-reads the TLS files: after the server certificate files are replaced, a new TLS
 *   connection gets the new certificate (another serial number), with no restart;
 * - a bad security setting stops the start with exit code 2 and names the setting.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  cliMainPath,
  kcatPath,
  makeTestCertificates,
  runCommand,
  spawnBroker,
  tempDir,
  type SpawnedBroker,
  type TempDir,
  type TestCertificates,
} from '@tributary/testing';

let dir: TempDir;
let certs: TestCertificates;
let broker: SpawnedBroker;
const ports = new Map<string, number>();

before(async () => {
  dir = await tempDir('secure-process');
  certs = await makeTestCertificates(dir.path, []);
  const keystore = join(dir.path, 'live.keystore.pem');
  await copyFile(certs.server.keystore, keystore);
  broker = await spawnBroker({
    dataDir: join(dir.path, 'data'),
    listen: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0',
    args: [
      '--override',
      'ssl.keystore.location=' + keystore,
      '--override',
      'sasl.enabled.mechanisms=SCRAM-SHA-256',
    ],
  });
  for (const match of broker.stdout().matchAll(/listener (\S+) \(\S+\) on 127\.0\.0\.1:(\d+)/g)) {
    ports.set(match[1] ?? '', Number(match[2]));
  }
});

after(async () => {
  await broker?.stop();
  await dir?.remove();
});

async function tributary(args: string[], env: Record<string, string> = {}) {
  return runCommand(process.execPath, [cliMainPath, ...args], { timeoutMs: 30_000, env });
}

function kcatScram(password: string) {
  return runCommand(
    kcatPath,
    [
      '-b',
      `127.0.0.1:${ports.get('SASL_PLAINTEXT')}`,
      '-X',
      'security.protocol=SASL_PLAINTEXT',
      '-X',
      'sasl.mechanisms=SCRAM-SHA-256',
      '-X',
      'sasl.username=erin',
      '-X',
      `sasl.password=${password}`,
      '-L',
      '-m',
      '5',
    ],
    { timeoutMs: 30_000 },
  );
}

test('the start prints every listener', () => {
  assert.deepEqual([...ports.keys()].toSorted(), ['PLAINTEXT', 'SASL_PLAINTEXT', 'SSL']);
});

test('tributary users add, list and delete, and kcat logs in as the user', async () => {
  const bootstrap = `127.0.0.1:${ports.get('PLAINTEXT')}`;
  const passwordFile = join(dir.path, 'erin.password');
  await writeFile(passwordFile, 'erin-secret\n');
  const added = await tributary([
    'users',
    'add',
    'erin',
    '--password-file',
    passwordFile,
    '--mechanism',
    'SCRAM-SHA-256',
    '--bootstrap',
    bootstrap,
  ]);
  assert.equal(added.code, 0, added.stderr);
  const listed = await tributary(['users', 'list', '--bootstrap', bootstrap]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /erin\s+SCRAM-SHA-256\s+8192/);
  assert.doesNotMatch(listed.stdout, /erin-secret/);
  const loggedIn = await kcatScram('erin-secret');
  assert.equal(loggedIn.code, 0, loggedIn.stderr);
  const wrong = await kcatScram('erin-wrong');
  assert.notEqual(wrong.code, 0);
  const deleted = await tributary(['users', 'delete', 'erin', '--bootstrap', bootstrap]);
  assert.equal(deleted.code, 0, deleted.stderr);
  const afterDelete = await kcatScram('erin-secret');
  assert.notEqual(afterDelete.code, 0);
  const failures = broker
    .stderr()
    .split('\n')
    .filter((line) => line.includes('authentication failed') && line.includes('erin'));
  assert.ok(failures.some((line) => line.includes('wrong password')));
  assert.ok(failures.some((line) => line.includes('unknown user')));
  assert.ok(failures.every((line) => !line.includes('erin-wrong')));
  const usage = await tributary(['users', 'add', 'erin']);
  assert.equal(usage.code, 2);
});

/** The serial number of the certificate the SSL listener presents to a new connection. */
function serialOfServer(): Promise<string> {
  return new Promise((resolve, reject) => {
    const port = ports.get('SSL') ?? 0;
    // Only the serial matters here; the renewed certificate comes from another test CA.
    const socket = connectTls({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}

test('SIGHUP re-reads the TLS certificate files', async () => {
  const first = await serialOfServer();
  const renewedDir = join(dir.path, 'renewed');
  await mkdir(renewedDir);
  const renewed = await makeTestCertificates(renewedDir, []);
  await writeFile(join(dir.path, 'live.keystore.pem'), await readFile(renewed.server.keystore));
  process.kill(broker.pid, 'SIGHUP');
  let serial = first;
  for (let attempt = 0; attempt < 50 && serial === first; attempt++) {
    await sleep(100);
    serial = await serialOfServer();
  }
  assert.notEqual(serial, first);
  assert.equal(broker.alive(), true);
  assert.match(broker.stderr(), /TLS certificates reloaded/);
});

test('a bad security setting stops the start with exit code 2', async () => {
  const result = await tributary([
    'start',
    '--data-dir',
    join(dir.path, 'unused'),
    '--override',
    'ssl.client.auth=maybe',
  ]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /ssl\.client\.auth/);
});
