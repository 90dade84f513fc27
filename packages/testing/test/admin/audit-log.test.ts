/**
 * The audit log (issue 16): admin actions made through kafkajs (create and delete topics, alter
 * a topic config, create an ACL, add partitions) and a refused one each leave an entry in the
 * internal topic `__tributary_audit` with the principal, client id, peer, action, resources and
 * result; `tributary audit` (run as a process) prints them, filtered; a consumer reads the topic
 * and a producer may not write it. Config values never appear, only their names.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import {
  cliMainPath,
  runCommand,
  spawnBroker,
  tempDir,
  type SpawnedBroker,
  type TempDir,
} from '../../src/index.ts';

let broker: SpawnedBroker;
let dataDir: TempDir;
let kafka: Kafka;

before(async () => {
  dataDir = await tempDir('audit-log');
  broker = await spawnBroker({ dataDir: dataDir.path });
  kafka = new Kafka({
    clientId: 'audited-admin',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
});

after(async () => {
  await broker?.stop();
  await dataDir?.remove();
});

interface Entry {
  principal: string;
  clientId: string | null;
  peer: string;
  action: string;
  resources: string[];
  result: string;
}

async function audit(args: string[]): Promise<string> {
  const run = await runCommand(
    process.execPath,
    [cliMainPath, 'audit', '--bootstrap', broker.bootstrap, ...args],
    { timeoutMs: 60_000 },
  );
  assert.equal(run.code, 0, run.stderr);
  return run.stdout;
}

describe('audit log', () => {
  it('records admin actions with who, what, from where and the result', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'audited', numPartitions: 1 }] });
    await admin.createPartitions({ topicPartitions: [{ topic: 'audited', count: 2 }] });
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        { type: 2, name: 'audited', configEntries: [{ name: 'retention.ms', value: '3600123' }] },
      ],
    });
    await admin.createTopics({ topics: [{ topic: 'audited', numPartitions: 1 }] }); // exists
    await admin.deleteTopics({ topics: ['audited'] });
    await admin.disconnect();

    const lines = (await audit(['--json'])).trim().split('\n');
    const entries = lines.map((line) => JSON.parse(line) as Entry);
    const actions = entries.map((entry) => `${entry.action} ${entry.result}`);
    assert.deepEqual(actions, [
      'CreateTopics ok',
      'CreatePartitions ok',
      'AlterConfigs ok',
      'CreateTopics TOPIC_ALREADY_EXISTS',
      'DeleteTopics ok',
    ]);
    for (const entry of entries) {
      assert.equal(entry.principal, 'User:ANONYMOUS');
      assert.equal(entry.clientId, 'audited-admin');
      assert.match(entry.peer, /^127\.0\.0\.1:\d+$/);
    }
    assert.deepEqual(entries[0]?.resources, ['topic:audited']);
    assert.deepEqual(entries[2]?.resources, ['config:2:audited:retention.ms']);
    assert.doesNotMatch(lines.join('\n'), /3600123/, 'config values are not recorded');

    const table = await audit(['--action', 'DeleteTopics']);
    assert.match(table, /DeleteTopics/);
    assert.doesNotMatch(table, /CreateTopics/);
  });

  it('is an internal topic: readable, never writable', async () => {
    const consumer = kafka.consumer({ groupId: 'audit-reader' });
    await consumer.connect();
    await consumer.subscribe({ topic: '__tributary_audit', fromBeginning: true });
    const read: string[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            read.push(String(message.value));
            if (read.length >= 5) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    assert.match(read[0] ?? '', /"action":"CreateTopics"/);

    const producer = kafka.producer();
    await producer.connect();
    await assert.rejects(
      producer.send({ topic: '__tributary_audit', messages: [{ value: 'forged' }] }),
      /invalid topic/i,
    );
    await producer.disconnect();
  });
});
