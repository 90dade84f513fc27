/**
 * ACLs by principal: principals x operations x resources against the verdicts Kafka's
 * StandardAuthorizer gives, with the principal named by authentication. The broker has a
 * PLAINTEXT listener (User:ANONYMOUS) and a SASL_PLAINTEXT one: PLAIN users admin (a super
 * user), alice, bob and mallory from the JAAS config, and carol with a SCRAM-SHA-256 credential
 * (added with `tributary users add`). Clients: kafkajs (metadata listing, produce) and kcat
 * (librdkafka: consume, alone and in a group), each signing in as the row's principal.
 *
 * The ACLs (stored before the broker starts with the authorizer on):
 * - alice: READ and WRITE on topic `orders`, READ on group `g.alice`;
 * - User:*: READ on `orders` (so everyone authenticated or not may read it), except
 *   bob: DENY READ on `orders` (DENY wins; it leaves DESCRIBE);
 * - bob: READ on topics prefixed `pay`;
 * - carol: WRITE on `payments` (WRITE implies DESCRIBE).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { startBroker, type RunningBroker } from '@tributary/broker';
import { runUsersCommand } from '@tributary/cli';
import type { AclBinding } from '@tributary/storage';
import { kcatPath, runCommand, tempDir, type TempDir } from '@tributary/testing';

const TOPIC = 2;
const GROUP = 3;
const LITERAL = 3;
const PREFIXED = 4;
const READ = 3;
const WRITE = 4;
const DENY = 2;
const ALLOW = 3;

const plainUsers = { admin: 'admin-pw', alice: 'alice-pw', bob: 'bob-pw', mallory: 'mallory-pw' };
const scramUser = { name: 'carol', password: 'carol-pw' };
const commandTimeoutMs = 30_000;

type Principal = 'admin' | 'alice' | 'bob' | 'carol' | 'mallory' | 'ANONYMOUS';

interface Login {
  readonly listener: 'PLAINTEXT' | 'SASL_PLAINTEXT';
  readonly mechanism?: 'PLAIN' | 'SCRAM-SHA-256';
  readonly username?: string;
  readonly password?: string;
}

function loginOf(principal: Principal): Login {
  if (principal === 'ANONYMOUS') return { listener: 'PLAINTEXT' };
  if (principal === 'carol') {
    const { name, password } = scramUser;
    return { listener: 'SASL_PLAINTEXT', mechanism: 'SCRAM-SHA-256', username: name, password };
  }
  const password = plainUsers[principal];
  return { listener: 'SASL_PLAINTEXT', mechanism: 'PLAIN', username: principal, password };
}

const acls: Partial<AclBinding>[] = [
  { principal: 'User:alice', resourceName: 'orders', operation: READ },
  { principal: 'User:alice', resourceName: 'orders', operation: WRITE },
  { principal: 'User:alice', resourceType: GROUP, resourceName: 'g.alice', operation: READ },
  { principal: 'User:*', resourceName: 'orders', operation: READ },
  { principal: 'User:bob', resourceName: 'orders', operation: READ, permissionType: DENY },
  { principal: 'User:bob', resourceName: 'pay', patternType: PREFIXED, operation: READ },
  { principal: 'User:carol', resourceName: 'payments', operation: WRITE },
];

const tA = 'TOPIC_AUTHORIZATION_FAILED';
const gA = 'GROUP_AUTHORIZATION_FAILED';

/**
 * Expected verdicts per principal: topics listed, produce to orders / payments, consume orders /
 * payments (no group), consume orders in group g.alice.
 */
const expected: Record<Principal, readonly [string, string, string, string, string, string]> = {
  admin: ['orders,payments', 'ok', 'ok', 'ok', 'ok', 'ok'],
  alice: ['orders', 'ok', tA, 'ok', tA, 'ok'],
  bob: ['orders,payments', tA, tA, tA, 'ok', gA],
  carol: ['orders,payments', tA, 'ok', 'ok', tA, gA],
  mallory: ['orders', tA, tA, 'ok', tA, gA],
  ANONYMOUS: ['orders', tA, tA, 'ok', tA, gA],
};

let dir: TempDir;
let broker: RunningBroker;

function settingsOf(authorizer: boolean): Map<string, { value: string; origin: string }> {
  const jaas =
    'org.apache.kafka.common.security.plain.PlainLoginModule required ' +
    Object.entries(plainUsers)
      .map(([name, password]) => `user_${name}="${password}"`)
      .join(' ') +
    ';';
  const settings: Record<string, string> = {
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
    'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256',
    'listener.name.sasl_plaintext.plain.sasl.jaas.config': jaas,
    ...(authorizer
      ? {
          'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
          'super.users': 'User:admin',
        }
      : {}),
  };
  return new Map(Object.entries(settings).map(([k, value]) => [k, { value, origin: 'test' }]));
}

function start(authorizer: boolean): Promise<RunningBroker> {
  return startBroker({
    dataDir: join(dir.path, 'data'),
    quiet: true,
    settings: settingsOf(authorizer),
  });
}

function bootstrapOf(listener: Login['listener']): string {
  const found = broker.listeners.find((bound) => bound.name === listener);
  assert.ok(found !== undefined, `listener ${listener}`);
  return `127.0.0.1:${found.port}`;
}

function kafkaOf(principal: Principal): Kafka {
  const login = loginOf(principal);
  const sasl: SASLOptions | undefined =
    login.mechanism === undefined
      ? undefined
      : ({
          mechanism: login.mechanism === 'PLAIN' ? 'plain' : 'scram-sha-256',
          username: login.username ?? '',
          password: login.password ?? '',
        } as SASLOptions);
  return new Kafka({
    clientId: `principal-matrix-${principal}`,
    brokers: [bootstrapOf(login.listener)],
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 50 },
    ...(sasl === undefined ? {} : { sasl }),
  });
}

/** Kafka's error name from a kafkajs error (retried metadata errors are wrapped). */
function errorName(error: unknown): string {
  const { type, originalError } = error as { type?: unknown; originalError?: unknown };
  if (typeof type === 'string') return type;
  if (originalError !== undefined) return errorName(originalError);
  return /Topic authorization failed/.test(String(error)) ? tA : String(error);
}

async function listTopics(principal: Principal): Promise<string> {
  const admin = kafkaOf(principal).admin();
  try {
    await admin.connect();
    return (await admin.listTopics())
      .filter((t) => !t.startsWith('__'))
      .toSorted()
      .join(',');
  } finally {
    await admin.disconnect();
  }
}

async function produce(principal: Principal, topic: string): Promise<string> {
  const producer = kafkaOf(principal).producer({ allowAutoTopicCreation: false });
  try {
    await producer.connect();
    await producer.send({ topic, messages: [{ value: principal }] });
    return 'ok';
  } catch (error: unknown) {
    return errorName(error);
  } finally {
    await producer.disconnect();
  }
}

/** kcat reads one record: of partition 0 (no group), or in `group`. */
async function consume(principal: Principal, topic: string, group?: string): Promise<string> {
  const login = loginOf(principal);
  const auth =
    login.mechanism === undefined
      ? []
      : [
          ['security.protocol', 'SASL_PLAINTEXT'],
          ['sasl.mechanisms', login.mechanism],
          ['sasl.username', login.username ?? ''],
          ['sasl.password', login.password ?? ''],
        ].flatMap(([key, value]) => ['-X', `${key}=${value}`]);
  const read =
    group === undefined
      ? ['-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-c', '1']
      : ['-G', group, '-o', 'beginning', '-e', '-c', '1', topic];
  const args = ['-b', bootstrapOf(login.listener), '-q', ...auth, ...read];
  const run = await runCommand(kcatPath, args, { timeoutMs: commandTimeoutMs });
  if (run.stdout.trim() === 'seed') return 'ok';
  if (/group authoriz/i.test(run.stderr)) return gA;
  if (/topic authoriz/i.test(run.stderr)) return tA;
  return `stdout=${run.stdout.trim()} stderr=${run.stderr.trim()}`;
}

before(async () => {
  dir = await tempDir('principal-matrix');
  broker = await start(false);
  const admin = kafkaOf('ANONYMOUS').admin();
  const producer = kafkaOf('ANONYMOUS').producer();
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'orders' }, { topic: 'payments' }] });
    await producer.connect();
    for (const topic of ['orders', 'payments']) {
      await producer.send({ topic, messages: [{ value: 'seed' }] });
    }
    const passwordFile = join(dir.path, 'carol.password');
    await writeFile(passwordFile, `${scramUser.password}\n`);
    const err: string[] = [];
    const usersArgs = ['add', scramUser.name, '--mechanism', 'SCRAM-SHA-256'];
    const code = await runUsersCommand(
      [...usersArgs, '--password-file', passwordFile, '--bootstrap', bootstrapOf('PLAINTEXT')],
      { out: () => undefined, err: (text) => err.push(text), env: {}, nowMs: () => Date.now() },
    );
    assert.equal(code, 0, err.join(''));
    await broker.storage.createAcls(
      acls.map((acl) => ({
        resourceType: TOPIC,
        resourceName: 'orders',
        patternType: LITERAL,
        principal: 'User:ANONYMOUS',
        host: '*',
        operation: READ,
        permissionType: ALLOW,
        ...acl,
      })),
    );
  } finally {
    await producer.disconnect();
    await admin.disconnect();
    await broker.close();
  }
  broker = await start(true);
});

after(async () => {
  await broker?.close();
  await dir?.remove();
});

for (const [principal, verdicts] of Object.entries(expected) as [Principal, readonly string[]][]) {
  describe(`User:${principal}`, () => {
    const [listed, ordersIn, paymentsIn, ordersOut, paymentsOut, grouped] = verdicts;
    test(`lists topics -> ${listed}`, async () => {
      assert.equal(await listTopics(principal), listed);
    });
    test(`produces to orders -> ${ordersIn}`, async () => {
      assert.equal(await produce(principal, 'orders'), ordersIn);
    });
    test(`produces to payments -> ${paymentsIn}`, async () => {
      assert.equal(await produce(principal, 'payments'), paymentsIn);
    });
    test(`consumes orders -> ${ordersOut}`, async () => {
      assert.equal(await consume(principal, 'orders'), ordersOut);
    });
    test(`consumes payments -> ${paymentsOut}`, async () => {
      assert.equal(await consume(principal, 'payments'), paymentsOut);
    });
    test(`consumes orders in group g.alice -> ${grouped}`, async () => {
      assert.equal(await consume(principal, 'orders', 'g.alice'), grouped);
    });
  });
}
