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
 * from the aborted transaction, nothing lost). Then a second application runs as two instances
 * sharing the tasks; one is SIGKILLed inside a transaction and the survivor, whose transactional
 * id differs, takes its tasks over: the broker has to time the orphaned transaction out and
 * abort it (Streams sets transaction.timeout.ms to 10 s), and the counts must again be exact.
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
  runCommand,
  tempDir,
  type IsolationLevel,
  type ProduceRecord,
  type TempDir,
} from '../../src/index.ts';

const transactionsCommand = 'org.apache.kafka.tools.TransactionsCommand';
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

describe('Kafka Streams word count, exactly_once_v2', { timeout: 5 * stepTimeoutMs }, () => {
  let dir: TempDir | undefined;
  let broker: RunningBroker | undefined;
  let client: LineClientDriver | undefined;
  const apps: StreamsApp[] = [];
  const input = `words-in-${process.pid}`;
  const single = deployment('single');
  const pair = deployment('pair');
  const expected = new Map<string, number>();
  const random = seededRandom(0x5eed);
  const opts = { timeout: stepTimeoutMs };
  const need = (): LineClientDriver => {
    assert.ok(client !== undefined, 'driver not started (see the before hook error)');
    return client;
  };
  const app = (index: number): StreamsApp => {
    const found = apps[index];
    assert.ok(found !== undefined, `app ${index} not started`);
    return found;
  };
  const stderrOf = (): string => apps.map((each) => each.stderr()).join('\n---\n');

  /** Starts one instance of `target` on its own state dir and waits until it is RUNNING. */
  const startApp = async (target: Deployment, state: string, commitMs: number) => {
    assert.ok(broker !== undefined && dir !== undefined);
    const stateDir = `${dir.path}/${state}`;
    const args = [broker.bootstrap, input, target.output, target.applicationId, stateDir];
    const started = StreamsApp.start([...args, String(commitMs)]);
    apps.push(started);
    await started.waitForRunning();
    return started;
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
      const value = Buffer.from(sentence);
      records.push({ partition: index % partitionCount, key: null, value, headers: [] });
    }
    await need().produce(input, records, { compression: 'none', idempotent: true });
  };

  /** Produces a batch and SIGKILLs `victim` as soon as the batch's first write shows. */
  const killInsideTransaction = async (victim: StreamsApp, target: Deployment) => {
    const watermarks = await highWatermarks(need(), target.repartition);
    await produceBatch();
    // The first write for this batch opens a transaction that commits up to
    // longCommitIntervalMs later: kill as soon as it shows.
    await waitForGrowth(need(), target.repartition, watermarks);
    victim.kill();
    await victim.exited;
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
    await Promise.allSettled(apps.map((each) => each.stop()));
    await client?.close();
    await broker?.close();
    await dir?.remove();
  });

  test('counts every word of a batch exactly', opts, async () => {
    await need().createTopic(input, partitionCount);
    await need().createTopic(single.output, partitionCount);
    // A long commit interval, so the next step can kill the app inside an open transaction.
    await startApp(single, 'single-state', longCommitIntervalMs);
    await produceBatch();
    await waitForExactCounts(need(), single.output, expected, stderrOf);
  });

  test('SIGKILLed inside a transaction and restarted: counts stay exact', opts, async (t) => {
    await killInsideTransaction(app(0), single);
    await produceBatch();
    // The same state dir, so the same transactional id: InitProducerId fences the old one.
    await startApp(single, 'single-state', shortCommitIntervalMs);
    await produceBatch();
    await waitForExactCounts(need(), single.output, expected, stderrOf);
    // Where the kill lands is up to the scheduler; say whether it cut a transaction short.
    const aborted = await abortedRecords(need(), single.repartition);
    t.diagnostic(`${aborted} records of the killed transaction aborted in ${single.repartition}`);
  });

  test('stops cleanly when asked (stdin closed)', opts, async () => {
    const code = await app(1).stop();
    assert.equal(code, 0, `exit code of a clean shutdown\n${app(1).stderr()}`);
  });

  test('two instances share the tasks and count everything exactly', opts, async () => {
    await need().createTopic(pair.output, partitionCount);
    await startApp(pair, 'pair-state-a', longCommitIntervalMs);
    await startApp(pair, 'pair-state-b', longCommitIntervalMs);
    await produceBatch();
    // A new application id reads the input from the start: every batch so far.
    await waitForExactCounts(need(), pair.output, expected, stderrOf);
  });

  test('one SIGKILLed inside a transaction: the other takes over exactly', opts, async (t) => {
    // The survivor has its own transactional id, so nothing fences the victim's open
    // transaction: the broker must abort it when it times out before read_committed readers
    // (the survivor restoring the victim's changelog, this test) get past it.
    await killInsideTransaction(app(2), pair);
    await produceBatch();
    await waitForExactCounts(need(), pair.output, expected, stderrOf);
    // Which transactions the broker ended how (CompleteAbort: the victim's, timed out).
    for (const row of await listTransactions(broker?.bootstrap ?? '', pair.applicationId)) {
      t.diagnostic(`transaction ${row}`);
    }
    const code = await app(3).stop();
    assert.equal(code, 0, `the survivor shuts down cleanly\n${app(3).stderr()}`);
  });
});

/** kafka-transactions list: `transactionalId state` of the transactions whose id has `prefix`. */
async function listTransactions(bootstrap: string, prefix: string): Promise<string[]> {
  const java = javaCommand(transactionsCommand, ['--bootstrap-server', bootstrap, 'list']);
  const result = await runCommand(java.command, java.args, { timeoutMs: stopGraceMs });
  assert.equal(result.code, 0, `kafka-transactions list: ${result.stdout}\n${result.stderr}`);
  return result.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cells) => cells[0]?.startsWith(prefix) === true)
    .map((cells) => `${cells[0]} ${cells[3] ?? '?'}`);
}

interface Deployment {
  readonly applicationId: string;
  readonly output: string;
  /** The repartition topic Streams creates for the count's groupBy (store `word-counts`). */
  readonly repartition: string;
}

function deployment(name: string): Deployment {
  const applicationId = `word-count-${name}-${process.pid}`;
  return {
    applicationId,
    output: `word-counts-${name}-${process.pid}`,
    repartition: `${applicationId}-word-counts-repartition`,
  };
}

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
