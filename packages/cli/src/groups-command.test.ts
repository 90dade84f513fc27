/**
 * `tributary groups` end to end: an in-process broker, a real consumer group formed by kafkajs,
 * and the CLI run as a child process, as an operator would run it. Checks the list and describe
 * tables (lag in offsets and, from record timestamps set an hour back, in seconds), and
 * reset-offsets: refused while a member is active, a preview that changes nothing, --execute
 * that commits, and clamping to the log.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import kafkajs, { type Consumer } from 'kafkajs';
import { startBroker, type RunningBroker } from '@tributary/broker';

const { logLevel } = kafkajs;
const mainPath = fileURLToPath(new URL('./main.ts', import.meta.url));
const topic = 'orders';
const group = 'billing';
const hourMs = 3_600_000;

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let broker: RunningBroker;
let consumer: Consumer | undefined;

function cli(...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      mainPath,
      'groups',
      ...args,
      '--bootstrap',
      broker.bootstrap,
    ]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The data rows of the table whose header line starts with the words `firstHeaders`. */
function tableRows(text: string, ...firstHeaders: string[]): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((line) =>
    firstHeaders.every((header, i) => line.split(/\s+/)[i] === header),
  );
  assert.ok(start >= 0, `no table headed ${firstHeaders.join(' ')} in:\n${text}`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    rows.push(line.trim().split(/\s{2,}/));
  }
  return rows;
}

function offsetRows(text: string): Map<number, string[]> {
  return new Map(tableRows(text, 'GROUP', 'TOPIC').map((row) => [Number(row[2]), row]));
}

before(async () => {
  broker = await startBroker({ port: 0, host: '127.0.0.1', inMemory: true, quiet: true });
  await broker.storage.createTopic({ name: topic, partitionCount: 2 });
  const kafka = new kafkajs.Kafka({
    clientId: 'groups-test',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer();
  await producer.connect();
  const old = String(Date.now() - hourMs);
  await producer.send({
    topic,
    messages: [0, 1, 2, 3, 4].map((i) => ({ partition: 0, value: `old-${i}`, timestamp: old })),
  });
  await producer.send({
    topic,
    messages: [0, 1, 2, 3].map((i) => ({ partition: 1, value: `new-${i}` })),
  });
  await producer.disconnect();
  consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  const allSeen = new Promise<void>((resolve) => {
    void consumer?.run({
      autoCommit: false,
      eachMessage: async () => {
        seen += 1;
        if (seen === 9) resolve();
      },
    });
  });
  await allSeen;
  await consumer.commitOffsets([
    { topic, partition: 0, offset: '2' },
    { topic, partition: 1, offset: '4' },
  ]);
});

after(async () => {
  await consumer?.disconnect();
  await broker.close();
});

test('an active group: describe shows its member and assignment; reset is refused', async () => {
  const described = await cli('describe', group);
  assert.equal(described.code, 0, described.stderr);
  assert.match(described.stdout, /STATE Stable/);
  const [member] = tableRows(described.stdout, 'MEMBER-ID');
  assert.equal(member?.[2], 'groups-test');
  assert.equal(member?.at(-1), `${topic}:0,1`);
  const rows = offsetRows(described.stdout);
  assert.equal(rows.get(0)?.[7], member?.[0], 'partition 0 names its owner');

  const refused = await cli('reset-offsets', group, '--topic', topic, '--to-earliest', '--execute');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /inactive.*Stable/);
});

test('after the consumer leaves: list and describe show lag in offsets and seconds', async () => {
  await consumer?.disconnect();
  consumer = undefined;
  const listed = await cli('list');
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(
    tableRows(listed.stdout, 'GROUP').find((row) => row[0] === group),
    [group, 'classic', 'Empty', 'consumer'],
  );
  const described = await cli('describe', group);
  assert.equal(described.code, 0, described.stderr);
  assert.match(described.stdout, /STATE Empty/);
  const rows = offsetRows(described.stdout);
  // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG LAG-SECONDS MEMBER-ID ...
  assert.deepEqual(rows.get(0)?.slice(0, 6), [group, topic, '0', '2', '5', '3']);
  const lagSeconds = Number(rows.get(0)?.[6]);
  assert.ok(lagSeconds >= 3600 && lagSeconds < 3660, `lag seconds ${lagSeconds}`);
  assert.deepEqual(rows.get(1)?.slice(0, 7), [group, topic, '1', '4', '4', '0', '0']);
});

test('reset-offsets previews without committing, then commits with --execute', async () => {
  const preview = await cli('reset-offsets', group, '--topic', topic, '--to-earliest');
  assert.equal(preview.code, 0, preview.stderr);
  assert.deepEqual(
    [...offsetRows(preview.stdout).values()],
    [
      [group, topic, '0', '2', '0'],
      [group, topic, '1', '4', '0'],
    ],
  );
  assert.match(preview.stderr, /--execute/);
  assert.equal(offsetRows((await cli('describe', group)).stdout).get(0)?.[3], '2');

  const executed = await cli(
    'reset-offsets',
    group,
    '--topic',
    topic,
    '--to-earliest',
    '--execute',
  );
  assert.equal(executed.code, 0, executed.stderr);
  const reset = offsetRows((await cli('describe', group)).stdout);
  assert.equal(reset.get(0)?.[3], '0');
  assert.equal(reset.get(1)?.[3], '0');
});

test('reset-offsets modes: shift, clamped offset, duration and datetime', async () => {
  const newOffsets = async (...mode: string[]): Promise<string[]> => {
    const topicArgs = mode.includes('--topic') ? [] : ['--topic', topic];
    const result = await cli('reset-offsets', group, ...topicArgs, ...mode, '--execute');
    assert.equal(result.code, 0, result.stderr);
    return [...offsetRows(result.stdout).values()].map((row) => row[4] ?? '');
  };
  assert.deepEqual(await newOffsets('--shift-by', '3'), ['3', '3']);
  assert.deepEqual(await newOffsets('--shift-by', '-1'), ['2', '2']);
  assert.deepEqual(await newOffsets('--to-offset', '100'), ['5', '4']);
  assert.deepEqual(await newOffsets('--to-latest'), ['5', '4']);
  // Partition 0's records are an hour old, partition 1's are new.
  assert.deepEqual(await newOffsets('--by-duration', 'PT30M'), ['5', '0']);
  assert.deepEqual(await newOffsets('--by-duration', 'PT2H'), ['0', '0']);
  const halfHourAgo = new Date(Date.now() - hourMs / 2).toISOString();
  assert.deepEqual(await newOffsets('--to-datetime', halfHourAgo), ['5', '0']);
  assert.deepEqual(await newOffsets('--topic', `${topic}:1`, '--to-offset', '1'), ['1']);
  const described = offsetRows((await cli('describe', group)).stdout);
  assert.deepEqual([described.get(0)?.[3], described.get(1)?.[3]], ['5', '1']);
});

test('usage errors exit 2, broker errors exit 1', async () => {
  const noMode = await cli('reset-offsets', group, '--topic', topic);
  assert.equal(noMode.code, 2);
  assert.match(noMode.stderr, /exactly one of/);
  const badDuration = await cli('reset-offsets', group, '--topic', topic, '--by-duration', '10m');
  assert.equal(badDuration.code, 2);
  const unknownTopic = await cli('reset-offsets', group, '--topic', 'nope', '--to-latest');
  assert.equal(unknownTopic.code, 1);
  assert.match(unknownTopic.stderr, /UNKNOWN_TOPIC_OR_PARTITION/);
  const missing = await cli('describe', 'no-such-group');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /does not exist/);
});
