/**
 * The SASL and listener rules at the wire, with the project's own KafkaConnection so every
 * request and version is chosen exactly (secure-broker.ts's listeners):
 *
 * - before authentication ApiVersions is answered and Metadata closes the connection;
 * - SaslHandshake for a mechanism the listener does not enable: UNSUPPORTED_SASL_MECHANISM with
 *   the enabled list, then the connection closes;
 * - SaslAuthenticate without a handshake: ILLEGAL_SASL_STATE; SASL on a PLAINTEXT listener:
 *   ILLEGAL_SASL_STATE, and the connection stays usable;
 * - a frame over sasl.server.max.receive.size (512 KiB) before authentication closes the
 *   connection without the broker buffering it;
 * - KIP-368: SaslAuthenticate v1 returns session_lifetime_ms = connections.max.reauth.ms, and a
 *   request after the session ends, without re-authentication, closes the connection; a
 *   re-authentication as the same user on the same connection keeps it open;
 * - Metadata names the listener the client connected to (its own port on each listener);
 * - TLS 1.1 is refused on a TLS listener;
 * - `tributary users list` reaches a SASL_SSL listener with a Kafka client config file.
 */
import assert from 'node:assert/strict';
import { connect as connectTcp } from 'node:net';
import { readFileSync } from 'node:fs';
import { connect as connectTls } from 'node:tls';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KafkaConnection, runUsersCommand } from '@tributary/cli';
import {
  ErrorCode,
  apiVersionsApi,
  metadataApi,
  saslAuthenticateApi,
  saslHandshakeApi,
} from '@tributary/protocol';
import { tempDir, type TempDir } from '@tributary/testing';
import {
  plainUsers,
  reauthMs,
  scramUsers,
  startSecureBroker,
  type SecureBroker,
} from './secure-broker.ts';

let dir: TempDir;
let secure: SecureBroker;

before(async () => {
  dir = await tempDir('sasl-wire');
  secure = await startSecureBroker(dir.path);
});

after(async () => {
  await secure?.broker.close();
  await dir?.remove();
});

function open(listener: string): Promise<KafkaConnection> {
  return KafkaConnection.connect(
    { host: '127.0.0.1', port: secure.port(listener) },
    { requestTimeoutMs: 10_000 },
  );
}

const plainToken = (user: string, password: string): Buffer =>
  Buffer.from(`\u0000${user}\u0000${password}`, 'utf8');

async function closedBy(connection: KafkaConnection): Promise<string> {
  try {
    await connection.request(metadataApi, 4, { topics: null, allowAutoTopicCreation: false });
  } catch (error: unknown) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    connection.close();
  }
  assert.fail('Metadata was answered');
}

test('before authentication: ApiVersions answered, Metadata closes the connection', async () => {
  const connection = await open('SASL_PLAINTEXT');
  const versions = await connection.request(apiVersionsApi, 3, {
    clientSoftwareName: 'wire-test',
    clientSoftwareVersion: '1',
  });
  assert.equal(versions.errorCode, ErrorCode.NONE);
  assert.ok(versions.apiKeys.some((range) => range.apiKey === saslHandshakeApi.apiKey));
  assert.match(await closedBy(connection), /connection closed/);
  assert.ok(secure.logged('closing connection', 'request (API key 3) before SASL').length > 0);
});

test('an unknown mechanism gets the enabled list, then the connection closes', async () => {
  const connection = await open('SASL_PLAINTEXT');
  const answer = await connection.request(saslHandshakeApi, 1, { mechanism: 'GSSAPI' });
  assert.equal(answer.errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM);
  assert.deepEqual(answer.mechanisms, ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER']);
  assert.match(await closedBy(connection), /connection closed/);
});

test('SaslAuthenticate without a handshake is ILLEGAL_SASL_STATE', async () => {
  const connection = await open('SASL_PLAINTEXT');
  const answer = await connection.request(saslAuthenticateApi, 1, {
    authBytes: plainToken('alice', plainUsers.alice),
  });
  assert.equal(answer.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
  assert.match(await closedBy(connection), /connection closed/);
});

test('SASL on a PLAINTEXT listener is ILLEGAL_SASL_STATE and changes nothing', async () => {
  const connection = await open('PLAINTEXT');
  try {
    const handshake = await connection.request(saslHandshakeApi, 1, { mechanism: 'PLAIN' });
    assert.equal(handshake.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    const metadata = await connection.request(metadataApi, 4, {
      topics: null,
      allowAutoTopicCreation: false,
    });
    assert.equal(metadata.brokers[0]?.port, secure.port('PLAINTEXT'));
  } finally {
    connection.close();
  }
});

test('a pre-authentication frame over 512 KiB closes the connection', async () => {
  const port = secure.port('SASL_PLAINTEXT');
  const closed = await new Promise<boolean>((resolve) => {
    const socket = connectTcp({ host: '127.0.0.1', port }, () => {
      const size = Buffer.alloc(4);
      size.writeInt32BE(512 * 1024 + 1, 0);
      socket.write(size);
    });
    socket.on('close', () => resolve(true));
    socket.on('error', () => undefined);
    setTimeout(() => resolve(false), 10_000).unref();
  });
  assert.equal(closed, true);
  assert.ok(secure.logged('closing connection', 'sasl.server.max.receive.size').length > 0);
});

async function authenticate(connection: KafkaConnection, user: string, password: string) {
  const handshake = await connection.request(saslHandshakeApi, 1, { mechanism: 'PLAIN' });
  assert.equal(handshake.errorCode, ErrorCode.NONE);
  return connection.request(saslAuthenticateApi, 1, { authBytes: plainToken(user, password) });
}

test('KIP-368: the session lifetime is told, and a lapsed session is closed', async () => {
  const connection = await open('REAUTH');
  const answer = await authenticate(connection, 'carol', plainUsers.carol);
  assert.equal(answer.errorCode, ErrorCode.NONE);
  assert.equal(answer.sessionLifetimeMs, BigInt(reauthMs));
  const metadata = await connection.request(metadataApi, 4, {
    topics: null,
    allowAutoTopicCreation: false,
  });
  assert.equal(metadata.brokers[0]?.port, secure.port('REAUTH'));
  await sleep(reauthMs + 500);
  assert.match(await closedBy(connection), /connection closed/);
  assert.ok(secure.logged('closing connection', 'session expired').length > 0);
});

test('KIP-368: re-authenticating on the same connection keeps it open', async () => {
  const connection = await open('REAUTH');
  try {
    assert.equal((await authenticate(connection, 'carol', plainUsers.carol)).errorCode, 0);
    await sleep(reauthMs / 2);
    assert.equal((await authenticate(connection, 'carol', plainUsers.carol)).errorCode, 0);
    await sleep(reauthMs / 2 + 500);
    const metadata = await connection.request(metadataApi, 4, {
      topics: null,
      allowAutoTopicCreation: false,
    });
    assert.equal(metadata.brokers.length, 1);
    const other = await authenticate(connection, 'alice', plainUsers.alice);
    assert.equal(other.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.match(other.errorMessage ?? '', /Cannot change principals/);
  } finally {
    connection.close();
  }
});

test('TLS 1.1 is refused on a TLS listener', async () => {
  const outcome = await new Promise<string>((resolve) => {
    const socket = connectTls({
      host: '127.0.0.1',
      port: secure.port('SSL'),
      ca: readFileSync(secure.certs.caCert),
      servername: 'localhost',
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
    });
    socket.on('secureConnect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (error) => resolve(error.message));
  });
  assert.notEqual(outcome, 'connected');
});

test('tributary users over SASL_SSL with a Kafka client config (--command-config)', async () => {
  const configOf = async (password: string): Promise<string> => {
    const path = join(dir.path, `users-${password}.properties`);
    const jaas =
      'org.apache.kafka.common.security.scram.ScramLoginModule required ' +
      `username="bob" password="${password}";`;
    await writeFile(
      path,
      [
        'security.protocol=SASL_SSL',
        `ssl.truststore.location=${secure.certs.caCert}`,
        'sasl.mechanism=SCRAM-SHA-512',
        `sasl.jaas.config=${jaas}`,
      ].join('\n'),
    );
    return path;
  };
  const run = async (config: string) => {
    const out: string[] = [];
    const err: string[] = [];
    const bootstrap = `localhost:${secure.port('SASL_SSL')}`;
    const code = await runUsersCommand(
      ['list', '--bootstrap', bootstrap, '--command-config', config],
      {
        out: (text) => out.push(text),
        err: (text) => err.push(text),
        env: {},
        nowMs: () => Date.now(),
      },
    );
    return { code, out: out.join(''), err: err.join('') };
  };
  const listed = await run(await configOf(scramUsers.bob));
  assert.equal(listed.code, 0, listed.err);
  assert.match(listed.out, /bob\s+SCRAM-SHA-512/);
  assert.match(listed.out, /dave\s+SCRAM-SHA-256/);
  const refused = await run(await configOf('not-bobs'));
  assert.equal(refused.code, 1);
  assert.match(refused.err, /SASL_AUTHENTICATION_FAILED/);
});
