/**
 * Authentication and TLS with librdkafka 2.0.2 (Debian's kcat 1.7.1 and python3-confluent-kafka
 * 1.7.0) against the listeners of secure-broker.ts:
 *
 * - kcat produces and consumes over SASL_PLAINTEXT with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512,
 *   over SSL checking the server certificate, with a client certificate on the mTLS listener
 *   (principal User:alice), and over SASL_SSL with SCRAM-SHA-512;
 * - refused: a wrong SCRAM password (librdkafka reports the broker's
 *   SASL_AUTHENTICATION_FAILED message), the mTLS listener without a client certificate;
 * - OAUTHBEARER through confluent-kafka's oauth_cb: a signed JWT lists topics; an expired one,
 *   or one signed by a key not in the JWKS, is refused (RFC 7628's error exchange, then
 *   SASL_AUTHENTICATION_FAILED) and the broker logs why.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { kcatPath, runCommand, systemPython, tempDir, type TempDir } from '@tributary/testing';
import { plainUsers, scramUsers, startSecureBroker, type SecureBroker } from './secure-broker.ts';

const kcatTimeoutMs = 60_000;
const oauthScript = fileURLToPath(new URL('python/oauth_client.py', import.meta.url));

let dir: TempDir;
let secure: SecureBroker;

before(async () => {
  dir = await tempDir('librdkafka-security');
  secure = await startSecureBroker(dir.path);
});

after(async () => {
  await secure?.broker.close();
  await dir?.remove();
});

function sasl(mechanism: string, user: string, password: string): string[] {
  return [
    '-X',
    `sasl.mechanisms=${mechanism}`,
    '-X',
    `sasl.username=${user}`,
    '-X',
    `sasl.password=${password}`,
  ];
}

function tls(certificate?: { key: string; cert: string }): string[] {
  const args = ['-X', `ssl.ca.location=${secure.certs.caCert}`];
  if (certificate !== undefined) {
    args.push('-X', `ssl.certificate.location=${certificate.cert}`);
    args.push('-X', `ssl.key.location=${certificate.key}`);
  }
  return args;
}

async function kcat(listener: string, protocol: string, args: string[], input?: string) {
  return runCommand(
    kcatPath,
    ['-b', `127.0.0.1:${secure.port(listener)}`, '-X', `security.protocol=${protocol}`, ...args],
    { timeoutMs: kcatTimeoutMs, ...(input === undefined ? {} : { input }) },
  );
}

/** Produces three lines with kcat and reads them back; asserts both steps. */
async function roundTrip(listener: string, protocol: string, security: string[], topic: string) {
  const lines = ['one', 'two', 'three'].map((word) => `${topic}-${word}`);
  const produced = await kcat(
    listener,
    protocol,
    [...security, '-P', '-t', topic],
    lines.join('\n') + '\n',
  );
  assert.equal(produced.code, 0, produced.stderr);
  const consumed = await kcat(listener, protocol, [
    ...security,
    '-C',
    '-t',
    topic,
    '-o',
    'beginning',
    '-e',
    '-q',
  ]);
  assert.equal(consumed.code, 0, consumed.stderr);
  assert.deepEqual(consumed.stdout.trim().split('\n'), lines);
}

describe('kcat', () => {
  test('SASL_PLAINTEXT with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512', async () => {
    await roundTrip(
      'SASL_PLAINTEXT',
      'SASL_PLAINTEXT',
      sasl('PLAIN', 'carol', plainUsers.carol),
      'kcat-plain',
    );
    await roundTrip(
      'SASL_PLAINTEXT',
      'SASL_PLAINTEXT',
      sasl('SCRAM-SHA-256', 'bob', scramUsers.bob),
      'kcat-scram-256',
    );
    await roundTrip(
      'SASL_PLAINTEXT',
      'SASL_PLAINTEXT',
      sasl('SCRAM-SHA-512', 'dave', scramUsers.dave),
      'kcat-scram-512',
    );
    for (const [mechanism, user] of [
      ['PLAIN', 'carol'],
      ['SCRAM-SHA-256', 'bob'],
      ['SCRAM-SHA-512', 'dave'],
    ]) {
      assert.ok(
        secure.logged('authenticated', `mechanism=${mechanism}`, `principal=User:${user}`).length >
          0,
      );
    }
  });

  test('a wrong SCRAM password is refused with the broker message, and logged', async () => {
    const result = await kcat('SASL_PLAINTEXT', 'SASL_PLAINTEXT', [
      ...sasl('SCRAM-SHA-512', 'dave', 'wrong-password'),
      '-L',
      '-m',
      '5',
    ]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /invalid credentials with SASL mechanism SCRAM-SHA-512/);
    assert.ok(
      secure.logged('authentication failed', 'mechanism=SCRAM-SHA-512', 'user="dave"').length > 0,
    );
  });

  test('SSL, mTLS and SASL_SSL', async () => {
    await roundTrip('SSL', 'SSL', tls(), 'kcat-ssl');
    const alice = secure.certs.clients.get('alice');
    assert.ok(alice !== undefined);
    await roundTrip('MTLS', 'SSL', tls(alice), 'kcat-mtls');
    assert.ok(
      secure.logged('TLS client authenticated', 'listener=MTLS', 'principal=User:alice').length > 0,
    );
    await roundTrip(
      'SASL_SSL',
      'SASL_SSL',
      [...tls(), ...sasl('SCRAM-SHA-512', 'bob', scramUsers.bob)],
      'kcat-sasl-ssl',
    );
  });

  test('the mTLS listener refuses a client without a certificate', async () => {
    const result = await kcat('MTLS', 'SSL', [...tls(), '-L', '-m', '5']);
    assert.notEqual(result.code, 0);
    assert.ok(secure.logged('TLS handshake failed', 'listener=MTLS').length > 0);
  });
});

describe('confluent-kafka OAUTHBEARER', () => {
  async function listTopics(token: string): Promise<{ ok: boolean; error?: string }> {
    const bootstrap = `127.0.0.1:${secure.port('SASL_PLAINTEXT')}`;
    const run = await runCommand(systemPython, [oauthScript, bootstrap, token, '10'], {
      timeoutMs: 60_000,
    });
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as {
      ok: boolean;
      error?: string;
    };
  }

  test('a signed JWT is accepted', async () => {
    const answer = await listTopics(await secure.token({ sub: 'svc-python' }));
    assert.equal(answer.ok, true, answer.error);
    assert.ok(
      secure.logged('authenticated', 'mechanism=OAUTHBEARER', 'principal=User:svc-python').length >
        0,
    );
  });

  test('an expired JWT, or one signed by another key, is refused and logged', async () => {
    const expired = await secure.token({
      sub: 'svc-late',
      exp: Math.floor(Date.now() / 1000) - 3600,
    });
    const refused = await listTopics(expired);
    assert.equal(refused.ok, false);
    assert.ok(
      secure.logged('authentication failed', 'mechanism=OAUTHBEARER', '"exp" claim').length > 0,
    );
    const forged = await listTopics(await secure.token({ sub: 'svc-forged' }, 'untrusted'));
    assert.equal(forged.ok, false);
    assert.ok(
      secure.logged('authentication failed', 'mechanism=OAUTHBEARER', 'signature').length > 0,
    );
  });
});
