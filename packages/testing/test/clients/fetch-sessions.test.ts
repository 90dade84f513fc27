// The Apache Kafka Java consumer uses incremental fetch sessions (KIP-227) against Tributary: it
// opens one with a full fetch, then polls with incremental fetches. The broker writes one
// `fetch session closed` line per session it served incrementally, with the counts; this test
// reads that line after a Java consume, so a broker that silently fell back to full fetches
// (session id 0) would fail here.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type Logger, type RunningBroker } from '@tributary/broker';
import { LineDriverProcess, javaDriverCommand } from '../../src/index.ts';

type Fields = Parameters<Logger['info']>[1];

const lines: { message: string; fields: Fields }[] = [];
const logger: Logger = {
  info: (message, fields) => lines.push({ message, fields }),
  warn: (message, fields) => lines.push({ message, fields }),
  error: (message, fields) => lines.push({ message, fields }),
};

const topic = 'java-sessions';
const partitionCount = 4;
const recordCount = 8;
/** Long enough for the first fetch and several 500 ms incremental polls after it. */
const consumeMs = 10_000;
let broker: RunningBroker;
let driver: LineDriverProcess;

before(async () => {
  broker = await startBroker({ port: 0, host: '127.0.0.1', inMemory: true, logger });
  driver = await LineDriverProcess.start(javaDriverCommand(), 'Java kafka-clients');
});

after(async () => {
  await driver.close();
  await broker.close();
});

test('the Java consumer fetches through an incremental fetch session', async (t) => {
  const bootstrap = broker.bootstrap;
  await driver.request('createTopic', { bootstrap, topic, partitions: partitionCount }, 30_000);
  const records = Array.from({ length: recordCount }, (_, i) => ({
    partition: i % partitionCount,
    key: null,
    value: Buffer.from(`value-${i}`).toString('base64'),
    headers: [],
  }));
  await driver.request(
    'produce',
    { bootstrap, topic, records, compression: 'none', idempotent: false },
    30_000,
  );
  // One more than was produced: the consumer keeps polling (incremental fetches) until timeout.
  const consumed = (await driver.request(
    'consumeAll',
    {
      bootstrap,
      topic,
      partitions: partitionCount,
      expectedCount: recordCount + 1,
      isolationLevel: 'read_uncommitted',
    },
    consumeMs,
  )) as unknown[];
  assert.equal(consumed.length, recordCount);
  const summaries = await closedSessions();
  assert.ok(summaries.length > 0, 'the consumer closed a session it had used incrementally');
  const incremental = summaries.reduce(
    (sum, fields) => sum + Number(fields?.incrementalFetches),
    0,
  );
  assert.ok(incremental > 0, `incremental fetches served: ${incremental}`);
  for (const fields of summaries) {
    t.diagnostic(`session: ${JSON.stringify(fields)}`);
    assert.equal(fields?.partitions, partitionCount, 'the session held the assigned partitions');
  }
});

/** The session summary lines, once the consumer's close (epoch -1 or disconnect) reached us. */
async function closedSessions(): Promise<Fields[]> {
  for (let waitedMs = 0; waitedMs < 10_000; waitedMs += 50) {
    const found = lines.filter((line) => line.message === 'fetch session closed');
    if (found.length > 0) return found.map((line) => line.fields);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return [];
}
