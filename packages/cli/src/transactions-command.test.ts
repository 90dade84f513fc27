/**
 * `tributary transactions` and the operator APIs behind it, end to end: an in-process broker, a
 * librdkafka transactional producer (python3-confluent-kafka, a child process) left with an open
 * transaction on two partitions and kept alive meanwhile, a second transactional id that
 * committed, then ListTransactions, DescribeTransactions and DescribeProducers on the wire and
 * the CLI run as a child process, as an operator would run it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import {
  ErrorCode,
  describeProducersApi,
  describeTransactionsApi,
  listTransactionsApi,
} from '@tributary/protocol';
import { startBroker, type RunningBroker } from '@tributary/broker';
import { KafkaConnection } from './kafka-connection.ts';

const mainPath = fileURLToPath(new URL('./main.ts', import.meta.url));
const python = '/usr/bin/python3';
const topic = 'payments';
const openId = 'open-txn';
const committedId = 'done-txn';

/** Opens (and leaves open) a transaction on partitions 0 and 1, or commits one on partition 0. */
const producerScript = `
import sys
from confluent_kafka import Producer
bootstrap, txn_id, topic, mode = sys.argv[1:5]
p = Producer({'bootstrap.servers': bootstrap, 'transactional.id': txn_id,
              'transaction.timeout.ms': 60000})
p.init_transactions(20)
p.begin_transaction()
p.produce(topic, b'a', partition=0)
p.produce(topic, b'b', partition=0)
if mode == 'open':
    p.produce(topic, b'c', partition=1)
p.flush(20)
if mode == 'commit':
    p.commit_transaction(20)
print('ready', flush=True)
sys.stdin.read()
`;

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let broker: RunningBroker;
let openProducer: ChildProcessWithoutNullStreams | undefined;

async function runProducer(txnId: string, mode: 'open' | 'commit') {
  const child = spawn(python, ['-c', producerScript, broker.bootstrap, txnId, topic, mode]);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`producer exited ${code}: ${stderr}`)));
  });
  await ready;
  return child;
}

function cli(...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainPath, 'transactions', ...args], {
      env: { ...process.env, TRIBUTARY_BOOTSTRAP: broker.bootstrap },
    });
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

/** The data rows of the table whose header line starts with `firstHeader`. */
function tableRows(text: string, firstHeader: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.split(/\s+/)[0] === firstHeader);
  assert.ok(start >= 0, `no table headed ${firstHeader} in:\n${text}`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    rows.push(line.trim().split(/\s{2,}/));
  }
  return rows;
}

async function withConnection<T>(use: (connection: KafkaConnection) => Promise<T>): Promise<T> {
  const [host = '', port = ''] = broker.bootstrap.split(':');
  const connection = await KafkaConnection.connect({ host, port: Number(port) });
  try {
    return await use(connection);
  } finally {
    connection.close();
  }
}

const skip = existsSync(python) ? false : 'python3-confluent-kafka is not installed';

before(async () => {
  broker = await startBroker({ port: 0, host: '127.0.0.1', inMemory: true, quiet: true });
  await broker.storage.createTopic({ name: topic, partitionCount: 2 });
  if (skip !== false) return;
  const committed = await runProducer(committedId, 'commit');
  committed.stdin.end();
  await once(committed, 'exit');
  openProducer = await runProducer(openId, 'open');
});

after(async () => {
  if (openProducer !== undefined) {
    openProducer.kill('SIGKILL');
    await once(openProducer, 'exit');
  }
  await broker.close();
});

test('ListTransactions filters by state, producer id and duration', { skip }, async () => {
  await withConnection(async (connection) => {
    const all = await connection.request(listTransactionsApi, 1, {});
    assert.equal(all.errorCode, ErrorCode.NONE);
    const states = new Map(all.transactionStates.map((t) => [t.transactionalId, t]));
    assert.equal(states.get(openId)?.transactionState, 'Ongoing');
    assert.equal(states.get(committedId)?.transactionState, 'CompleteCommit');
    const ongoing = await connection.request(listTransactionsApi, 0, {
      stateFilters: ['Ongoing', 'Bogus'],
    });
    assert.deepEqual(ongoing.unknownStateFilters, ['Bogus']);
    assert.deepEqual(
      ongoing.transactionStates.map((t) => t.transactionalId),
      [openId],
    );
    const openPid = states.get(openId)?.producerId ?? -2n;
    const byPid = await connection.request(listTransactionsApi, 1, {
      producerIdFilters: [openPid],
    });
    assert.deepEqual(
      byPid.transactionStates.map((t) => t.transactionalId),
      [openId],
    );
    const long = await connection.request(listTransactionsApi, 1, { durationFilter: 3_600_000n });
    assert.deepEqual(long.transactionStates, []);
    const running = await connection.request(listTransactionsApi, 1, { durationFilter: 0n });
    assert.deepEqual(
      running.transactionStates.map((t) => t.transactionalId),
      [openId],
    );
  });
});

test('DescribeTransactions and DescribeProducers show the open transaction', { skip }, async () => {
  await withConnection(async (connection) => {
    const described = await connection.request(describeTransactionsApi, 0, {
      transactionalIds: [openId, 'never-seen'],
    });
    const [open, unknown] = described.transactionStates;
    assert.equal(open?.errorCode, ErrorCode.NONE);
    assert.equal(open?.transactionState, 'Ongoing');
    assert.equal(open?.transactionTimeoutMs, 60000);
    assert.ok((open?.transactionStartTimeMs ?? -1n) > 0n);
    assert.deepEqual(open?.topics, [{ topic, partitions: [0, 1] }]);
    assert.equal(unknown?.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);

    const producers = await connection.request(describeProducersApi, 0, {
      topics: [
        { name: topic, partitionIndexes: [0, 1, 7] },
        { name: 'missing', partitionIndexes: [0] },
      ],
    });
    const [p0, p1, p7] = producers.topics[0]?.partitions ?? [];
    assert.equal(
      producers.topics[1]?.partitions[0]?.errorCode,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    assert.equal(p7?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const openOn0 = p0?.activeProducers.find((p) => p.producerId === open?.producerId);
    const doneOn0 = p0?.activeProducers.find((p) => p.producerId !== open?.producerId);
    // The committed transaction wrote offsets 0-1 and its marker at 2; the open one starts at 3.
    assert.equal(openOn0?.currentTxnStartOffset, 3n);
    assert.equal(openOn0?.producerEpoch, open?.producerEpoch);
    assert.equal(openOn0?.lastSequence, 1);
    assert.equal(openOn0?.coordinatorEpoch, -1);
    assert.equal(doneOn0?.currentTxnStartOffset, -1n);
    assert.equal(doneOn0?.coordinatorEpoch, 0);
    const openOn1 = p1?.activeProducers.find((p) => p.producerId === open?.producerId);
    assert.equal(openOn1?.currentTxnStartOffset, 0n);
    assert.equal(openOn1?.lastSequence, 0);
  });
});

test('tributary transactions list and describe print tables', { skip }, async () => {
  const listed = await cli('list');
  assert.equal(listed.code, 0, listed.stderr);
  const rows = new Map(tableRows(listed.stdout, 'TRANSACTIONAL-ID').map((r) => [r[0], r]));
  assert.equal(rows.get(openId)?.[2], 'Ongoing');
  assert.equal(rows.get(committedId)?.[2], 'CompleteCommit');

  const ongoing = await cli('list', '--state', 'Ongoing');
  assert.equal(ongoing.code, 0, ongoing.stderr);
  assert.deepEqual(
    tableRows(ongoing.stdout, 'TRANSACTIONAL-ID').map((r) => r[0]),
    [openId],
  );

  const described = await cli('describe', openId);
  assert.equal(described.code, 0, described.stderr);
  const [row] = tableRows(described.stdout, 'TRANSACTIONAL-ID');
  assert.equal(row?.[0], openId);
  assert.equal(row?.[3], 'Ongoing');
  assert.equal(row?.[4], '60000');
  assert.equal(row?.[7], `${topic}-0,${topic}-1`);
  const producerRows = tableRows(described.stdout, 'TOPIC');
  assert.deepEqual(
    producerRows.map((r) => [r[0], r[1], r[6]]),
    [
      [topic, '0', '3'],
      [topic, '1', '0'],
    ],
  );
});

test('tributary transactions exit codes', async () => {
  const unknown = await cli('describe', 'never-seen');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /TRANSACTIONAL_ID_NOT_FOUND/);
  const badState = await cli('list', '--state', 'Running');
  assert.equal(badState.code, 2);
  assert.match(badState.stderr, /unknown transaction state 'Running'/);
  const noId = await cli('describe');
  assert.equal(noId.code, 2);
  const badSub = await cli('abort', openId);
  assert.equal(badSub.code, 2);
  const unreachable = await cli('list', '--bootstrap', '127.0.0.1:1');
  assert.equal(unreachable.code, 1);
});
