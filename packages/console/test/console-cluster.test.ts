/**
 * The console of a cluster-mode broker (PostgreSQL, an S3 server, two `tributary start`
 * processes with racks a and b): the brokers page lists both live brokers with their racks and
 * the partition lease length, and every partition of a topic kafkajs created has a live
 * leader. Driven by playwright-core and Debian's chromium.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { chromium, type Browser } from 'playwright-core';
import { runCommand, startTestCluster, type TestCluster } from '@tributary/testing';

const waitMs = 30_000;
const leaseMs = 3000;

let cluster: TestCluster;
let browser: Browser;

/** The S3 server's build (idempotent: returns at once once built), as `npm test` runs it. */
const s3ServerBuild = resolve(import.meta.dirname, '../../testing/scripts/build-s3-server.sh');
const s3ServerBuildTimeoutMs = 15 * 60 * 1000;

before(async () => {
  // `npm test -- console` selects no packages/testing file, so the runner builds nothing.
  const built = await runCommand('bash', [s3ServerBuild], { timeoutMs: s3ServerBuildTimeoutMs });
  assert.equal(built.code, 0, `${s3ServerBuild} failed: ${built.stderr}`);
  cluster = await startTestCluster({
    brokers: 2,
    leaseMs,
    args: ['--console-listen', '127.0.0.1:0'],
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
});

after(async () => {
  await browser?.close();
  await cluster?.stop();
});

interface TopicView {
  readonly name: string;
  readonly partitions: readonly { partition: number; leader?: number; highWatermark?: number }[];
}

it('shows both brokers with their racks and leases, and every partition leader', async () => {
  const kafka = new Kafka({ brokers: cluster.bootstrap().split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: 'spread', numPartitions: 4 }] });
  } finally {
    await admin.disconnect();
  }
  const first = cluster.brokers.get(1);
  assert.ok(first !== undefined);
  const url = /console on (http:\/\/\S+?)\/?\n/.exec(first.stdout())?.[1];
  assert.ok(url, first.stdout());
  // Every partition of the topic gets a live leader once the brokers take their leases.
  const deadline = Date.now() + waitMs;
  let spread: TopicView | undefined;
  while (Date.now() < deadline) {
    const topics = (await (await fetch(`${url}/api/topics`)).json()) as TopicView[];
    spread = topics.find((topic) => topic.name === 'spread');
    if (spread?.partitions.every((entry) => entry.leader !== undefined)) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const leaders = spread?.partitions.map((entry) => entry.leader);
  assert.ok(
    leaders?.every((leader) => leader === 1 || leader === 2),
    JSON.stringify(leaders),
  );

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${url}/#/brokers`);
  const rows = page.getByTestId('broker-row');
  const until = Date.now() + waitMs;
  while ((await rows.count()) < 2 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.equal(await rows.count(), 2);
  assert.match(await rows.nth(0).innerText(), /^1\s+127\.0\.0\.1\s+\d+\s+a\s+\d+$/);
  assert.match(await rows.nth(1).innerText(), /^2\s+127\.0\.0\.1\s+\d+\s+b\s+\d+$/);
  assert.match(await page.locator('main').innerText(), new RegExp(`leases of ${leaseMs} ms`));
});
