/**
 * The web console in a real browser: Debian's chromium (/usr/bin/chromium, .ci/setup-chromium.sh)
 * driven by playwright-core against a broker process (`tributary start --console-listen`) that
 * real clients filled: kafkajs produces, consumes in a group, runs a transaction and creates an
 * ACL; @kafkajs/confluent-schema-registry registers two versions of an Avro schema and frames
 * values in the registry's wire format. Every page must show those figures; the group's lag must
 * appear once its consumer stops; an offset reset, a topic creation and a record deletion made
 * through the pages must be seen by the kafkajs admin client. A second broker in read-only mode
 * refuses changes. With CONSOLE_SCREENSHOTS=1 (npm run screenshots:console) each page is saved
 * into docs/console/ for docs/console.md.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SchemaRegistry as RegistryClient, SchemaType } from '@kafkajs/confluent-schema-registry';
import {
  Kafka,
  logLevel,
  type AclOperationTypes,
  type AclPermissionTypes,
  type AclResourceTypes,
  type Admin,
  type ResourcePatternTypes,
} from 'kafkajs';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import {
  cliMainPath,
  runCommand,
  spawnBroker,
  tempDir,
  type SpawnedBroker,
  type TempDir,
} from '@tributary/testing';

const chromiumPath = '/usr/bin/chromium';
const screenshotsDir = resolve(import.meta.dirname, '../../../docs/console');
const takeScreenshots = process.env['CONSOLE_SCREENSHOTS'] === '1';
/** How long a page may take to show a figure (the pages refresh every second). */
const waitMs = 20_000;
/** The records produced after the consumer stopped are this old, so lag in seconds is known. */
const backdateMs = 120_000;

let dir: TempDir;
let broker: SpawnedBroker;
let consoleUrl: string;
let registryUrl: string;
let kafka: Kafka;
let admin: Admin;
let browser: Browser;
let page: Page;

function urlFrom(stdout: string, what: string): string {
  const match = new RegExp(`${what} on (http://\\S+?)/?\\n`).exec(stdout);
  assert.ok(match?.[1], `no "${what} on" line in: ${stdout}`);
  return match[1];
}

/** Waits until the locator's text satisfies `accept`; fails with the last text seen. */
async function textOf(locator: Locator, accept: (text: string) => boolean): Promise<string> {
  const deadline = Date.now() + waitMs;
  let text = '';
  while (Date.now() < deadline) {
    text = (await locator.count()) > 0 ? await locator.first().innerText() : '';
    if (accept(text)) return text;
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 200));
  }
  assert.fail(`the page never showed the expected text; last: ${JSON.stringify(text)}`);
}

async function screenshot(name: string, tab: Page = page): Promise<void> {
  if (!takeScreenshots) return;
  await mkdir(screenshotsDir, { recursive: true });
  await tab.screenshot({ path: join(screenshotsDir, `${name}.png`), fullPage: true });
}

async function open(hash: string): Promise<void> {
  await page.goto(`${consoleUrl}/#/${hash}`);
  await page.getByTestId('identity').waitFor({ timeout: waitMs });
}

async function committed(groupId: string, topic: string): Promise<Map<number, number>> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map(entry?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []);
}

function post(path: string, body: unknown, contentType = 'application/json'): Promise<Response> {
  return fetch(`${consoleUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function fill(): Promise<void> {
  await admin.createTopics({
    topics: [
      { topic: 'orders', numPartitions: 2 },
      { topic: 'payments', numPartitions: 1 },
      { topic: 'ledger', numPartitions: 1 },
    ],
  });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: 'orders',
    messages: Array.from({ length: 20 }, (_, index) => ({
      key: `order-${index}`,
      value: JSON.stringify({ order: index, total: index * 10 }),
      partition: index % 2,
      headers: { source: 'console-test' },
    })),
  });
  const registry = new RegistryClient({ host: registryUrl });
  const v1 = {
    type: 'record',
    name: 'Payment',
    namespace: 'shop',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'amount', type: 'long' },
    ],
  };
  const v2 = {
    ...v1,
    fields: [...v1.fields, { name: 'currency', type: 'string', default: 'EUR' }],
  };
  await registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(v1) },
    { subject: 'payments-value' },
  );
  const { id } = await registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(v2) },
    { subject: 'payments-value' },
  );
  const value = await registry.encode(id, { id: 'pay-7', amount: 4200, currency: 'SEK' });
  await producer.send({ topic: 'payments', messages: [{ key: 'pay-7', value }] });
  await producer.disconnect();

  const transactional = kafka.producer({
    transactionalId: 'console-tx',
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await transactional.connect();
  const transaction = await transactional.transaction();
  await transaction.send({ topic: 'ledger', messages: [{ key: 'entry', value: 'credit 10' }] });
  await transaction.commit();
  await transactional.disconnect();

  await admin.createAcls({
    acl: [
      {
        // Kafka's codes (kafkajs's enums are not ES module exports): TOPIC, LITERAL, READ, ALLOW.
        resourceType: 2 as AclResourceTypes,
        resourceName: 'orders',
        resourcePatternType: 3 as ResourcePatternTypes,
        principal: 'User:alice',
        host: '*',
        operation: 3 as AclOperationTypes,
        permissionType: 3 as AclPermissionTypes,
      },
    ],
  });
}

before(async () => {
  dir = await tempDir('console-browser');
  broker = await spawnBroker({
    dataDir: dir.path,
    args: [
      '--console-listen',
      '127.0.0.1:0',
      '--schema-registry-listen',
      '127.0.0.1:0',
      '--override',
      'console.sample.interval.ms=500',
    ],
  });
  consoleUrl = urlFrom(broker.stdout(), 'console');
  registryUrl = urlFrom(broker.stdout(), 'schema registry');
  kafka = new Kafka({
    clientId: 'console-test',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
  });
  admin = kafka.admin();
  await admin.connect();
  await fill();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
});

after(async () => {
  await browser?.close();
  await admin?.disconnect();
  await broker?.stop();
  await dir?.remove();
});

describe('the console against a broker with real data', () => {
  it('shows a running group, its member and assignment, then its lag once it stops', async () => {
    const consumer = kafka.consumer({ groupId: 'billing' });
    await consumer.connect();
    await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
    let consumed = 0;
    await consumer.run({ autoCommitThreshold: 1, eachMessage: async () => void consumed++ });
    const deadline = Date.now() + waitMs;
    while ([...(await committed('billing', 'orders')).values()].reduce((a, b) => a + b, 0) < 20) {
      assert.ok(Date.now() < deadline, `the consumer committed too little (${consumed} read)`);
      await new Promise((resolvePromise) => setTimeout(resolvePromise, 200));
    }
    await open('groups');
    const group = page.getByTestId('group-billing');
    await textOf(group.getByTestId('group-state'), (text) => text === 'Stable');
    await textOf(group, (text) => text.includes('orders [0, 1]'));
    assert.equal(await group.getByTestId('group-lag').innerText(), '0');
    // Kafka resets offsets only for a group without members: the page offers no dry run and the
    // API refuses one.
    assert.equal(await group.getByTestId('reset-dry-run').isDisabled(), true);
    const refused = await post('/api/groups/billing/reset-offsets', {
      topic: 'orders',
      to: 'earliest',
      dryRun: true,
    });
    assert.equal(refused.status, 409);
    assert.match(((await refused.json()) as { error: string }).error, /Stable/);

    await consumer.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const timestamp = String(Date.now() - backdateMs);
    await producer.send({
      topic: 'orders',
      messages: Array.from({ length: 10 }, (_, index) => ({
        key: `late-${index}`,
        value: `late ${index}`,
        partition: index % 2,
        timestamp,
      })),
    });
    await producer.disconnect();
    await textOf(group.getByTestId('group-state'), (text) => text === 'Empty');
    await textOf(group.getByTestId('group-lag'), (text) => text === '10');
    const seconds = Number(await group.getByTestId('group-lag-seconds').innerText());
    assert.ok(seconds >= backdateMs / 1000, `lag in seconds ${seconds}`);
    // The lag chart has samples before and after the consumer stopped.
    await textOf(group.locator('figure.chart'), (text) => text.includes('lag (records) (max 10)'));
    await screenshot('groups');
  });

  it('resets the stopped group to the earliest offsets: dry run, then apply', async () => {
    await open('groups');
    const group = page.getByTestId('group-billing');
    await group.getByTestId('reset-topic').fill('orders');
    await group.getByTestId('reset-to').selectOption('earliest');
    await group.getByTestId('reset-dry-run').click();
    // 20 records were consumed and committed, 10 on each partition.
    const plan = await textOf(group.getByTestId('reset-plan'), (text) => text.includes('10'));
    assert.match(plan, /^0\s+10\s+0$/m, 'partition 0: committed 10, new 0');
    assert.match(plan, /^1\s+10\s+0$/m, 'partition 1: committed 10, new 0');
    // The dry run changed nothing.
    assert.deepEqual([...(await committed('billing', 'orders')).values()], [10, 10]);
    await screenshot('reset-offsets');
    await group.getByTestId('reset-apply').click();
    await textOf(group.getByTestId('reset-result'), (text) => text.includes('2 partition(s)'));
    assert.deepEqual(
      [...(await committed('billing', 'orders')).entries()],
      [
        [0, 0],
        [1, 0],
      ],
    );
    await textOf(group.getByTestId('group-lag'), (text) => text === '30');
  });

  it('lists topics with their records, sizes, retention and schema subject', async () => {
    await open('topics');
    const orders = page.getByTestId('topic-orders');
    await textOf(orders.getByTestId('topic-records'), (text) => text === '30');
    const row = await orders.innerText();
    assert.match(row, /orders\s+2\s+30\s+[\d.]+ (B|KiB)\s+7\.0 d/);
    await textOf(page.getByTestId('topic-payments'), (text) => text.includes('payments-value'));
    await screenshot('topics');
  });

  it('browses records with keys and headers, and decodes a schema-framed value', async () => {
    await open('topics/orders');
    await textOf(page.getByTestId('messages-table'), (text) => text.includes('order-0'));
    const first = await page.getByTestId('message-row').first().innerText();
    assert.match(first, /order-0/);
    assert.match(first, /source=console-test/);
    assert.match(first, /"total":0/);
    await screenshot('messages');
    await open('topics/payments');
    const row = await textOf(page.getByTestId('message-row'), (text) => text.includes('pay-7'));
    assert.match(row, /schema \d+/);
    assert.match(row, /"amount": 4200/);
    assert.match(row, /"currency": "SEK"/);
    await screenshot('messages-schema');
  });

  it('creates a topic after a confirmation', async () => {
    await open('topics');
    await page.getByTestId('create-topic-name').fill('made-in-console');
    await page.getByTestId('create-topic-partitions').fill('3');
    await page.getByTestId('create-topic').click();
    assert.equal(
      await admin.listTopics().then((names) => names.includes('made-in-console')),
      false,
    );
    await page.getByTestId('create-topic-confirm').click();
    await textOf(page.getByTestId('create-topic-result'), (text) => text.includes('created'));
    const metadata = await admin.fetchTopicMetadata({ topics: ['made-in-console'] });
    assert.equal(metadata.topics[0]?.partitions.length, 3);
  });

  it('deletes records below an offset after a confirmation', async () => {
    await open('topics/orders');
    await textOf(page.getByTestId('browse-range'), (text) => text.includes('0 – 15'));
    await page.getByTestId('delete-before').fill('4');
    await page.getByTestId('delete-records').click();
    await page.getByTestId('delete-records-confirm').click();
    await textOf(page.getByTestId('delete-records-result'), (text) => text.includes('offset 4'));
    const offsets = await admin.fetchTopicOffsets('orders');
    assert.equal(offsets.find((entry) => entry.partition === 0)?.low, '4');
    await textOf(page.getByTestId('browse-range'), (text) => text.includes('4 – 15'));
  });

  it('shows the transaction, the broker, the ACL and the schema versions with a diff', async () => {
    await open('transactions');
    const transaction = await textOf(page.getByTestId('transaction-row'), (text) =>
      text.includes('console-tx'),
    );
    assert.match(transaction, /CompleteCommit/);
    await screenshot('transactions');
    await open('brokers');
    const brokerRow = await textOf(page.getByTestId('broker-row'), (text) => text !== '');
    assert.match(brokerRow, new RegExp(`^0\\s+127\\.0\\.0\\.1\\s+${broker.port}\\s`));
    await screenshot('brokers');
    await open('acls');
    const acl = await textOf(page.getByTestId('acl-row'), (text) => text !== '');
    assert.match(acl, /User:alice\s+\*\s+ALLOW\s+READ\s+TOPIC\s+orders\s+LITERAL/);
    await screenshot('acls');
    await open('schemas');
    const subject = page.getByTestId('subject-payments-value');
    await textOf(subject, (text) => text.includes('2 version(s)'));
    const diff = await subject.getByTestId('schema-diff').innerText();
    assert.match(diff, /^\+ .*"currency"/m);
    await screenshot('schemas');
  });
});

describe('the console API with bad input', () => {
  it('answers client errors, never a crash', async () => {
    const cases: [Promise<Response>, number][] = [
      [post('/api/topics', '{not json'), 400],
      [post('/api/topics', { name: 'x', partitions: 1 }, 'text/plain'), 415],
      [post('/api/topics', { name: 'bad/name', partitions: 1, configs: {} }), 409],
      [post('/api/topics', { name: 'no-count' }), 400],
      [post('/api/groups/billing/reset-offsets', { topic: 'nope', to: 'earliest' }), 404],
      [post('/api/groups/billing/reset-offsets', { topic: 'orders', to: 'offset' }), 400],
      [post('/api/groups/billing/reset-offsets', { topic: 'orders', to: 'sideways' }), 400],
      [post('/api/topics/orders/delete-records', { partition: 0, beforeOffset: 999 }), 409],
      [post('/api/nothing', {}), 404],
      [fetch(`${consoleUrl}/api/topics/orders/messages?offset=-1`), 400],
      [fetch(`${consoleUrl}/api/topics/orders/messages?partition=7`), 404],
      [fetch(`${consoleUrl}/api/topics/%E0%A4%A/messages`), 400],
      [fetch(`${consoleUrl}/api/unknown`), 404],
      [fetch(`${consoleUrl}/api/topics`, { method: 'DELETE' }), 405],
    ];
    for (const [answer, status] of cases) {
      const response = await answer;
      assert.equal(response.status, status, `${response.url}: ${await response.text()}`);
    }
    // Still serving.
    assert.equal((await fetch(`${consoleUrl}/api/overview`)).status, 200);
  });
});

describe('the console in read-only mode', () => {
  it('shows pages but refuses changes', async () => {
    const readOnlyDir = await tempDir('console-read-only');
    const readOnly = await spawnBroker({
      dataDir: readOnlyDir.path,
      args: ['--console-listen', '127.0.0.1:0', '--override', 'console.read.only=true'],
    });
    try {
      const url = urlFrom(readOnly.stdout(), 'console');
      const answer = await fetch(`${url}/api/topics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'nope', partitions: 1, configs: {} }),
      });
      assert.equal(answer.status, 403);
      await page.goto(`${url}/#/topics`);
      await textOf(page.getByTestId('identity'), (text) => text.includes('read-only'));
      assert.equal(await page.getByTestId('create-topic-name').count(), 0);
    } finally {
      await readOnly.stop();
      await readOnlyDir.remove();
    }
  });
});

async function addScramUser(bootstrap: string, user: string, password: string): Promise<void> {
  const result = await runCommand(
    process.execPath,
    [cliMainPath, 'users', 'add', user, '--bootstrap', bootstrap],
    { timeoutMs: 30_000, env: { TRIBUTARY_USER_PASSWORD: password } },
  );
  assert.equal(result.code, 0, result.stderr);
}

describe('the console with console.login=scram and ACLs', () => {
  it('asks for a SCRAM password and then acts as that user', async () => {
    const loginDir = await tempDir('console-login');
    const secured = await spawnBroker({
      dataDir: loginDir.path,
      args: [
        '--console-listen',
        '127.0.0.1:0',
        '--override',
        'console.login=scram',
        '--override',
        'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
        // The test's own clients (PLAINTEXT, User:ANONYMOUS) set things up; bob has no ACLs.
        '--override',
        'super.users=User:ANONYMOUS;User:alice',
      ],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const client = new Kafka({ brokers: [secured.bootstrap], logLevel: logLevel.NOTHING });
    const securedAdmin = client.admin();
    try {
      const url = urlFrom(secured.stdout(), 'console');
      await addScramUser(secured.bootstrap, 'alice', 'alice-secret');
      await addScramUser(secured.bootstrap, 'bob', 'bob-secret');
      await securedAdmin.connect();
      await securedAdmin.createTopics({ topics: [{ topic: 'payroll', numPartitions: 1 }] });
      assert.equal((await fetch(`${url}/api/topics`)).status, 401);

      const tab = await context.newPage();
      const signIn = async (user: string, password: string): Promise<void> => {
        await tab.getByTestId('login-user').fill(user);
        await tab.getByTestId('login-password').fill(password);
        await tab.getByTestId('login-submit').click();
      };
      await tab.goto(`${url}/#/topics`);
      await signIn('alice', 'wrong');
      await textOf(tab.getByTestId('login-error'), (text) => text === 'wrong user or password');
      await screenshot('login', tab);
      await signIn('bob', 'bob-secret');
      await textOf(tab.getByTestId('user'), (text) => text === 'bob');
      await tab.getByTestId('topics-table').waitFor({ timeout: waitMs });
      assert.equal(await tab.getByTestId('topic-payroll').count(), 0, 'bob may not see payroll');
      const browsed = await tab.evaluate(() =>
        fetch('/api/topics/payroll/messages').then((answer) => answer.status),
      );
      assert.equal(browsed, 403);
      // Changes go through the broker's handlers as bob: CreateTopics answers bob is not allowed.
      const created = await tab.evaluate(() =>
        fetch('/api/topics', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'bobs-topic', partitions: 1, configs: {} }),
        }).then(async (answer) => `${answer.status} ${await answer.text()}`),
      );
      assert.match(created, /^409 .*AUTHORIZATION_FAILED/);
      await tab.getByTestId('logout').click();
      await signIn('alice', 'alice-secret');
      await textOf(tab.getByTestId('user'), (text) => text === 'alice');
      await textOf(tab.getByTestId('topic-payroll'), (text) => text.startsWith('payroll'));
    } finally {
      await securedAdmin.disconnect();
      await context.close();
      await secured.stop();
      await loginDir.remove();
    }
  });
});
