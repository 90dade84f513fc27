/**
 * Client quotas (issue 16) with real tools: Kafka's own kafka-configs (ConfigCommand, the Java
 * admin client's AlterClientQuotas/DescribeClientQuotas) sets, shows and deletes byte-rate
 * quotas for a client id and the default user; kafkajs producers and consumers then run over
 * and under them, and the broker's /metrics show that only the client over its quota was
 * throttled (answered with throttle_time_ms and muted), on produce and on fetch, and that a
 * client over its request_percentage (event-loop time) is throttled too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import {
  javaCommand,
  printedMetricsUrl,
  runCommand,
  scrapeMetric,
  spawnBroker,
  tempDir,
  type SpawnedBroker,
  type TempDir,
} from '../../src/index.ts';

const configCommand = 'org.apache.kafka.tools.ConfigCommand';
const toolTimeoutMs = 90_000;
const quotaBytesPerSecond = 20_000;

let broker: SpawnedBroker;
let dataDir: TempDir;
let metricsUrl: string;

before(async () => {
  javaCommand(configCommand); // fails here, naming the build script, when nothing is built
  dataDir = await tempDir('client-quotas');
  broker = await spawnBroker({
    dataDir: dataDir.path,
    args: ['--metrics-listen', '127.0.0.1:0'],
  });
  metricsUrl = printedMetricsUrl(broker);
});

after(async () => {
  await broker?.stop();
  await dataDir?.remove();
});

async function configs(args: readonly string[]) {
  const java = javaCommand(configCommand, ['--bootstrap-server', broker.bootstrap, ...args]);
  const result = await runCommand(java.command, java.args, { timeoutMs: toolTimeoutMs });
  const shown = `${args.join(' ')}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
  assert.equal(result.code, 0, `exit ${result.code}: ${shown}`);
  return { stdout: result.stdout, shown };
}

async function throttled(quota: string): Promise<number> {
  return (
    (await scrapeMetric(metricsUrl, 'tributary_quota_throttled_requests_total', { quota })) ??
    Number.NaN
  );
}

function client(clientId: string): Kafka {
  return new Kafka({ clientId, brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
}

/** 40 sends of 5 KB from `clientId`: 200 KB, ten times the quota's bytes per second. */
async function produceMany(clientId: string, topic: string): Promise<void> {
  const producer = client(clientId).producer();
  await producer.connect();
  const value = Buffer.alloc(5_000, 'q');
  for (let i = 0; i < 40; i++) await producer.send({ topic, acks: -1, messages: [{ value }] });
  await producer.disconnect();
}

async function consumeAll(clientId: string, topic: string, count: number): Promise<void> {
  const consumer = client(clientId).consumer({ groupId: `${clientId}-group` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async () => {
          seen += 1;
          if (seen === count) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
}

describe('client quotas', () => {
  it('are set, described and deleted with kafka-configs', async () => {
    const slow = ['--entity-type', 'clients', '--entity-name', 'slow-client'];
    const rates = `producer_byte_rate=${quotaBytesPerSecond},consumer_byte_rate=${quotaBytesPerSecond}`;
    await configs([...slow, '--alter', '--add-config', rates]);
    await configs([
      '--entity-type',
      'users',
      '--entity-default',
      '--alter',
      '--add-config',
      'request_percentage=200',
    ]);
    const described = await configs([...slow, '--describe']);
    assert.match(described.stdout, /producer_byte_rate=20000(\.0)?/, described.shown);
    assert.match(described.stdout, /consumer_byte_rate=20000(\.0)?/, described.shown);
    const users = await configs(['--entity-type', 'users', '--entity-default', '--describe']);
    assert.match(users.stdout, /request_percentage=200(\.0)?/, users.shown);
  });

  it('throttle only the client over its quota, on produce and on fetch', async () => {
    const topic = 'quota-topic';
    const admin = client('quota-admin').admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();

    await produceMany('fast-client', topic);
    assert.equal(await throttled('producer_byte_rate'), 0, 'no quota, no throttle');
    await produceMany('slow-client', topic);
    assert.ok((await throttled('producer_byte_rate')) > 0, 'slow-client was throttled');

    await consumeAll('fast-client', topic, 80);
    assert.equal(await throttled('consumer_byte_rate'), 0);
    await consumeAll('slow-client', topic, 80);
    assert.ok((await throttled('consumer_byte_rate')) > 0, 'slow-client fetches were throttled');
  });

  it('hold a client to its request_percentage of the event loop', async () => {
    assert.equal(await throttled('request_percentage'), 0, 'the default 200% is never reached');
    // Default user + this client: it outranks the default user's 200% (Kafka's precedence).
    const busy = [
      '--entity-type',
      'users',
      '--entity-default',
      '--entity-type',
      'clients',
      '--entity-name',
      'busy-client',
    ];
    await configs([...busy, '--alter', '--add-config', 'request_percentage=0.1']);
    const admin = client('busy-client').admin();
    await admin.connect();
    // Each Metadata request keeps the event loop busy for some fraction of a millisecond; a
    // tenth of a percent of a core is 1 ms a second, so a few dozen go over it.
    for (let i = 0; i < 200 && (await throttled('request_percentage')) === 0; i++) {
      await admin.fetchTopicMetadata({ topics: ['quota-topic'] });
    }
    await admin.disconnect();
    assert.ok((await throttled('request_percentage')) > 0, 'busy-client was throttled');
    await configs([...busy, '--alter', '--delete-config', 'request_percentage']);
  });

  it('are gone once deleted', async () => {
    const slow = ['--entity-type', 'clients', '--entity-name', 'slow-client'];
    await configs([...slow, '--alter', '--delete-config', 'producer_byte_rate,consumer_byte_rate']);
    const described = await configs([...slow, '--describe']);
    assert.doesNotMatch(described.stdout, /byte_rate/, described.shown);
  });
});
