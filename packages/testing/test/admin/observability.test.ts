/**
 * The broker's HTTP side port (issue 17) with real clients: /healthz and /readyz answer, and
 * /metrics shows per-API requests and latencies, produced and fetched bytes per topic, the WAL's
 * group commits, open connections, and consumer lag per group and partition in records and in
 * seconds: a kafkajs group consumes, commits and stops; records produced after it stopped show
 * as lag, and the lag in seconds grows with the age of the oldest of them.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import {
  metricValue,
  spawnBroker,
  tempDir,
  type SpawnedBroker,
  type TempDir,
} from '../../src/index.ts';

const dashboardPath = new URL('../../../../docs/grafana/tributary-dashboard.json', import.meta.url);

let broker: SpawnedBroker;
let dataDir: TempDir;
let base: string;
let kafka: Kafka;

before(async () => {
  dataDir = await tempDir('observability');
  broker = await spawnBroker({
    dataDir: dataDir.path,
    args: ['--metrics-listen', '127.0.0.1:0'],
  });
  const address = /metrics on (http:\S+)\/metrics/.exec(broker.stdout())?.[1];
  assert.ok(address !== undefined, broker.stdout());
  base = address;
  kafka = new Kafka({
    clientId: 'observability-test',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
  });
});

after(async () => {
  await broker?.stop();
  await dataDir?.remove();
});

async function metrics(): Promise<string> {
  return (await fetch(`${base}/metrics`)).text();
}

/** Scrapes until the series satisfies `wanted` (the coordinator applies commits async), 10 s. */
async function scrapeUntil(
  name: string,
  labels: Record<string, string>,
  wanted: (value: number | undefined) => boolean,
): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = await metrics();
    if (wanted(metricValue(text, name, labels)) || Date.now() > deadline) return text;
    await sleep(100);
  }
}

async function produce(topic: string, count: number, from: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: Array.from({ length: count }, (_, i) => ({ value: `record-${from + i}` })),
  });
  await producer.disconnect();
}

describe('health endpoints', () => {
  it('answers /healthz and /readyz, and 404 elsewhere', async () => {
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(await ready.text(), 'ready\n');
    assert.equal((await fetch(`${base}/nothing`)).status, 404);
  });
});

describe('metrics', () => {
  it('counts requests, bytes per topic, WAL commits and connections', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'observed', numPartitions: 1 }] });
    await produce('observed', 20, 0);
    const text = await metrics();
    assert.ok((metricValue(text, 'tributary_requests_total', { api: 'Produce' }) ?? 0) >= 1);
    assert.ok((metricValue(text, 'tributary_requests_total', { api: 'CreateTopics' }) ?? 0) >= 1);
    assert.ok(
      (metricValue(text, 'tributary_request_duration_seconds_count', { api: 'Produce' }) ?? 0) >= 1,
    );
    assert.ok(
      (metricValue(text, 'tributary_topic_bytes_in_total', { topic: 'observed' }) ?? 0) > 200,
    );
    assert.ok((metricValue(text, 'tributary_wal_group_commit_seconds_count') ?? 0) >= 1);
    assert.ok((metricValue(text, 'tributary_wal_bytes_written_total') ?? 0) > 200);
    assert.ok(
      (metricValue(text, 'tributary_connections') ?? 0) >= 1,
      'the admin client is connected',
    );
    assert.ok(metricValue(text, 'tributary_process_nodejs_eventloop_lag_seconds') !== undefined);
    await admin.disconnect();
  });

  it('reports a stopped group’s lag in records and in seconds', async () => {
    const topic = 'lagging';
    const group = 'lagging-readers';
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();
    await produce(topic, 10, 0);
    const consumer = kafka.consumer({ groupId: group });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async () => {
            seen += 1;
            if (seen === 10) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect(); // commits what it consumed
    const labels = { group, topic, partition: '0' };
    const caughtUp = await scrapeUntil('tributary_consumer_lag_records', labels, (v) => v === 0);
    assert.equal(metricValue(caughtUp, 'tributary_consumer_lag_records', labels), 0);
    assert.equal(metricValue(caughtUp, 'tributary_consumer_lag_seconds', labels), 0);
    assert.ok((metricValue(caughtUp, 'tributary_topic_bytes_out_total', { topic }) ?? 0) > 100);

    await produce(topic, 7, 10);
    await sleep(1500);
    const behind = await metrics();
    assert.equal(metricValue(behind, 'tributary_consumer_lag_records', labels), 7);
    const seconds = metricValue(behind, 'tributary_consumer_lag_seconds', labels) ?? 0;
    assert.ok(seconds >= 1 && seconds < 60, `lag ${seconds} s`);
  });
});

describe('Grafana dashboard', () => {
  it('queries only metric families the broker serves', async () => {
    const dashboard = await readFile(dashboardPath, 'utf8');
    JSON.parse(dashboard);
    const families = new Set(
      [...dashboard.matchAll(/tributary_[a-z0-9_]+/g)].map(([name]) =>
        name.replace(/_(bucket|sum|count)$/, ''),
      ),
    );
    assert.ok(families.size >= 15, `only ${families.size} metrics on the dashboard`);
    const text = await metrics();
    const missing = [...families].filter((name) => !text.includes(`# TYPE ${name} `));
    assert.deepEqual(missing, []);
  });
});
