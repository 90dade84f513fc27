/**
 * Authentication and TLS with kafkajs 2.2.4 (its own SASL and TLS code) against one broker with
 * a listener of each kind (secure-broker.ts):
 *
 * - SASL_PLAINTEXT with PLAIN (JAAS users), SCRAM-SHA-256 and SCRAM-SHA-512 (users stored by
 *   `tributary users add`), OAUTHBEARER with a JWT signed by the JWKS key: create a topic,
 *   produce, consume through a group, and the broker logs the principal it authenticated;
 * - SSL (server certificate checked against the test CA), mTLS on the MTLS listener (the
 *   certificate's subject mapped to User:alice), SASL_SSL with SCRAM-SHA-512;
 * - refusals, each with kafkajs's error and the broker's log line: a wrong password (PLAIN and
 *   SCRAM: SASL_AUTHENTICATION_FAILED, answered only after the failure delay), an unknown user,
 *   a mechanism the listener does not enable (UNSUPPORTED_SASL_MECHANISM), a client that skips
 *   SASL (its Metadata closes the connection), plaintext to a TLS port, no client certificate
 *   or one from another CA on the mTLS listener;
 * - KIP-368: kafkajs re-authenticates before connections.max.reauth.ms runs out and keeps
 *   producing on the REAUTH listener.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs, { type KafkaConfig, type SASLOptions } from 'kafkajs';
import { tempDir, type TempDir } from '@tributary/testing';
import {
  plainUsers,
  reauthMs,
  scramUsers,
  startSecureBroker,
  type SecureBroker,
} from './secure-broker.ts';

const { Kafka, logLevel } = kafkajs;
const connectionTimeoutMs = 5_000;

let dir: TempDir;
let secure: SecureBroker;

before(async () => {
  dir = await tempDir('kafkajs-security');
  secure = await startSecureBroker(dir.path);
});

after(async () => {
  await secure?.broker.close();
  await dir?.remove();
});

function client(listener: string, extra: Partial<KafkaConfig> = {}): InstanceType<typeof Kafka> {
  return new Kafka({
    clientId: `kafkajs-${listener.toLowerCase()}`,
    brokers: [`127.0.0.1:${secure.port(listener)}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: connectionTimeoutMs,
    retry: { retries: 0 },
    ...extra,
  });
}

function tls(certificate?: { key: string; cert: string }): ConnectionOptions {
  return {
    ca: [readFileSync(secure.certs.caCert, 'utf8')],
    servername: 'localhost',
    ...(certificate === undefined
      ? {}
      : {
          key: readFileSync(certificate.key, 'utf8'),
          cert: readFileSync(certificate.cert, 'utf8'),
        }),
  };
}

/** Creates a topic, produces three records and reads them back through a consumer group. */
async function roundTrip(kafka: InstanceType<typeof Kafka>, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer();
  await producer.connect();
  const values = ['one', 'two', 'three'].map((word) => `${topic}-${word}`);
  try {
    await producer.send({ topic, messages: values.map((value) => ({ value })) });
  } finally {
    await producer.disconnect();
  }
  const consumer = kafka.consumer({ groupId: `${topic}-group` });
  await consumer.connect();
  const seen: string[] = [];
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value?.toString() ?? '');
          if (seen.length === values.length) resolve();
        },
      });
    });
    await Promise.race([done, sleep(30_000)]);
  } finally {
    await consumer.disconnect();
  }
  assert.deepEqual(seen, values);
}

/** The error a kafkajs admin gets connecting; fails the test when it connects. */
async function connectError(kafka: InstanceType<typeof Kafka>): Promise<Error> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } catch (error: unknown) {
    return error as Error;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  assert.fail('the client was let in');
}

describe('SASL_PLAINTEXT', () => {
  const cases: [string, SASLOptions, string][] = [
    ['PLAIN', { mechanism: 'plain', username: 'alice', password: plainUsers.alice }, 'alice'],
    [
      'SCRAM-SHA-256',
      { mechanism: 'scram-sha-256', username: 'bob', password: scramUsers.bob },
      'bob',
    ],
    [
      'SCRAM-SHA-512',
      { mechanism: 'scram-sha-512', username: 'dave', password: scramUsers.dave },
      'dave',
    ],
  ];
  for (const [mechanism, sasl, user] of cases) {
    test(`${mechanism}: produce and consume as User:${user}`, async () => {
      await roundTrip(client('SASL_PLAINTEXT', { sasl }), `sasl-${mechanism.toLowerCase()}`);
      assert.ok(
        secure.logged('authenticated', `mechanism=${mechanism}`, `principal=User:${user}`).length >
          0,
      );
    });
  }

  test('OAUTHBEARER with a JWT signed by the JWKS key', async () => {
    const token = await secure.token({ sub: 'svc-billing' });
    const sasl: SASLOptions = {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => ({ value: token }),
    };
    await roundTrip(client('SASL_PLAINTEXT', { sasl }), 'sasl-oauthbearer');
    assert.ok(
      secure.logged('authenticated', 'mechanism=OAUTHBEARER', 'principal=User:svc-billing').length >
        0,
    );
  });

  test('a wrong password is SASL_AUTHENTICATION_FAILED, slowed, and logged', async () => {
    for (const sasl of [
      { mechanism: 'plain', username: 'alice', password: 'not-her-password' },
      { mechanism: 'scram-sha-256', username: 'bob', password: 'not-his-password' },
    ] as SASLOptions[]) {
      const started = performance.now();
      const error = await connectError(client('SASL_PLAINTEXT', { sasl }));
      assert.equal(error.name, 'KafkaJSSASLAuthenticationError', error.message);
      assert.match(error.message, /SASL_AUTHENTICATION_FAILED|Authentication failed/);
      // connection.failed.authentication.delay.ms=100: the answer waits at least that long.
      assert.ok(performance.now() - started >= 100);
    }
    assert.ok(secure.logged('authentication failed', 'mechanism=PLAIN', 'user="alice"').length > 0);
    assert.ok(
      secure.logged(
        'authentication failed',
        'mechanism=SCRAM-SHA-256',
        'user="bob"',
        'wrong password',
      ).length > 0,
    );
  });

  test('an unknown SCRAM user fails the same way', async () => {
    const sasl: SASLOptions = { mechanism: 'scram-sha-512', username: 'nobody', password: 'x' };
    const error = await connectError(client('SASL_PLAINTEXT', { sasl }));
    assert.equal(error.name, 'KafkaJSSASLAuthenticationError', error.message);
    assert.ok(secure.logged('authentication failed', 'user="nobody"', 'unknown user').length > 0);
  });

  test('a client that skips SASL is cut off at its first request', async () => {
    const error = await connectError(client('SASL_PLAINTEXT'));
    assert.notEqual(error.name, 'KafkaJSSASLAuthenticationError');
    assert.ok(secure.logged('closing connection', 'before SASL authentication').length > 0);
  });
});

describe('TLS', () => {
  test('SSL: the server certificate is checked, records go through', async () => {
    await roundTrip(client('SSL', { ssl: tls() }), 'tls-ssl');
  });

  test('mTLS: the client certificate names the principal', async () => {
    const alice = secure.certs.clients.get('alice');
    assert.ok(alice !== undefined);
    await roundTrip(client('MTLS', { ssl: tls(alice) }), 'tls-mtls');
    assert.ok(
      secure.logged('TLS client authenticated', 'listener=MTLS', 'principal=User:alice').length > 0,
    );
  });

  test('mTLS: no certificate, or one from another CA, is refused and logged', async () => {
    await connectError(client('MTLS', { ssl: tls() }));
    await connectError(client('MTLS', { ssl: tls(secure.certs.untrustedClient) }));
    assert.ok(secure.logged('TLS handshake failed', 'listener=MTLS').length >= 2);
  });

  test('plaintext sent to a TLS port is refused and logged', async () => {
    const earlier = secure.logged('TLS handshake failed', 'listener=SSL').length;
    await connectError(client('SSL'));
    assert.ok(secure.logged('TLS handshake failed', 'listener=SSL').length > earlier);
  });

  test('SASL_SSL: SCRAM-SHA-512 over TLS; OAUTHBEARER is not enabled there', async () => {
    const sasl: SASLOptions = {
      mechanism: 'scram-sha-512',
      username: 'bob',
      password: scramUsers.bob,
    };
    await roundTrip(client('SASL_SSL', { ssl: tls(), sasl }), 'tls-sasl-ssl');
    const oauth: SASLOptions = {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => ({ value: await secure.token() }),
    };
    const error = await connectError(client('SASL_SSL', { ssl: tls(), sasl: oauth }));
    assert.match(error.message, /does not support the requested SASL mechanism/);
    assert.ok(
      secure.logged('authentication failed', 'mechanism=OAUTHBEARER', 'not enabled').length > 0,
    );
  });
});

test('KIP-368: kafkajs re-authenticates within connections.max.reauth.ms and keeps going', async () => {
  const sasl: SASLOptions = { mechanism: 'plain', username: 'carol', password: plainUsers.carol };
  const kafka = client('REAUTH', { sasl, reauthenticationThreshold: 2000 });
  const producer = kafka.producer();
  await producer.connect();
  try {
    const deadline = Date.now() + reauthMs * 2.5;
    while (Date.now() < deadline) {
      await producer.send({ topic: 'reauth', messages: [{ value: 'tick' }] });
      await sleep(250);
    }
  } finally {
    await producer.disconnect();
  }
  const sessions = secure.logged('authenticated', 'listener=REAUTH', 'principal=User:carol');
  assert.ok(
    sessions.length >= 3,
    `only ${sessions.length} authentications:\n${sessions.join('\n')}`,
  );
  assert.ok(sessions.every((line) => line.includes(`sessionLifetimeMs=`)));
  assert.equal(secure.logged('closing connection', 'session expired').length, 0);
});
