/**
 * A Kafka Streams 4.x application with processing.guarantee=exactly_once_v2 against an
 * in-process broker: the word count of packages/testing/java (WordCount.java), run as its own
 * JVM. Streams creates its repartition and changelog topics, commits in transactions spanning
 * three topics and its consumer offsets, reads with read_committed and purges consumed
 * repartition records with DeleteRecords.
 *
 * The output (word -> count as an 8-byte big-endian long) is read with read_committed by the
 * Java client's line driver and checked exactly: for every word the counts it shows only grow,
 * never pass what the input implies, and end at exactly the number of times the word was sent.
 * The second step SIGKILLs the app as soon as its first write for a new batch shows in the
 * repartition topic (a 5 s commit interval keeps that transaction open) and restarts it on the
 * same state dir: exactly-once means the final counts are still exact (nothing counted twice
 * from the aborted transaction, nothing lost).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBroker, type RunningBroker } from '@tributary/broker';
import {
  javaCommand,
  javaDriverCommand,
  javaWordCountMainClass,
  LineClientDriver,
  tempDir,
  type IsolationLevel,
  type ProduceRecord,
  type TempDir,
} from '../../src/index.ts';

const partitionCount = 3;
const sentencesPerBatch = 300;
const stepTimeoutMs = 300_000;
const runningTimeoutMs = 120_000;
const countsTimeoutMs = 180_000;
const readWindowMs = 3_000;
const longCommitIntervalMs = 5_000;
const shortCommitIntervalMs = 200;
const growthTimeoutMs = 60_000;
const growthPollMs = 20;
const stopGraceMs = 30_000;
const stderrTailMaxBytes = 16 * 1024;
const vocabulary = (
  'alpha bravo charlie delta echo foxtrot golf hotel india juliett ' +
  'kilo lima mike november oscar papa quebec romeo sierra tango'
).split(' ');

describe('Kafka Streams word count, exactly_once_v2', { timeout: 3 * stepTimeoutMs }, () => {
  let dir: TempDir | undefined;
  let broker: RunningBroker | undefined;
  let client: LineClientDriver | undefined;
  let app: StreamsApp | undefined;
  const input = `words-in-${process.pid}`;
  const output = `word-counts-${process.pid}`;
  const applicationId = `word-count-${process.pid}`;
  const expected = new Map<string, number>();
  const random = seededRandom(0x5eed);
  const opts = { timeout: stepTimeoutMs };
  const need = (): LineClientDriver => {
    assert.ok(client !== undefined, 'driver not started (see the before hook error)');
    return client;
  };

  const repartition = `${applicationId}-word-counts-repartition`;
  const startApp = async (commitIntervalMs: number): Promise<StreamsApp> => {
    assert.ok(broker !== undefined && dir !== undefined);
    const state = `${dir.path}/streams-state`;
    const commitMs = String(commitIntervalMs);
    app = StreamsApp.start([broker.bootstrap, input, output, applicationId, state, commitMs]);
    await app.waitForRunning();
    return app;
  };

  /** Produces one batch of sentences and adds their words to the expected counts. */
  const produceBatch = async (): Promise<void> => {
    const records: ProduceRecord[] = [];
    for (let index = 0; index < sentencesPerBatch; index++) {
      const length = 3 + Math.floor(random() * 6);
      const pick = (): string => vocabulary[Math.floor(random() * vocabulary.length)] ?? '';
      const words = Array.from({ length }, pick);
      for (const word of words) expected.set(word, (expected.get(word) ?? 0) + 1);
      // Mixed case and punctuation: the app lower-cases and splits on non-word characters.
      const sentence = `${words.join(index % 2 === 0 ? ' ' : ', ')}.`.replace(/^./, (c) =>
        c.toUpperCase(),
      );
      records.push({
        partition: index % partitionCount,
        key: null,
        value: Buffer.from(sentence),
        headers: [],
      });
    }
    await need().produce(input, records, { compression: 'none', idempotent: true });
  };

  before(async () => {
    dir = await tempDir('java-streams');
    broker = await startBroker({ port: 0, host: '127.0.0.1', dataDir: dir.path, quiet: true });
    client = await LineClientDriver.start({
      bootstrap: broker.bootstrap,
      driver: javaDriverCommand(),
      label: 'Java kafka-clients (streams checker)',
    });
  });

  after(async () => {
    await app?.stop();
    await client?.close();
    await broker?.close();
    await dir?.remove();
  });

  test('counts every word of a batch exactly', opts, async () => {
    await need().createTopic(input, partitionCount);
    await need().createTopic(output, partitionCount);
    // A long commit interval, so the next step can kill the app inside an open transaction.
    await startApp(longCommitIntervalMs);
    await produceBatch();
    await waitForExactCounts(need(), output, expected, () => app?.stderr() ?? '');
  });

  test('SIGKILLed inside a transaction and restarted: counts stay exact', opts, async (t) => {
    const watermarks = await highWatermarks(need(), repartition);
    await produceBatch();
    // The app's first write for this batch opens a transaction that commits up to
    // longCommitIntervalMs later: kill it as soon as that write shows.
    await waitForGrowth(need(), repartition, watermarks);
    app?.kill();
    await app?.exited;
    await produceBatch();
    await startApp(shortCommitIntervalMs);
    await produceBatch();
    await waitForExactCounts(need(), output, expected, () => app?.stderr() ?? '');
    // Where the kill lands is up to the scheduler; say whether it cut a transaction short.
    const aborted = await abortedRecords(need(), repartition);
    t.diagnostic(`${aborted} records of the killed transaction aborted in ${repartition}`);
  });

  test('stops cleanly when asked (stdin closed)', opts, async () => {
    assert.ok(app !== undefined);
    const code = await app.stop();
    assert.equal(code, 0, `exit code of a clean shutdown\n${app.stderr()}`);
  });
});

/** The WordCount JVM: its state lines on stdout, its stderr kept for failure messages. */
class StreamsApp {
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  readonly #states: string[] = [];
  #stderr = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-stderrTailMaxBytes);
    });
    if (child.stdout !== null) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const parsed = JSON.parse(line) as { state?: string };
        if (parsed.state !== undefined) this.#states.push(parsed.state);
      });
    }
  }

  static start(args: readonly string[]): StreamsApp {
    const java = javaCommand(javaWordCountMainClass, args);
    return new StreamsApp(spawn(java.command, [...java.args], { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  stderr(): string {
    return this.#stderr;
  }

  async waitForRunning(): Promise<void> {
    const deadline = Date.now() + runningTimeoutMs;
    while (!this.#states.includes('RUNNING')) {
      const shown = `states ${this.#states.join(' -> ')}\n${this.#stderr}`;
      assert.ok(this.#child.exitCode === null, `WordCount exited before RUNNING: ${shown}`);
      assert.ok(Date.now() < deadline, `WordCount not RUNNING in ${runningTimeoutMs} ms: ${shown}`);
      await sleep(200);
    }
  }

  kill(): void {
    this.#child.kill('SIGKILL');
  }

  /** Closes stdin (the app closes Streams and exits); SIGKILL after a grace period. */
  async stop(): Promise<number | null> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return this.exited;
    this.#child.stdin?.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), stopGraceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/**
 * Reads the whole output topic with read_committed until the last count of every word equals
 * `expected`, checking on every read that no word's counts go down or pass what was sent.
 */
async function waitForExactCounts(
  client: LineClientDriver,
  topic: string,
  expected: ReadonlyMap<string, number>,
  appStderr: () => string,
): Promise<void> {
  const deadline = Date.now() + countsTimeoutMs;
  let latest = new Map<string, number>();
  while (Date.now() < deadline) {
    const records = await readOutput(client, topic, 'read_committed');
    latest = checkUpdates(records, expected);
    if (sameCounts(latest, expected)) return;
  }
  assert.deepEqual(
    Object.fromEntries([...latest].toSorted()),
    Object.fromEntries([...expected].toSorted()),
    `final counts after ${countsTimeoutMs} ms\n${appStderr()}`,
  );
}

interface OutputRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
}

/** ListOffsets latest (read_uncommitted: the high watermark) of every partition. */
async function highWatermarks(client: LineClientDriver, topic: string): Promise<bigint[]> {
  const partitions = Array.from({ length: partitionCount }, (_, partition) => partition);
  return Promise.all(
    partitions.map(
      async (partition) => (await client.listOffsets(topic, partition, 'latest')) ?? 0n,
    ),
  );
}

/** Polls until some partition's high watermark passes its `start`. */
async function waitForGrowth(
  client: LineClientDriver,
  topic: string,
  start: readonly bigint[],
): Promise<void> {
  const deadline = Date.now() + growthTimeoutMs;
  for (;;) {
    const now = await highWatermarks(client, topic);
    if (now.some((offset, partition) => offset > (start[partition] ?? 0n))) return;
    assert.ok(Date.now() < deadline, `${topic} did not grow in ${growthTimeoutMs} ms`);
    await sleep(growthPollMs);
  }
}

/**
 * Records only read_uncommitted sees: those of aborted transactions. Streams purges consumed
 * repartition records (DeleteRecords), so only offsets at or above the committed read's first
 * offset of each partition are compared.
 */
async function abortedRecords(client: LineClientDriver, topic: string): Promise<number> {
  const all = await readOutput(client, topic, 'read_uncommitted');
  const committed = await readOutput(client, topic, 'read_committed');
  const seen = new Set(committed.map((record) => `${record.partition}:${record.offset}`));
  const first = new Map<number, number>();
  for (const record of committed) {
    first.set(record.partition, Math.min(first.get(record.partition) ?? Infinity, record.offset));
  }
  return all.filter(
    (record) =>
      record.offset >= (first.get(record.partition) ?? Infinity) &&
      !seen.has(`${record.partition}:${record.offset}`),
  ).length;
}

/** Everything in `topic` that arrives within `readWindowMs` (raw wire records). */
async function readOutput(
  client: LineClientDriver,
  topic: string,
  isolationLevel: IsolationLevel,
): Promise<OutputRecord[]> {
  const fields = {
    topic,
    partitions: partitionCount,
    expectedCount: Number.MAX_SAFE_INTEGER,
    isolationLevel,
  };
  return (await client.call('consumeAll', fields, readWindowMs)) as OutputRecord[];
}

/** The last count per word, after checking each word's counts only grow and stay in bounds. */
function checkUpdates(
  records: readonly OutputRecord[],
  expected: ReadonlyMap<string, number>,
): Map<string, number> {
  const latest = new Map<string, number>();
  for (const record of records) {
    assert.ok(
      record.key !== null && record.value !== null,
      'every output record has key and value',
    );
    const word = Buffer.from(record.key, 'base64').toString('utf8');
    const count = Number(Buffer.from(record.value, 'base64').readBigInt64BE());
    const previous = latest.get(word) ?? 0;
    assert.ok(count > previous, `${word}: count ${count} after ${previous} (must only grow)`);
    assert.ok(
      count <= (expected.get(word) ?? 0),
      `${word}: count ${count} > sent ${expected.get(word) ?? 0}`,
    );
    latest.set(word, count);
  }
  return latest;
}

function sameCounts(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  return a.size === b.size && [...a].every(([word, count]) => b.get(word) === count);
}

/** A small deterministic generator (mulberry32), so a failing run can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
