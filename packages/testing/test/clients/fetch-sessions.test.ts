// The Apache Kafka Java consumer and franz-go use incremental fetch sessions (KIP-227) against
// Tributary: each opens one with a full fetch, then polls with incremental fetches. The broker
// writes one `fetch session closed` line per session it served incrementally, with the counts;
// these tests read that line after a consume, so a broker that silently fell back to full
// fetches (session id 0) would fail here.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type Logger, type RunningBroker } from '@tributary/broker';
import { LineDriverProcess, franzGoDriverCommand, javaDriverCommand } from '../../src/index.ts';

type Fields = Parameters<Logger['info']>[1];

const lines: { message: string; fields: Fields }[] = [];
const logger: Logger = {
  info: (message, fields) => lines.push({ message, fields }),
  warn: (message, fields) => lines.push({ message, fields }),
  error: (message, fields) => lines.push({ message, fields }),
};

const partitionCount = 4;
const recordCount = 8;
/** Long enough for the first fetch and several 500 ms incremental polls after it. */
const consumeMs = 10_000;
let broker: RunningBroker;

before(async () => {
  broker = await startBroker({ port: 0, host: '127.0.0.1', inMemory: true, logger });
});

after(async () => {
  await broker.close();
});

for (const [label, command] of [
  ['Java kafka-clients', javaDriverCommand],
  ['franz-go', franzGoDriverCommand],
] as const) {
  test(`${label} fetches through an incremental fetch session`, async (t) => {
    const driver = await LineDriverProcess.start(command(), label);
    try {
      const summaries = await consumeThroughSession(driver, `sessions-${driver.client}`);
      assert.ok(summaries.length > 0, 'the consumer closed a session it had used incrementally');
      let incremental = 0;
      for (const fields of summaries) {
        t.diagnostic(`session: ${JSON.stringify(fields)}`);
        incremental += Number(fields?.incrementalFetches);
        assert.equal(
          fields?.partitions,
          partitionCount,
          'the session held the assigned partitions',
        );
      }
      assert.ok(incremental > 0, `incremental fetches served: ${incremental}`);
    } finally {
      await driver.close();
    }
  });
}

/**
 * Produces `recordCount` records, consumes them with one more expected (so the consumer keeps
 * polling, with incremental fetches, until its time is up) and returns the session summaries.
 */
async function consumeThroughSession(driver: LineDriverProcess, topic: string): Promise<Fields[]> {
  const bootstrap = broker.bootstrap;
  lines.length = 0;
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
  return closedSessions();
}

/** The session summary lines, once the consumer's close (epoch -1 or disconnect) reached us. */
async function closedSessions(): Promise<Fields[]> {
  for (let waitedMs = 0; waitedMs < 10_000; waitedMs += 50) {
    const found = lines.filter((line) => line.message === 'fetch session closed');
    if (found.length > 0) return found.map((line) => line.fields);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return [];
}
