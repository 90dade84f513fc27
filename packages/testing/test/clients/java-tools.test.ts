/**
 * Kafka's own command-line tools (kafka-tools 4.x, built by scripts/build-java-drivers.sh)
 * against an in-process broker, each run from its class as the kafka-*.sh scripts do:
 *
 * - kafka-topics (TopicCommand): --create with a config, --list, --describe, --alter
 *   --partitions, --delete;
 * - kafka-console-producer / kafka-console-consumer: keyed lines in, the same lines out through a
 *   consumer group (classic protocol), which commits on exit;
 * - kafka-consumer-groups (ConsumerGroupCommand): --list, --describe (offsets and lag), the
 *   lag after --reset-offsets --to-earliest --execute and a consumer that then reads everything
 *   again; a live KIP-848 member in --describe --members, --delete refused while it is there;
 * - kafka-groups --list, kafka-configs (add, describe, delete a topic config), kafka-get-offsets,
 *   kafka-delete-records, kafka-transactions describe-producers, and kafka-broker-api-versions
 *   (every API the Java clients use is advertised in a usable version range).
 *
 * Each step checks the tool's exit code and its output text, as an operator would read it. Steps
 * share the topic and groups and run in order: the first failure is the one to read.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBroker, type RunningBroker } from '@tributary/broker';
import { javaCommand, runCommand, tempDir, type TempDir } from '../../src/index.ts';

const topicCommand = 'org.apache.kafka.tools.TopicCommand';
const groupCommand = 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand';
const consoleProducer = 'org.apache.kafka.tools.ConsoleProducer';
const consoleConsumer = 'org.apache.kafka.tools.consumer.ConsoleConsumer';
const configCommand = 'org.apache.kafka.tools.ConfigCommand';
const getOffsetShell = 'org.apache.kafka.tools.GetOffsetShell';
const deleteRecordsCommand = 'org.apache.kafka.tools.DeleteRecordsCommand';
const transactionsCommand = 'org.apache.kafka.tools.TransactionsCommand';
const groupsCommand = 'org.apache.kafka.tools.GroupsCommand';
const apiVersionsCommand = 'org.apache.kafka.tools.BrokerApiVersionsCommand';

/** APIs the Java producer, consumer (both group protocols), admin and tools here use. */
const apisJavaClientsUse = [
  'Produce',
  'Fetch',
  'ListOffsets',
  'Metadata',
  'OffsetCommit',
  'OffsetFetch',
  'FindCoordinator',
  'JoinGroup',
  'Heartbeat',
  'LeaveGroup',
  'SyncGroup',
  'DescribeGroups',
  'ListGroups',
  'ApiVersions',
  'CreateTopics',
  'DeleteTopics',
  'DeleteRecords',
  'InitProducerId',
  'AddPartitionsToTxn',
  'AddOffsetsToTxn',
  'EndTxn',
  'TxnOffsetCommit',
  'DescribeConfigs',
  'IncrementalAlterConfigs',
  'CreatePartitions',
  'DeleteGroups',
  'DescribeCluster',
  'DescribeProducers',
  'ListTransactions',
  'ConsumerGroupHeartbeat',
  'ConsumerGroupDescribe',
];

const toolTimeoutMs = 90_000;
const stepTimeoutMs = 240_000;
const convergeTimeoutMs = 60_000;
const retryPauseMs = 500;
const lineCount = 40;

describe('Kafka command-line tools (kafka-tools 4.x)', { timeout: 10 * stepTimeoutMs }, () => {
  let dir: TempDir | undefined;
  let broker: RunningBroker | undefined;
  let bootstrap = '';
  const topic = `tools-${process.pid}`;
  const group = `tools-group-${process.pid}`;
  const liveGroup = `tools-live-${process.pid}`;
  const lines = Array.from({ length: lineCount }, (_, index) => `key-${index}:value-${index}`);
  const opts = { timeout: stepTimeoutMs };

  /** Runs one tool to completion; fails the step on a non-zero exit, with its output. */
  async function tool(mainClass: string, args: readonly string[], input?: string) {
    const java = javaCommand(mainClass, ['--bootstrap-server', bootstrap, ...args]);
    const result = await runCommand(java.command, java.args, {
      timeoutMs: toolTimeoutMs,
      ...(input === undefined ? {} : { input }),
    });
    const output = `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
    const shown = `${mainClass} ${args.join(' ')}\n${output}`;
    assert.equal(result.timedOut, false, `killed after ${toolTimeoutMs} ms: ${shown}`);
    assert.equal(result.code, 0, `exit ${result.code}: ${shown}`);
    return { stdout: result.stdout, stderr: result.stderr, shown };
  }

  before(async () => {
    // Fails here, naming scripts/build-java-drivers.sh, when nothing is built.
    javaCommand(topicCommand);
    dir = await tempDir('java-tools');
    broker = await startBroker({ port: 0, host: '127.0.0.1', dataDir: dir.path, quiet: true });
    bootstrap = broker.bootstrap;
  });

  after(async () => {
    await broker?.close();
    await dir?.remove();
  });

  test('kafka-topics --create, --list and --describe', opts, async () => {
    const created = await tool(topicCommand, [
      '--create',
      '--topic',
      topic,
      '--partitions',
      '3',
      '--config',
      'retention.ms=3600000',
    ]);
    assert.match(created.stdout, new RegExp(`Created topic ${topic}\\.`), created.shown);
    const listed = await tool(topicCommand, ['--list', '--exclude-internal']);
    assert.ok(listed.stdout.split('\n').includes(topic), listed.shown);
    assert.ok(!listed.stdout.includes('__consumer_offsets'), `internal topic: ${listed.shown}`);
    const described = await tool(topicCommand, ['--describe', '--topic', topic]);
    assert.match(described.stdout, /PartitionCount: 3\s/, described.shown);
    assert.match(described.stdout, /Configs: .*retention\.ms=3600000/, described.shown);
    const partitions = described.stdout.match(/Partition: \d+\s+Leader: \d+/g) ?? [];
    assert.equal(partitions.length, 3, `one line per partition, with a leader: ${described.shown}`);
  });

  test('kafka-topics --alter adds a partition', opts, async () => {
    await tool(topicCommand, ['--alter', '--topic', topic, '--partitions', '4']);
    const described = await tool(topicCommand, ['--describe', '--topic', topic]);
    assert.match(described.stdout, /PartitionCount: 4\s/, described.shown);
  });

  test('kafka-console-producer writes keyed lines', opts, async () => {
    await tool(
      consoleProducer,
      [
        '--topic',
        topic,
        '--reader-property',
        'parse.key=true',
        '--reader-property',
        'key.separator=:',
      ],
      `${lines.join('\n')}\n`,
    );
  });

  test('kafka-get-offsets: the latest offsets add up to the lines produced', opts, async () => {
    const offsets = await getOffsets('-1');
    assert.equal(offsets.size, 4, 'a line per partition');
    assert.equal(sum([...offsets.values()]), lineCount);
  });

  test(
    'kafka-transactions describe-producers: the console producer is idempotent',
    opts,
    async () => {
      const offsets = await getOffsets('-1');
      const partition = [...offsets].find(([, offset]) => offset > 0)?.[0] ?? 0;
      const out = await tool(transactionsCommand, [
        'describe-producers',
        '--topic',
        topic,
        '--partition',
        String(partition),
      ]);
      const producers = tableRows(out.stdout, 'ProducerId');
      assert.equal(producers.length, 1, `one producer wrote partition ${partition}: ${out.shown}`);
      assert.ok(Number(producers[0]?.['ProducerId']) >= 0, out.shown);
      const lastSequence = Number(producers[0]?.['LastSequence']);
      assert.equal(lastSequence, (offsets.get(partition) ?? 0) - 1, `last sequence: ${out.shown}`);
    },
  );

  test('kafka-configs --alter --add-config, --describe, --delete-config', opts, async () => {
    const entity = ['--entity-type', 'topics', '--entity-name', topic];
    await tool(configCommand, [...entity, '--alter', '--add-config', 'retention.ms=7200000']);
    const described = await tool(configCommand, [...entity, '--describe']);
    assert.match(described.stdout, /^\s*retention\.ms=7200000 /m, described.shown);
    await tool(configCommand, [...entity, '--alter', '--delete-config', 'retention.ms']);
    const afterDelete = await tool(configCommand, [...entity, '--describe']);
    assert.doesNotMatch(afterDelete.stdout, /retention\.ms=/, afterDelete.shown);
  });

  test('kafka-console-consumer reads them back in a group', opts, async () => {
    const read = await readInGroup(group);
    assert.deepEqual(read.toSorted(), lines.toSorted(), 'the keyed lines, each once');
  });

  test('kafka-consumer-groups --list and --describe show the committed offsets', opts, async () => {
    const listed = await tool(groupCommand, ['--list']);
    assert.ok(listed.stdout.split('\n').includes(group), listed.shown);
    const rows = await describeOffsets(group);
    assert.equal(rows.length, 4, 'a row per partition');
    assert.equal(sum(rows.map((row) => row.logEnd)), lineCount, 'log end offsets add up');
    for (const row of rows) {
      assert.equal(row.current, row.logEnd, `partition ${row.partition} fully committed`);
      assert.equal(row.lag, 0, `partition ${row.partition} lag`);
    }
  });

  test('kafka-groups --list shows the group as a classic consumer group', opts, async () => {
    const out = await tool(groupsCommand, ['--list']);
    const row = tableRows(out.stdout, 'PROTOCOL').find((cells) => cells['GROUP'] === group);
    assert.deepEqual(row, { GROUP: group, TYPE: 'Classic', PROTOCOL: 'consumer' }, out.shown);
  });

  test('kafka-consumer-groups --reset-offsets --to-earliest --execute', opts, async () => {
    const reset = await tool(groupCommand, [
      '--reset-offsets',
      '--group',
      group,
      '--topic',
      topic,
      '--to-earliest',
      '--execute',
    ]);
    const newOffsets = tableRows(reset.stdout, 'NEW-OFFSET');
    assert.equal(newOffsets.length, 4, reset.shown);
    assert.ok(
      newOffsets.every((row) => row['NEW-OFFSET'] === '0'),
      reset.shown,
    );
    const rows = await describeOffsets(group);
    assert.ok(
      rows.every((row) => row.current === 0 && row.lag === row.logEnd),
      'offsets at 0',
    );
    assert.equal(sum(rows.map((row) => row.lag)), lineCount, 'the whole topic is lag again');
    const again = await readInGroup(group);
    assert.deepEqual(again.toSorted(), lines.toSorted(), 'the group reads everything again');
  });

  test('a live KIP-848 member: --describe --members, and --delete refused', opts, async () => {
    const member = startLiveConsumer(liveGroup);
    try {
      const members = await waitFor(async () => {
        const out = await tool(groupCommand, ['--describe', '--group', liveGroup, '--members']);
        const rows = tableRows(out.stdout, '#PARTITIONS');
        return rows.length === 1 && rows[0]?.['#PARTITIONS'] === '4' ? rows : undefined;
      }, 'one member holding all 4 partitions');
      assert.equal(members[0]?.['CLIENT-ID'], 'console-consumer');
      const refused = await tool(groupCommand, ['--delete', '--group', liveGroup]);
      assert.match(refused.stdout + refused.stderr, /GroupNotEmptyException/, refused.shown);
    } finally {
      await stopProcess(member);
    }
    await waitFor(async () => {
      const out = await tool(groupCommand, ['--describe', '--group', liveGroup, '--state']);
      return /\sEmpty\s+0\s*$/m.test(out.stdout) ? true : undefined;
    }, 'the group empty once its member closed');
    const deleted = await tool(groupCommand, ['--delete', '--group', liveGroup]);
    assert.match(deleted.stdout, /was successful/, deleted.shown);
    const listed = await tool(groupCommand, ['--list']);
    assert.ok(!listed.stdout.split('\n').includes(liveGroup), listed.shown);
  });

  test('kafka-delete-records moves the log start, as kafka-get-offsets shows', opts, async () => {
    const latest = await getOffsets('-1');
    const partition = [...latest].find(([, offset]) => offset > 1)?.[0] ?? 0;
    const file = `${dir?.path ?? '.'}/delete-records.json`;
    const spec = { version: 1, partitions: [{ topic, partition, offset: 1 }] };
    await writeFile(file, JSON.stringify(spec));
    const out = await tool(deleteRecordsCommand, ['--offset-json-file', file]);
    const deleted = new RegExp(`partition: ${topic}-${partition}\\s+low_watermark: 1`);
    assert.match(out.stdout, deleted, out.shown);
    const earliest = await getOffsets('-2');
    assert.equal(earliest.get(partition), 1, `log start of partition ${partition}`);
  });

  test('kafka-broker-api-versions: every API the Java clients use is usable', opts, async () => {
    const out = await tool(apiVersionsCommand, []);
    for (const api of apisJavaClientsUse) {
      const usable = new RegExp(`\\b${api}\\(\\d+\\): [^\\n]*\\[usable: \\d+\\]`);
      assert.match(out.stdout, usable, `${api} not usable by the Java client\n${out.shown}`);
    }
  });

  test('kafka-topics --delete', opts, async () => {
    await tool(topicCommand, ['--delete', '--topic', topic]);
    await waitFor(async () => {
      const listed = await tool(topicCommand, ['--list']);
      return listed.stdout.split('\n').includes(topic) ? undefined : true;
    }, `${topic} gone from --list`);
  });

  async function readInGroup(groupId: string): Promise<string[]> {
    const read = await tool(consoleConsumer, [
      '--topic',
      topic,
      '--group',
      groupId,
      '--from-beginning',
      '--max-messages',
      String(lineCount),
      '--timeout-ms',
      String(convergeTimeoutMs),
      '--formatter-property',
      'print.key=true',
      '--formatter-property',
      'key.separator=:',
    ]);
    assert.match(read.stderr, new RegExp(`Processed a total of ${lineCount} messages`), read.shown);
    return read.stdout.split('\n').filter((line) => line !== '');
  }

  /** GetOffsetShell's `topic:partition:offset` lines for `--time` (-1 latest, -2 earliest). */
  async function getOffsets(time: string): Promise<Map<number, number>> {
    const out = await tool(getOffsetShell, ['--topic', topic, '--time', time]);
    const offsets = new Map<number, number>();
    for (const line of out.stdout.split('\n')) {
      const match = /^(.+):(\d+):(\d+)$/.exec(line.trim());
      if (match?.[1] === topic) offsets.set(Number(match[2]), Number(match[3]));
    }
    return offsets;
  }

  async function describeOffsets(groupId: string): Promise<OffsetRow[]> {
    const out = await tool(groupCommand, ['--describe', '--group', groupId]);
    return tableRows(out.stdout, 'LOG-END-OFFSET')
      .filter((row) => row['TOPIC'] === topic)
      .map((row) => ({
        partition: Number(row['PARTITION']),
        current: Number(row['CURRENT-OFFSET']),
        logEnd: Number(row['LOG-END-OFFSET']),
        lag: Number(row['LAG']),
      }))
      .toSorted((a, b) => a.partition - b.partition);
  }

  function startLiveConsumer(groupId: string): ChildProcess {
    const java = javaCommand(consoleConsumer, [
      '--bootstrap-server',
      bootstrap,
      '--topic',
      topic,
      '--group',
      groupId,
      '--command-property',
      'group.protocol=consumer',
    ]);
    return spawn(java.command, [...java.args], { stdio: ['pipe', 'ignore', 'ignore'] });
  }
});

interface OffsetRow {
  readonly partition: number;
  readonly current: number;
  readonly logEnd: number;
  readonly lag: number;
}

/** The rows of the tools' whitespace-aligned tables: the header line is the one naming `column`. */
function tableRows(text: string, column: string): Record<string, string>[] {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const rows: Record<string, string>[] = [];
  let header: string[] | undefined;
  for (const line of lines) {
    const cells = line.trim().split(/\s+/);
    if (cells.includes(column)) {
      header = cells;
    } else if (header !== undefined && cells.length === header.length) {
      rows.push(Object.fromEntries(header.map((name, index) => [name, cells[index] ?? ''])));
    }
  }
  return rows;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** Retries `probe` until it returns a value, for at most `convergeTimeoutMs`. */
async function waitFor<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + convergeTimeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`not reached in ${convergeTimeoutMs} ms: ${what}`);
    await sleep(retryPauseMs);
  }
}

/** SIGTERM (the consumer's shutdown hook closes it and leaves the group), SIGKILL if stuck. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), toolTimeoutMs);
  await exited;
  clearTimeout(timer);
}
