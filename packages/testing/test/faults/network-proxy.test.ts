/**
 * A hostile network between clients and the broker (RELIABILITY.md §5.4 F6): every client byte
 * goes through a TCP proxy written here with node:net. The broker advertises the proxy's address,
 * so librdkafka's bootstrap and every later connection pass through it. The proxy
 *   - splits each chunk into random fragments and delays some of them (order within one
 *     direction of one connection is kept: TCP never reorders bytes, and corrupting the stream
 *     is bad-input.test.ts's job), so frames arrive in pieces and responses arrive late, and
 *     connections overtake each other;
 *   - cuts a random live connection (both sides, pending fragments dropped) at random moments,
 *     often in the middle of a frame.
 * An idempotent acks=all librdkafka producer writes through it while it cuts; afterwards a
 * librdkafka reader, also through it and also being cut, must find every acknowledged record
 * exactly once, at its acknowledged offset, with each partition in the order it was sent.
 *
 * The schedule is seeded: the test prints FAULT_SEED, and FAULT_SEED=<seed> replays the same
 * cut and delay choices (the interleaving with the broker still varies).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RestartableBroker } from '../../src/index.ts';
import { checkAckedRecords } from './durability-check.ts';
import { faultSeed, randomInt, seededRandom } from './fault-seed.ts';
import {
  createTopic,
  readTopic,
  startProducer,
  type AckLine,
  type DriverProcess,
  type RecordLine,
} from './python-driver.ts';

const topic = 'network-faults';
const partitionCount = 3;
const producerRatePerSecond = 300;
/** Cuts while producing; the reader is cut on the same schedule. */
const produceCuts = 20;
const produceCutIntervalMs = { min: 150, max: 1200 };
/** The read-back takes a second or two: cut it more often. */
const readCutIntervalMs = { min: 20, max: 300 };
/** Share of fragments held back, and for how long; a few are held long ("late responses"). */
const delayedFragmentShare = 0.3;
const shortDelayMs = { min: 1, max: 25 };
const longDelayShare = 0.03;
const longDelayMs = { min: 200, max: 800 };
const maxFragmentsPerChunk = 4;

const seed = faultSeed();
const random = seededRandom(seed);
const dataDir = mkdtempSync(join(tmpdir(), 'tributary-network-'));
let broker: RestartableBroker | undefined;
let producer: DriverProcess | undefined;
let proxy: FaultyProxy | undefined;

after(async () => {
  producer?.kill();
  proxy?.close();
  await broker?.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

interface ProxiedConnection {
  readonly client: Socket;
  readonly upstream: Socket;
}

/** Forwards 127.0.0.1:<port> to the broker, fragmenting, delaying and (on request) cutting. */
class FaultyProxy {
  readonly #server: Server;
  readonly #live = new Set<ProxiedConnection>();
  targetPort = 0;
  cuts = 0;
  connections = 0;
  fragments = 0;
  delayedFragments = 0;

  constructor() {
    this.#server = createServer((client) => this.#accept(client));
  }

  listen(): Promise<number> {
    return new Promise((done) => {
      this.#server.listen(0, '127.0.0.1', () => {
        const address = this.#server.address();
        assert.ok(address !== null && typeof address === 'object');
        done(address.port);
      });
    });
  }

  #accept(client: Socket): void {
    this.connections += 1;
    const upstream = connect({ host: '127.0.0.1', port: this.targetPort });
    const pair = { client, upstream };
    this.#live.add(pair);
    const close = (): void => {
      this.#live.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', close);
      socket.on('close', close);
    }
    this.#pipe(client, upstream);
    this.#pipe(upstream, client);
  }

  /** Order-preserving: each fragment waits for the one before it on this direction. */
  #pipe(from: Socket, to: Socket): void {
    let chain = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      for (const fragment of this.#fragments(chunk)) {
        const delayMs = this.#delayMs();
        this.fragments += 1;
        if (delayMs > 0) this.delayedFragments += 1;
        chain = chain.then(async () => {
          if (delayMs > 0) await sleep(delayMs);
          if (!to.destroyed) to.write(fragment);
        });
      }
    });
  }

  #fragments(chunk: Buffer): Buffer[] {
    const count = Math.min(chunk.length, randomInt(random, 1, maxFragmentsPerChunk));
    const cuts = new Set<number>();
    while (cuts.size < count - 1) cuts.add(randomInt(random, 1, chunk.length - 1));
    const points = [0, ...[...cuts].toSorted((a, b) => a - b), chunk.length];
    return points.slice(1).map((end, index) => chunk.subarray(points[index], end));
  }

  #delayMs(): number {
    if (random() >= delayedFragmentShare) return 0;
    if (random() < longDelayShare) return randomInt(random, longDelayMs.min, longDelayMs.max);
    return randomInt(random, shortDelayMs.min, shortDelayMs.max);
  }

  /** Destroys one live connection, chosen at random; false when none is open. */
  cutOne(): boolean {
    const live = [...this.#live];
    if (live.length === 0) return false;
    const victim = live[randomInt(random, 0, live.length - 1)];
    assert.ok(victim);
    this.#live.delete(victim);
    victim.client.destroy();
    victim.upstream.destroy();
    this.cuts += 1;
    return true;
  }

  close(): void {
    for (const { client, upstream } of this.#live) {
      client.destroy();
      upstream.destroy();
    }
    this.#server.close();
  }
}

/** Cuts on the seeded schedule until `stop.done` or `limit` cuts; returns their moments (ms). */
async function cutUntil(
  faulty: FaultyProxy,
  stop: { done: boolean },
  limit: number,
  intervalMs: { min: number; max: number },
): Promise<number[]> {
  const started = Date.now();
  const moments: number[] = [];
  while (!stop.done && moments.length < limit) {
    await sleep(randomInt(random, intervalMs.min, intervalMs.max));
    if (!stop.done && faulty.cutOne()) moments.push(Date.now() - started);
  }
  return moments;
}

/**
 * Exactly once and in order: no producer key appears twice in the log, and within a partition
 * the producer's sequence numbers (`<prefix>-<n>`, sent in increasing n) increase with offset.
 */
function checkExactlyOnceInOrder(records: readonly RecordLine[]): string[] {
  const violations: string[] = [];
  const seen = new Map<string, string>();
  const lastSequence = new Map<number, number>();
  for (const record of records.toSorted((a, b) => a.p - b.p || a.o - b.o)) {
    const where = `${record.p}/${record.o}`;
    const key = record.k ?? '';
    const earlier = seen.get(key);
    if (earlier !== undefined) violations.push(`${key} stored twice: ${earlier} and ${where}`);
    seen.set(key, where);
    const sequence = Number(key.slice(key.lastIndexOf('-') + 1));
    if (sequence <= (lastSequence.get(record.p) ?? -1)) {
      violations.push(`partition ${record.p}: ${key} at ${where} is out of order`);
    }
    lastSequence.set(record.p, sequence);
  }
  return violations;
}

test(
  'an idempotent producer and a reader through a cutting, fragmenting, delaying proxy',
  { timeout: 300_000 },
  async (t) => {
    t.diagnostic(`FAULT_SEED=${seed}`);
    const faulty = new FaultyProxy();
    proxy = faulty;
    const proxyPort = await faulty.listen();
    const bootstrap = `127.0.0.1:${proxyPort}`;
    broker = new RestartableBroker({
      dataDir,
      args: ['--advertised-listener', bootstrap],
    });
    faulty.targetPort = (await broker.start()).port;
    await createTopic(bootstrap, topic, partitionCount);

    const running = startProducer({
      bootstrap,
      topic,
      partitions: partitionCount,
      ratePerSecond: producerRatePerSecond,
      prefix: 'net',
      idempotent: true,
    });
    producer = running;
    await running.waitFor(() => running.acks().length >= 20, 60_000, 'first acks');
    const produceMoments = await cutUntil(
      faulty,
      { done: false },
      produceCuts,
      produceCutIntervalMs,
    );
    const acksAtLastCut = running.acks().length;
    await running.waitFor(
      () => running.acks().length >= acksAtLastCut + 50,
      60_000,
      'acks after the last cut',
    );
    const exitCode = await running.stop(90_000);
    assert.equal(exitCode, 0, `producer exited with ${exitCode}: ${running.stderr.slice(-2000)}`);
    const done = running.lines.find((line) => line.type === 'done');
    const errors = running.lines.filter((line) => line.type === 'error');
    t.diagnostic(
      `producer: ${JSON.stringify(done)}; ${errors.length} delivery errors; ` +
        `cuts while producing at ${produceMoments.join(', ')} ms`,
    );

    const stopReaderCuts = { done: false };
    const readerCuts = cutUntil(
      faulty,
      stopReaderCuts,
      Number.POSITIVE_INFINITY,
      readCutIntervalMs,
    );
    let records: RecordLine[];
    try {
      records = await readTopic(bootstrap, topic);
    } finally {
      stopReaderCuts.done = true;
    }
    const readerMoments = await readerCuts;
    const acks: AckLine[] = running.acks();
    t.diagnostic(
      `${acks.length} acks, ${records.length} records read; proxy: ${faulty.connections} ` +
        `connections, ${faulty.cuts} cuts (${readerMoments.length} while reading), ` +
        `${faulty.fragments} fragments, ${faulty.delayedFragments} delayed (FAULT_SEED=${seed})`,
    );
    assert.ok(produceMoments.length === produceCuts, 'the proxy found nothing to cut');
    assert.deepEqual(checkAckedRecords(acks, records), [], `acked records (FAULT_SEED=${seed})`);
    assert.deepEqual(checkExactlyOnceInOrder(records), [], `exactly once (FAULT_SEED=${seed})`);
    assert.ok(broker.current.alive(), 'the broker exited');
  },
);
