/**
 * Garbage per API key (RELIABILITY.md §5.6, live-socket fuzz): for every API key the broker
 * advertises in ApiVersions, and every advertised version of it, raw sockets send seeded random
 * bodies behind a well-formed request header (v2 for flexible versions, as Kafka's spec files
 * say, v1 otherwise): random bytes, runs of zeros cut at a random length (a minimal request
 * truncated), and bytes biased toward edge values (0, 1, -1, 0x7f, 0x80) that make plausible and
 * lying counts and lengths. For each frame the broker must answer it (with the frame's
 * correlation id) or close the connection; after each API key the process must still be up and a
 * fresh ApiVersions must work. A librdkafka producer (acks=all) runs throughout, and every record
 * it was acknowledged must be read back intact at the end.
 *
 * Some requests legitimately get no answer in time: Produce with acks=0 has no response at all
 * (a zero body says acks=0), and a Fetch or a group join may wait for a timeout that garbage can
 * make long. Those API keys may time out here; any other key that neither answers nor closes
 * fails, and so does the broker dying or no longer answering fresh connections. FAULT_SEED
 * replays the same bodies.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { RestartableBroker } from '../../src/index.ts';
import { checkAckedRecords } from './durability-check.ts';
import { faultSeed, randomInt, seededRandom } from './fault-seed.ts';
import { RawConnection, parseApiVersionsV0, requestFrame, type Outcome } from './kafka-wire.ts';
import { createTopic, readTopic, startProducer, type DriverProcess } from './python-driver.ts';

const backgroundTopic = 'api-garbage-background';
const bodiesPerVersion = 12;
const maxBodyBytes = 96;
const answerTimeoutMs = 3_000;
/** Version ranges fuzzed at once (each on its own connections). */
const parallelRanges = 4;
const API_VERSIONS = 18;
/** Produce (acks=0 has no response), Fetch (max wait), JoinGroup and SyncGroup (rebalances). */
const mayHoldApiKeys = new Set([0, 1, 11, 14]);
const specDir = resolve(import.meta.dirname, '../../../protocol/spec');

const seed = faultSeed();
const dataDir = mkdtempSync(join(tmpdir(), 'tributary-api-garbage-'));
const broker = new RestartableBroker({ dataDir });
let producer: DriverProcess | undefined;
let correlationId = 100;

before(async () => {
  await broker.start();
  await createTopic(broker.bootstrap, backgroundTopic, 2);
  producer = startProducer({
    bootstrap: broker.bootstrap,
    topic: backgroundTopic,
    partitions: 2,
    ratePerSecond: 100,
    prefix: 'bg',
  });
  const running = producer;
  await running.waitFor(() => running.acks().length >= 10, 30_000, 'first background acks');
});

after(async () => {
  producer?.kill();
  await broker.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

/** apiKey -> first flexible version (Infinity when none), from the vendored request specs. */
function firstFlexibleVersions(): Map<number, number> {
  const result = new Map<number, number>();
  const specs = readdirSync(specDir).filter((name) => name.endsWith('Request.json'));
  for (const file of specs) {
    const text = readFileSync(join(specDir, file), 'utf8')
      .split('\n')
      .filter((line) => !line.trim().startsWith('//'))
      .join('\n');
    const spec = JSON.parse(text) as { apiKey?: number; flexibleVersions?: string };
    if (spec.apiKey === undefined) continue;
    const match = /^(\d+)\+$/.exec(spec.flexibleVersions ?? 'none');
    result.set(spec.apiKey, match === null ? Number.POSITIVE_INFINITY : Number(match[1]));
  }
  return result;
}

type Shape = 'random' | 'zeros' | 'edges';
const edgeBytes = [0x00, 0x00, 0x00, 0x01, 0xff, 0x7f, 0x80, 0x02];

function garbageBody(random: () => number, shape: Shape): Buffer {
  const length = randomInt(random, 0, maxBodyBytes);
  const body = Buffer.alloc(length);
  if (shape === 'zeros') return body;
  for (let i = 0; i < length; i += 1) {
    body[i] =
      shape === 'random' || random() < 0.2
        ? randomInt(random, 0, 255)
        : (edgeBytes[randomInt(random, 0, edgeBytes.length - 1)] ?? 0);
  }
  return body;
}

interface RangeResult {
  answered: number;
  closed: number;
  held: number;
  wrongCorrelation: string[];
}

/** Sends the version's garbage bodies, reusing a connection while the broker answers. */
async function fuzzVersion(apiKey: number, version: number, flexibleFrom: number) {
  const random = seededRandom((seed ^ Math.imul(apiKey + 1, 0x9e3779b1) ^ (version << 20)) >>> 0);
  const result: RangeResult = { answered: 0, closed: 0, held: 0, wrongCorrelation: [] };
  let connection: RawConnection | undefined;
  try {
    for (let n = 0; n < bodiesPerVersion; n += 1) {
      const shapes: Shape[] = ['random', 'zeros', 'edges'];
      const body = garbageBody(random, shapes[n % shapes.length] ?? 'random');
      correlationId += 1;
      const id = correlationId;
      connection ??= await RawConnection.open('127.0.0.1', broker.port);
      const frame = requestFrame({
        apiKey,
        apiVersion: version,
        correlationId: id,
        flexibleHeader: version >= flexibleFrom,
        body,
      });
      const outcome: Outcome = await connection.roundTrip(frame, answerTimeoutMs);
      if (outcome.kind === 'response') {
        result.answered += 1;
        if (outcome.correlationId !== id) {
          result.wrongCorrelation.push(`${apiKey} v${version}: ${outcome.correlationId} != ${id}`);
        }
        continue;
      }
      if (outcome.kind === 'closed') result.closed += 1;
      else result.held += 1;
      connection.destroy();
      connection = undefined;
    }
  } finally {
    connection?.destroy();
  }
  return result;
}

async function advertised(): Promise<Array<{ apiKey: number; min: number; max: number }>> {
  const connection = await RawConnection.open('127.0.0.1', broker.port);
  try {
    const outcome = await connection.roundTrip(
      requestFrame({
        apiKey: API_VERSIONS,
        apiVersion: 0,
        correlationId: 1,
        flexibleHeader: false,
        body: Buffer.alloc(0),
      }),
    );
    assert.ok(outcome.kind === 'response', `ApiVersions got ${outcome.kind}`);
    const parsed = parseApiVersionsV0(outcome.body);
    assert.equal(parsed.errorCode, 0);
    return parsed.apiKeys.map((entry) => ({
      apiKey: entry.apiKey,
      min: entry.minVersion,
      max: entry.maxVersion,
    }));
  } finally {
    connection.destroy();
  }
}

async function assertServing(label: string): Promise<void> {
  const child = broker.current;
  assert.ok(
    child.alive(),
    `${label}: broker exited (FAULT_SEED=${seed}):\n${child.stderr().slice(-3000)}`,
  );
  const keys = await advertised();
  assert.ok(keys.length > 0, `${label}: ApiVersions lists no API`);
}

test(
  'garbage bodies at every advertised version of every API key',
  { timeout: 480_000 },
  async (t) => {
    t.diagnostic(`FAULT_SEED=${seed}`);
    const flexible = firstFlexibleVersions();
    const apis = await advertised();
    const work = apis.flatMap(({ apiKey, min, max }) =>
      Array.from({ length: max - min + 1 }, (_, index) => ({ apiKey, version: min + index })),
    );
    const totals = { answered: 0, closed: 0, held: 0 };
    const heldBy = new Map<number, number>();
    const wrong: string[] = [];
    for (let start = 0; start < work.length; start += parallelRanges) {
      const slice = work.slice(start, start + parallelRanges);
      const label = slice.map(({ apiKey, version }) => `${apiKey} v${version}`).join(', ');
      const results = await Promise.all(
        slice.map(({ apiKey, version }) =>
          fuzzVersion(apiKey, version, flexible.get(apiKey) ?? Number.POSITIVE_INFINITY),
        ),
      ).catch(async (error: unknown) => {
        // A refused connect usually means the broker died: say so, with its output.
        await assertServing(`during ${label}`);
        throw error;
      });
      for (const [index, result] of results.entries()) {
        totals.answered += result.answered;
        totals.closed += result.closed;
        totals.held += result.held;
        wrong.push(...result.wrongCorrelation);
        const apiKey = slice[index]?.apiKey ?? -1;
        if (result.held > 0) heldBy.set(apiKey, (heldBy.get(apiKey) ?? 0) + result.held);
      }
      const next = work[start + parallelRanges];
      if (next === undefined || next.apiKey !== slice.at(-1)?.apiKey) {
        await assertServing(`after API key ${slice.at(-1)?.apiKey}`);
      }
    }
    t.diagnostic(
      `${apis.length} API keys, ${work.length} versions, ` +
        `${work.length * bodiesPerVersion} garbage frames: ${JSON.stringify(totals)}; ` +
        `held (no answer within ${answerTimeoutMs} ms) by API key: ` +
        `${JSON.stringify(Object.fromEntries(heldBy))}`,
    );
    assert.deepEqual(wrong, [], 'answers with the wrong correlation id');
    const hung = [...heldBy.keys()].filter((apiKey) => !mayHoldApiKeys.has(apiKey));
    assert.deepEqual(hung, [], `API keys that neither answered nor closed (FAULT_SEED=${seed})`);
    await assertServing('after every API key');
  },
);

test('background producer data is intact', { timeout: 120_000 }, async (t) => {
  const running = producer;
  assert.ok(running);
  const seen = running.acks().length;
  await running.waitFor(() => running.acks().length >= seen + 10, 30_000, 'acks after fuzzing');
  const code = await running.stop(60_000);
  assert.equal(code, 0, `producer exit ${code}: ${running.stderr.slice(-2000)}`);
  const acks = running.acks();
  const errors = running.lines.filter((line) => line.type === 'error');
  assert.deepEqual(errors, [], 'background producer saw delivery errors');
  const records = await readTopic(broker.bootstrap, backgroundTopic);
  assert.deepEqual(
    checkAckedRecords(acks, records),
    [],
    `background data damaged (FAULT_SEED=${seed})`,
  );
  t.diagnostic(`${acks.length} background acks, ${records.length} records read back`);
});
