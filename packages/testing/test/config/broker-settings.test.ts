/**
 * Broker settings through the real CLI (`tributary start` in its own process) and real clients:
 * --override, a --config server.properties file with TRIBUTARY_* variables over it, dynamic
 * broker configs altered with python3-confluent-kafka (AlterConfigs) and @platformatic/kafka
 * (IncrementalAlterConfigs) that take effect and survive a restart, and bad settings that stop
 * the start with exit code 2 and the key named.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Admin, ConfigResourceTypes, type ConfigResourceTypeValue } from '@platformatic/kafka';
import kafkajs from 'kafkajs';
import {
  cliMainPath,
  kcatPath,
  RestartableBroker,
  runCommand,
  spawnBroker,
  systemPython,
  tempDir,
  type SpawnedBroker,
} from '../../src/index.ts';

const BROKER = ConfigResourceTypes.BROKER;
const TOPIC = ConfigResourceTypes.TOPIC;
const source = {
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;
const commandTimeoutMs = 30_000;
const pythonScript = new URL('./python/broker_configs.py', import.meta.url).pathname;

const running: SpawnedBroker[] = [];
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  await Promise.all(running.map((broker) => broker.stop()));
  for (const cleanup of cleanups) await cleanup();
});

async function dataDir(): Promise<string> {
  const dir = await tempDir('tributary-settings-');
  cleanups.push(dir.remove);
  return dir.path;
}

async function start(options: {
  args?: string[];
  env?: Record<string, string>;
}): Promise<SpawnedBroker> {
  const broker = await spawnBroker({ dataDir: await dataDir(), ...options });
  running.push(broker);
  return broker;
}

/** Produces one record with kcat to a topic that does not exist yet (auto-creation). */
async function produceWithKcat(bootstrap: string, topic: string): Promise<void> {
  const run = await runCommand(kcatPath, ['-b', bootstrap, '-t', topic, '-P'], {
    input: 'hello\n',
    timeoutMs: commandTimeoutMs,
  });
  assert.equal(run.code, 0, run.stderr);
}

async function partitionCount(bootstrap: string, topic: string): Promise<number> {
  const run = await runCommand(kcatPath, ['-b', bootstrap, '-L', '-t', topic, '-J'], {
    timeoutMs: commandTimeoutMs,
  });
  assert.equal(run.code, 0, run.stderr);
  const metadata = JSON.parse(run.stdout) as { topics: { topic: string; partitions: unknown[] }[] };
  const found = metadata.topics.find((entry) => entry.topic === topic);
  assert.ok(found !== undefined, `kcat -L shows no ${topic}`);
  return found.partitions.length;
}

interface Described {
  value: string | null;
  source: number;
  readOnly: boolean;
}

/** DescribeConfigs with @platformatic/kafka: name -> value, source, read-only. */
async function describeConfigs(
  bootstrap: string,
  resourceType: ConfigResourceTypeValue,
  resourceName: string,
): Promise<Map<string, Described>> {
  const admin = new Admin({ clientId: 'settings-test', bootstrapBrokers: [bootstrap] });
  try {
    const [result] = await admin.describeConfigs({
      resources: [{ resourceType, resourceName }],
      includeSynonyms: true,
    });
    assert.ok(result !== undefined);
    return new Map(
      result.configs.map((config) => [
        config.name,
        { value: config.value ?? null, source: config.configSource, readOnly: config.readOnly },
      ]),
    );
  } finally {
    await admin.close();
  }
}

type PythonAnswer =
  | { ok: true; configs?: Record<string, [string | null, number, boolean]> }
  | { ok: false; code: number; error: string };

async function pythonAdmin(command: Record<string, unknown>): Promise<PythonAnswer> {
  const run = await runCommand(systemPython, [pythonScript], {
    input: JSON.stringify(command),
    timeoutMs: commandTimeoutMs,
  });
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as PythonAnswer;
}

/** Produces one record of `valueBytes` with kafkajs; the error's type, or 'ok'. */
async function produceSized(bootstrap: string, topic: string, valueBytes: number): Promise<string> {
  const kafka = new kafkajs.Kafka({
    clientId: 'settings-test',
    brokers: [bootstrap],
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100 },
  });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ value: Buffer.alloc(valueBytes, 1) }] });
    return 'ok';
  } catch (error: unknown) {
    const type = (error as { type?: string; cause?: { type?: string } }).type;
    return type ?? (error as { cause?: { type?: string } }).cause?.type ?? String(error);
  } finally {
    await producer.disconnect();
  }
}

describe('tributary start settings', () => {
  it('--override num.partitions=4 gives an auto-created topic 4 partitions', async () => {
    const broker = await start({ args: ['--override', 'num.partitions=4'] });
    await produceWithKcat(broker.bootstrap, 'auto-four');
    assert.equal(await partitionCount(broker.bootstrap, 'auto-four'), 4);
    const configs = await describeConfigs(broker.bootstrap, BROKER, String(broker.nodeId));
    assert.deepEqual(configs.get('num.partitions'), {
      value: '4',
      source: source.STATIC_BROKER_CONFIG,
      readOnly: true,
    });
  });

  it('reads a server.properties file, with TRIBUTARY_* variables over it', async () => {
    const file = join(await dataDir(), 'server.properties');
    await writeFile(
      file,
      [
        '# Kafka server.properties',
        '! comment',
        'num.partitions = 2',
        'log.retention.hours: 1',
        'message.max.bytes=\\',
        '    5000',
        'auto.create.topics.enable=true',
        '',
      ].join('\n'),
    );
    const broker = await start({
      args: ['--config', file],
      env: { TRIBUTARY_NUM_PARTITIONS: '3', TRIBUTARY_LOG_RETENTION_BYTES: '1048576' },
    });
    await produceWithKcat(broker.bootstrap, 'from-file');
    assert.equal(await partitionCount(broker.bootstrap, 'from-file'), 3, 'env wins over the file');
    const brokerConfigs = await describeConfigs(broker.bootstrap, BROKER, String(broker.nodeId));
    assert.equal(brokerConfigs.get('num.partitions')?.value, '3');
    assert.equal(brokerConfigs.get('log.retention.hours')?.value, '1');
    assert.equal(brokerConfigs.get('max.connections')?.source, source.DEFAULT_CONFIG);
    const topicConfigs = await describeConfigs(broker.bootstrap, TOPIC, 'from-file');
    assert.deepEqual(topicConfigs.get('retention.ms'), {
      value: '3600000',
      source: source.STATIC_BROKER_CONFIG,
      readOnly: false,
    });
    assert.equal(topicConfigs.get('retention.bytes')?.value, '1048576');
    assert.equal(topicConfigs.get('max.message.bytes')?.value, '5000');
    assert.equal(await produceSized(broker.bootstrap, 'from-file', 6000), 'MESSAGE_TOO_LARGE');
    assert.equal(await produceSized(broker.bootstrap, 'from-file', 1000), 'ok');
  });

  it('alters dynamic broker configs live, reports their source and keeps them over a restart', async () => {
    const broker = new RestartableBroker({ dataDir: await dataDir() });
    cleanups.unshift(() => broker.kill());
    let current = await broker.start();
    const nodeId = String(current.nodeId);
    await produceWithKcat(broker.bootstrap, 'dynamic');
    assert.equal(await produceSized(broker.bootstrap, 'dynamic', 6000), 'ok');

    const altered = await pythonAdmin({
      bootstrap: broker.bootstrap,
      op: 'alter',
      broker: nodeId,
      configs: { 'message.max.bytes': '5000', 'max.connections': '1000' },
    });
    assert.deepEqual(altered, { ok: true });
    const admin = new Admin({ clientId: 'settings-test', bootstrapBrokers: [broker.bootstrap] });
    try {
      await admin.incrementalAlterConfigs({
        resources: [
          {
            resourceType: BROKER,
            resourceName: '',
            configs: [{ name: 'log.retention.ms', configOperation: 0, value: '3600000' }],
          },
        ],
      });
    } finally {
      await admin.close();
    }
    assert.equal(await produceSized(broker.bootstrap, 'dynamic', 6000), 'MESSAGE_TOO_LARGE');

    for (let round = 0; round < 2; round++) {
      const described = await pythonAdmin({
        bootstrap: broker.bootstrap,
        op: 'describe',
        broker: nodeId,
      });
      assert.ok(described.ok && described.configs !== undefined, JSON.stringify(described));
      const configs = described.configs;
      assert.deepEqual(configs['message.max.bytes'], ['5000', source.DYNAMIC_BROKER_CONFIG, false]);
      assert.deepEqual(configs['max.connections'], ['1000', source.DYNAMIC_BROKER_CONFIG, false]);
      assert.deepEqual(configs['log.retention.ms'], [
        '3600000',
        source.DYNAMIC_DEFAULT_BROKER_CONFIG,
        false,
      ]);
      const clusterDefault = await describeConfigs(broker.bootstrap, BROKER, '');
      assert.deepEqual([...clusterDefault.keys()], ['log.retention.ms']);
      const topic = await describeConfigs(broker.bootstrap, TOPIC, 'dynamic');
      assert.equal(topic.get('retention.ms')?.source, source.DYNAMIC_DEFAULT_BROKER_CONFIG);
      assert.equal(topic.get('max.message.bytes')?.value, '5000');
      if (round === 0) {
        await current.stop();
        current = await broker.start();
      }
    }
    assert.equal(await produceSized(broker.bootstrap, 'dynamic', 6000), 'MESSAGE_TOO_LARGE');
  });

  it('refuses static, unknown and ill-typed configs on the broker resource', async () => {
    const broker = await start({});
    const alter = (configs: Record<string, string>): Promise<PythonAnswer> =>
      pythonAdmin({
        bootstrap: broker.bootstrap,
        op: 'alter',
        broker: String(broker.nodeId),
        configs,
      });
    const fixed = await alter({ 'num.partitions': '7' });
    assert.ok(!fixed.ok && fixed.code === 42, JSON.stringify(fixed));
    assert.match(fixed.error, /Cannot update these configs dynamically: Set\(num\.partitions\)/);
    const unknown = await alter({ 'no.such.config': '1' });
    assert.ok(!unknown.ok && unknown.code === 40, JSON.stringify(unknown));
    const badValue = await alter({ 'max.connections': 'lots' });
    assert.ok(!badValue.ok && badValue.code === 42, JSON.stringify(badValue));
    const configs = await describeConfigs(broker.bootstrap, BROKER, String(broker.nodeId));
    assert.equal(configs.get('max.connections')?.source, source.DEFAULT_CONFIG, 'nothing changed');
    assert.equal(configs.get('num.partitions')?.value, '1');
  });

  it('stops with exit code 2 and names the key and its origin for a bad setting', async () => {
    const dir = await dataDir();
    const file = join(dir, 'bad.properties');
    await writeFile(file, '# ok so far\nnum.partitions=2\nlog.segment.bytes=big\n');
    const cases: { args: string[]; env?: Record<string, string>; expect: RegExp[] }[] = [
      { args: ['--override', 'no.such.key=1'], expect: [/no\.such\.key/, /--override/] },
      {
        args: ['--override', 'num.partitions=zero'],
        expect: [/num\.partitions/, /--override/, /expected int/],
      },
      { args: ['--config', file], expect: [/log\.segment\.bytes/, /bad\.properties:3/, /int/] },
      {
        args: [],
        env: { TRIBUTARY_AUTO_CREATE_TOPICS_ENABLE: 'sometimes' },
        expect: [/auto\.create\.topics\.enable/, /TRIBUTARY_AUTO_CREATE_TOPICS_ENABLE/, /boolean/],
      },
    ];
    for (const { args, env, expect } of cases) {
      const run = await runCommand(
        process.execPath,
        [cliMainPath, 'start', '--data-dir', join(dir, 'data'), ...args],
        { timeoutMs: commandTimeoutMs, env: env ?? {} },
      );
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      for (const pattern of expect) assert.match(run.stderr, pattern);
      assert.doesNotMatch(run.stdout, /ready/);
    }
  });

  it('prints every setting for tributary --help and tributary start -h', async () => {
    for (const args of [['--help'], ['start', '-h'], ['start', '--help']]) {
      const run = await runCommand(process.execPath, [cliMainPath, ...args], {
        timeoutMs: commandTimeoutMs,
      });
      assert.equal(run.code, 0, run.stderr);
      for (const name of ['--override', '--config', 'num.partitions', 'max.connections']) {
        assert.ok(run.stdout.includes(name), `${args.join(' ')} lists ${name}`);
      }
      assert.ok(run.stdout.includes('TRIBUTARY_LOG_RETENTION_MS'));
    }
    const groups = await runCommand(process.execPath, [cliMainPath, 'groups', '--help'], {
      timeoutMs: commandTimeoutMs,
    });
    assert.equal(groups.code, 0);
    assert.match(groups.stdout, /tributary groups list/);
  });
});
