/**
 * An in-process broker with one listener of each kind for the security tests, and what the
 * tests need around it: test certificates (openssl), a JWKS file and signed JWTs (jose), SCRAM
 * users made with `tributary users add` (the CLI, over the PLAINTEXT listener), and the broker's
 * log lines, so a test can check that a refusal was logged.
 *
 * Listeners: PLAINTEXT; SASL_PLAINTEXT (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER); SSL with
 * ssl.client.auth=requested; MTLS (a custom name mapped to SSL) with required client
 * certificates; SASL_SSL (SCRAM-SHA-512 and PLAIN only); REAUTH (SASL_PLAINTEXT with
 * connections.max.reauth.ms). Client certificate subjects `CN=<name>,OU=eng,O=Tributary` map to
 * `User:<name>` by ssl.principal.mapping.rules.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import {
  resolveStaticSettings,
  startBroker,
  type Logger,
  type RunningBroker,
} from '@tributary/broker';
import { runUsersCommand } from '@tributary/cli';
import { makeTestCertificates, type TestCertificates } from '@tributary/testing';

export const plainUsers = { alice: 'alice-secret', carol: 'carol-secret' } as const;
export const scramUsers = { bob: 'bob-secret', dave: 'dave-secret' } as const;
export const issuer = 'https://issuer.tributary.test';
export const audience = 'tributary';
export const reauthMs = 4000;
const jaas = (users: Record<string, string>): string =>
  'org.apache.kafka.common.security.plain.PlainLoginModule required ' +
  Object.entries(users)
    .map(([name, password]) => `user_${name}="${password}"`)
    .join(' ') +
  ';';

export interface SecureBroker {
  readonly broker: RunningBroker;
  readonly certs: TestCertificates;
  readonly logs: string[];
  port(listener: string): number;
  /** A JWT signed by the JWKS key; `claims` override sub/iss/aud/exp. */
  token(claims?: Record<string, unknown>, signer?: 'trusted' | 'untrusted'): Promise<string>;
  /** The log lines (`LEVEL message key=value...`) containing every one of `parts`. */
  logged(...parts: string[]): string[];
}

export async function startSecureBroker(dir: string): Promise<SecureBroker> {
  const certs = await makeTestCertificates(dir, ['alice', 'svc-orders']);
  const trusted = await generateKeyPair('RS256');
  const untrusted = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(trusted.publicKey)), kid: 'test-key', alg: 'RS256' };
  const jwksPath = join(dir, 'jwks.json');
  await writeFile(jwksPath, JSON.stringify({ keys: [jwk] }));
  const settings = resolveStaticSettings({
    env: {},
    overrides: Object.entries(settingsOf(certs, pathToFileURL(jwksPath).href)).map(
      ([key, value]) => ({ key, value, origin: '--override' }),
    ),
  });
  const logs: string[] = [];
  const logger = captureLogger(logs);
  const broker = await startBroker({ dataDir: join(dir, 'data'), settings, logger });
  const port = (name: string): number => {
    const found = broker.listeners.find((listener) => listener.name === name);
    if (found === undefined) throw new Error(`no listener ${name}`);
    return found.port;
  };
  await addScramUsers(`127.0.0.1:${port('PLAINTEXT')}`, dir);
  return {
    broker,
    certs,
    logs,
    port,
    token: (claims = {}, signer = 'trusted') =>
      signToken(signer === 'trusted' ? trusted.privateKey : untrusted.privateKey, claims),
    logged: (...parts) => logs.filter((line) => parts.every((part) => line.includes(part))),
  };
}

function settingsOf(certs: TestCertificates, jwksUrl: string): Record<string, string> {
  return {
    listeners:
      'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,' +
      'MTLS://127.0.0.1:0,SASL_SSL://127.0.0.1:0,REAUTH://127.0.0.1:0',
    'listener.security.protocol.map':
      'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,MTLS:SSL,SASL_SSL:SASL_SSL,' +
      'REAUTH:SASL_PLAINTEXT',
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': certs.server.keystore,
    'ssl.truststore.location': certs.caCert,
    'ssl.client.auth': 'requested',
    'listener.name.mtls.ssl.client.auth': 'required',
    'ssl.principal.mapping.rules': 'RULE:^CN=([^,]+),OU=eng,O=Tributary$/$1/L,DEFAULT',
    'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER',
    'listener.name.sasl_ssl.sasl.enabled.mechanisms': 'SCRAM-SHA-512,PLAIN',
    'listener.name.reauth.sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256',
    'listener.name.sasl_plaintext.plain.sasl.jaas.config': jaas(plainUsers),
    'listener.name.sasl_ssl.plain.sasl.jaas.config': jaas(plainUsers),
    'listener.name.reauth.plain.sasl.jaas.config': jaas(plainUsers),
    'listener.name.reauth.connections.max.reauth.ms': String(reauthMs),
    'sasl.oauthbearer.jwks.endpoint.url': jwksUrl,
    'sasl.oauthbearer.expected.issuer': issuer,
    'sasl.oauthbearer.expected.audience': audience,
    'connection.failed.authentication.delay.ms': '100',
  };
}

/** SCRAM users through the CLI, as an operator adds them (password from a file). */
async function addScramUsers(bootstrap: string, dir: string): Promise<void> {
  for (const [user, password] of Object.entries(scramUsers)) {
    const file = join(dir, `${user}.password`);
    await writeFile(file, `${password}\n`);
    const err: string[] = [];
    const code = await runUsersCommand(
      ['add', user, '--password-file', file, '--bootstrap', bootstrap],
      {
        out: () => undefined,
        err: (text) => err.push(text),
        env: {},
        nowMs: () => Date.now(),
      },
    );
    if (code !== 0) throw new Error(`tributary users add ${user}: ${err.join('')}`);
  }
}

async function signToken(key: CryptoKey, claims: Record<string, unknown>): Promise<string> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  return new SignJWT({
    sub: 'svc-billing',
    iss: issuer,
    aud: audience,
    exp: nowSeconds + 600,
    ...claims,
  })
    .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
    .setIssuedAt(nowSeconds - 5)
    .sign(key);
}

function captureLogger(logs: string[]): Logger {
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    const pairs = Object.entries(fields ?? {})
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${String(value)}`);
    logs.push([level, message, ...pairs].join(' '));
  };
  return { info: write('INFO'), warn: write('WARN'), error: write('ERROR') };
}
