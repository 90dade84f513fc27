/**
 * DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554) through
 * @platformatic/kafka's v0 request builders and parsers (no target client has an admin call for
 * them; these are the client's own codecs over its own connection). Credentials are stored as
 * Kafka stores them (salt, StoredKey, ServerKey, iterations: never a password), refused with
 * Kafka's codes and messages, and survive a restart.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  Connection,
  alterUserScramCredentialsV0,
  describeUserScramCredentialsV0,
} from '@platformatic/kafka';
import { startBroker, type RunningBroker } from '@tributary/broker';
import { tempDir, type TempDir } from '@tributary/testing';
import { answerOf } from './answer-of.ts';

const SHA_256 = 1;
const SHA_512 = 2;
const UNSUPPORTED_SASL_MECHANISM = 33;
const RESOURCE_NOT_FOUND = 91;
const DUPLICATE_RESOURCE = 92;
const UNACCEPTABLE_CREDENTIAL = 93;

let dataDir: TempDir;
let broker: RunningBroker;
let connection: Connection;

async function start(): Promise<void> {
  broker = await startBroker({ port: 0, host: '127.0.0.1', dataDir: dataDir.path, quiet: true });
  connection = new Connection('scram-test');
  await connection.connect(broker.host, broker.port);
}

async function stop(): Promise<void> {
  connection.close();
  await broker.close();
}

before(async () => {
  dataDir = await tempDir('scram');
  await start();
});

after(async () => {
  await stop();
  await dataDir.remove();
});

/** What a client sends for a password: a random salt and PBKDF2-HMAC of the password. */
function upsertion(name: string, mechanism: number, password: string, iterations: number) {
  const salt = randomBytes(16);
  const hash = mechanism === SHA_512 ? 'sha512' : 'sha256';
  const saltedPassword = pbkdf2Sync(password, salt, iterations, hash === 'sha512' ? 64 : 32, hash);
  return { name, mechanism, iterations, salt, saltedPassword };
}

function alter(
  deletions: { name: string; mechanism: number }[],
  upsertions: ReturnType<typeof upsertion>[],
) {
  return answerOf(alterUserScramCredentialsV0.api.async(connection, deletions, upsertions));
}

function describe(users: string[]) {
  return answerOf(
    describeUserScramCredentialsV0.api.async(
      connection,
      users.map((name) => ({ name })),
    ),
  );
}

function summary(results: readonly { user: string; errorCode: number; errorMessage: unknown }[]) {
  return results
    .map((result) => [result.user, result.errorCode, result.errorMessage])
    .toSorted((a, b) => String(a[0]).localeCompare(String(b[0])));
}

test('credentials are stored as StoredKey and ServerKey, and described without them', async () => {
  const alice = upsertion('alice', SHA_256, 'alice-secret', 4096);
  const alice512 = upsertion('alice512', SHA_512, 'alice-secret', 8192);
  const altered = await alter([], [alice, alice512, upsertion('bob', SHA_512, 'bob-pw', 16384)]);
  assert.deepEqual(summary(altered.results), [
    ['alice', 0, null],
    ['alice512', 0, null],
    ['bob', 0, null],
  ]);
  // RFC 5802: StoredKey = H(HMAC(SaltedPassword, "Client Key")),
  // ServerKey = HMAC(SaltedPassword, "Server Key").
  const stored = await broker.storage.listScramCredentials();
  const forAlice = stored.find((credential) => credential.user === 'alice');
  assert.ok(forAlice !== undefined);
  const clientKey = createHmac('sha256', alice.saltedPassword).update('Client Key').digest();
  assert.deepEqual(forAlice.storedKey, createHash('sha256').update(clientKey).digest());
  assert.deepEqual(
    forAlice.serverKey,
    createHmac('sha256', alice.saltedPassword).update('Server Key').digest(),
  );
  assert.deepEqual(forAlice.salt, alice.salt);
  assert.equal(forAlice.iterations, 4096);
  for (const credential of stored) {
    const bytes = Buffer.concat([credential.salt, credential.storedKey, credential.serverKey]);
    assert.equal(bytes.indexOf(alice.saltedPassword), -1, 'a salted password was stored');
  }

  const all = await describe([]);
  assert.equal(all.errorCode, 0);
  assert.deepEqual(
    all.results
      .map((result) => [
        result.user,
        result.credentialInfos.map((info) => [info.mechanism, info.iterations]),
      ])
      .toSorted(),
    [
      ['alice', [[SHA_256, 4096]]],
      ['alice512', [[SHA_512, 8192]]],
      ['bob', [[SHA_512, 16384]]],
    ],
  );
  const some = await describe(['bob', 'nobody', 'alice', 'alice']);
  assert.equal(some.errorCode, 0);
  assert.deepEqual(summary(some.results), [
    [
      'alice',
      DUPLICATE_RESOURCE,
      'Cannot describe SCRAM credentials for the same user twice in a single request: alice',
    ],
    ['bob', 0, null],
    [
      'nobody',
      RESOURCE_NOT_FOUND,
      'Attempt to describe a user credential that does not exist: nobody',
    ],
  ]);
});

test('Kafka refusals, per user; the accepted changes of the same request are stored', async () => {
  const altered = await alter(
    [
      { name: 'ghost', mechanism: SHA_256 },
      { name: 'bob', mechanism: SHA_512 },
    ],
    [
      upsertion('few', SHA_256, 'pw', 1000),
      upsertion('many', SHA_256, 'pw', 20000),
      upsertion('', SHA_256, 'pw', 4096),
      { ...upsertion('md5', SHA_256, 'pw', 4096), mechanism: 3 },
      upsertion('twice', SHA_256, 'pw', 4096),
      upsertion('twice', SHA_512, 'pw', 4096),
      upsertion('bob', SHA_256, 'pw', 4096),
      upsertion('carol', SHA_256, 'pw', 4096),
    ],
  );
  assert.deepEqual(summary(altered.results), [
    ['', UNACCEPTABLE_CREDENTIAL, 'Username must not be empty'],
    ['bob', DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request'],
    ['carol', 0, null],
    ['few', UNACCEPTABLE_CREDENTIAL, 'Too few iterations'],
    ['ghost', RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist'],
    ['many', UNACCEPTABLE_CREDENTIAL, 'Too many iterations'],
    ['md5', UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism'],
    ['twice', DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request'],
  ]);
  const users = (await describe([])).results.map((result) => result.user).toSorted();
  assert.deepEqual(users, ['alice', 'alice512', 'bob', 'carol']);
  // A deletion on its own removes that mechanism's credential.
  const deleted = await alter([{ name: 'alice512', mechanism: SHA_512 }], []);
  assert.deepEqual(summary(deleted.results), [['alice512', 0, null]]);
});

test('SCRAM credentials survive a restart', async () => {
  const described = (await describe([])).results;
  assert.ok(described.length > 0);
  await stop();
  await start();
  assert.deepEqual((await describe([])).results, described);
});
