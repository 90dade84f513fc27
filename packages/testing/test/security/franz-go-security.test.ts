/**
 * Authentication and TLS with franz-go 1.22 (its kgo client and sasl/plain, sasl/scram,
 * sasl/oauth packages; go/cmd/franz-security) against the listeners of secure-broker.ts: each
 * run produces three records and reads them back. SASL_PLAINTEXT with PLAIN, SCRAM-SHA-256,
 * SCRAM-SHA-512 and OAUTHBEARER; SSL; mTLS (principal User:svc-orders); SASL_SSL with
 * SCRAM-SHA-512. Refused: a wrong password (SASL_AUTHENTICATION_FAILED), an expired JWT, no
 * SASL on the SASL listener, no client certificate on the mTLS listener; each logged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { franzSecurityCommand, runCommand, tempDir, type TempDir } from '@tributary/testing';
import { plainUsers, scramUsers, startSecureBroker, type SecureBroker } from './secure-broker.ts';

const runTimeoutMs = 60_000;

let dir: TempDir;
let secure: SecureBroker;

before(async () => {
  franzSecurityCommand(); // fails early when the Go drivers are not built
  dir = await tempDir('franz-go-security');
  secure = await startSecureBroker(dir.path);
});

after(async () => {
  await secure?.broker.close();
  await dir?.remove();
});

interface RunResult {
  readonly ok: boolean;
  readonly values: string[] | null;
  readonly error?: string;
}

async function franz(listener: string, topic: string, flags: string[]): Promise<RunResult> {
  const command = franzSecurityCommand();
  const bootstrap = `127.0.0.1:${secure.port(listener)}`;
  const run = await runCommand(
    command.command,
    [...command.args, '-bootstrap', bootstrap, '-topic', topic, '-timeout', '20s', ...flags],
    { timeoutMs: runTimeoutMs },
  );
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout.trim()) as RunResult;
}

function expectRoundTrip(result: RunResult, topic: string): void {
  assert.equal(result.ok, true, result.error);
  assert.deepEqual(
    result.values,
    ['one', 'two', 'three'].map((word) => `${topic}-${word}`),
  );
}

const login = (mechanism: string, user: string, password: string): string[] => [
  '-mechanism',
  mechanism,
  '-user',
  user,
  '-password',
  password,
];

describe('franz-go', () => {
  test('SASL_PLAINTEXT: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER', async () => {
    expectRoundTrip(
      await franz('SASL_PLAINTEXT', 'franz-plain', login('PLAIN', 'alice', plainUsers.alice)),
      'franz-plain',
    );
    expectRoundTrip(
      await franz('SASL_PLAINTEXT', 'franz-256', login('SCRAM-SHA-256', 'bob', scramUsers.bob)),
      'franz-256',
    );
    expectRoundTrip(
      await franz('SASL_PLAINTEXT', 'franz-512', login('SCRAM-SHA-512', 'dave', scramUsers.dave)),
      'franz-512',
    );
    const token = await secure.token({ sub: 'svc-go' });
    expectRoundTrip(
      await franz('SASL_PLAINTEXT', 'franz-oauth', ['-mechanism', 'OAUTHBEARER', '-token', token]),
      'franz-oauth',
    );
    assert.ok(secure.logged('authenticated', 'mechanism=OAUTHBEARER', 'User:svc-go').length > 0);
  });

  test('SSL, mTLS and SASL_SSL', async () => {
    const ca = ['-ca', secure.certs.caCert];
    expectRoundTrip(await franz('SSL', 'franz-ssl', ca), 'franz-ssl');
    const service = secure.certs.clients.get('svc-orders');
    assert.ok(service !== undefined);
    const mtls = [...ca, '-cert', service.cert, '-key', service.key];
    expectRoundTrip(await franz('MTLS', 'franz-mtls', mtls), 'franz-mtls');
    assert.ok(secure.logged('TLS client authenticated', 'listener=MTLS', 'svc-orders').length > 0);
    const scram = [...ca, ...login('SCRAM-SHA-512', 'bob', scramUsers.bob)];
    expectRoundTrip(await franz('SASL_SSL', 'franz-sasl-ssl', scram), 'franz-sasl-ssl');
  });

  test('refusals: wrong password, expired JWT, no SASL, no client certificate', async () => {
    const wrong = await franz('SASL_PLAINTEXT', 'franz-no', login('SCRAM-SHA-512', 'dave', 'bad'));
    assert.equal(wrong.ok, false);
    assert.match(wrong.error ?? '', /SASL_AUTHENTICATION_FAILED|invalid credentials/);
    const expired = await secure.token({ exp: Math.floor(Date.now() / 1000) - 60 });
    const late = await franz('SASL_PLAINTEXT', 'franz-no', [
      '-mechanism',
      'OAUTHBEARER',
      '-token',
      expired,
    ]);
    assert.equal(late.ok, false);
    assert.ok(secure.logged('authentication failed', 'mechanism=OAUTHBEARER', '"exp"').length > 0);
    const skipped = await franz('SASL_PLAINTEXT', 'franz-no', []);
    assert.equal(skipped.ok, false);
    assert.ok(secure.logged('closing connection', 'before SASL authentication').length > 0);
    const noCertificate = await franz('MTLS', 'franz-no', ['-ca', secure.certs.caCert]);
    assert.equal(noCertificate.ok, false);
    assert.ok(secure.logged('TLS handshake failed', 'listener=MTLS').length > 0);
  });
});
