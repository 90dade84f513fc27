import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  interleavedOrder,
  medianBy,
  runInterleaved,
  runWarmedInterleaved,
  sumCpuUse,
  type CpuUse,
} from './bench-context.ts';
import { combineLatencyRounds, latencyRoundsNote, type NativeLatency } from './native-latency.ts';

const use: CpuUse = {
  wallSeconds: 20,
  brokerCpuSeconds: 6,
  machineBusySeconds: 12,
  cores: 2,
  rssMb: 400,
  peakRssMb: 450,
};

function round(e2eP99: number, delivered: number, errors = 0): NativeLatency {
  const percentiles = {
    samples: delivered,
    p50: 1,
    p99: e2eP99,
    p999: e2eP99 * 2,
    max: e2eP99 * 3,
  };
  return {
    client: 'c',
    rate: 50_000,
    seconds: 5,
    e2eMs: percentiles,
    ackMs: { ...percentiles, p99: e2eP99 - 0.5 },
    delivered,
    records: 250_000,
    producerErrors: errors,
    use: { ...use, brokerCpuSeconds: 1 },
  };
}

test('the rounds of a latency run report the median round and the counts of all', () => {
  const combined = combineLatencyRounds(
    [round(16, 250_000), round(3.8, 249_000, 2), round(5.7, 250_000)],
    5,
    use,
  );
  assert.equal(combined.e2eMs.p99, 5.7);
  assert.equal(combined.e2eMs.max, 5.7 * 3);
  assert.equal(combined.ackMs.p99, 5.2);
  assert.equal(combined.delivered, 749_000);
  assert.equal(combined.records, 750_000);
  assert.equal(combined.producerErrors, 2);
  assert.equal(combined.seconds, 15);
  assert.equal(combined.use, use);
  assert.deepEqual(
    combined.rounds?.map((each) => each.e2eP99Ms),
    [16, 3.8, 5.7],
  );
  assert.equal(
    latencyRoundsNote(combined),
    "3 rounds of 5 s (e2e p99 per round 16.0 / 3.8 / 5.7 ms; the figures are the median round's)",
  );
});

test('the note names the warm-up round when one ran', () => {
  const combined = {
    ...combineLatencyRounds([round(4, 1), round(5, 1)], 10, use),
    warmupE2eP99Ms: 30.25,
  };
  assert.equal(
    latencyRoundsNote(combined),
    '2 rounds of 10 s after a warm-up of 10 s (e2e p99 per round 4.0 / 5.0 ms, warm-up 30.3; ' +
      "the figures are the median round's)",
  );
});

test('a single run is noted by its length alone', () => {
  assert.equal(latencyRoundsNote(round(4, 10)), '5 s');
  assert.throws(() => combineLatencyRounds([], 5, use), /no round to take the median of/);
});

test('interleaved rounds visit every system once a round, each round starting one later', () => {
  assert.deepEqual(interleavedOrder(3, 3), [0, 1, 2, 1, 2, 0, 2, 0, 1]);
  assert.deepEqual(interleavedOrder(1, 3), [0, 0, 0]);
  assert.deepEqual(interleavedOrder(2, 0), []);
});

test("a system's CPU over its own rounds adds up the windows and keeps the peak RSS", () => {
  const summed = sumCpuUse([
    use,
    { ...use, brokerCpuSeconds: 2, wallSeconds: 5, rssMb: 300, peakRssMb: 500 },
  ]);
  assert.deepEqual(summed, {
    wallSeconds: 25,
    brokerCpuSeconds: 8,
    machineBusySeconds: 24,
    cores: 2,
    rssMb: 300,
    peakRssMb: 500,
  });
  assert.throws(() => sumCpuUse([]), /no CPU window/);
});

test('interleaved rounds drop a target after its first failure and keep the others', async () => {
  const calls: string[] = [];
  const lines: string[] = [];
  const targets = [{ name: 'a' }, { name: 'b' }, { name: 'c' }];
  let bRuns = 0;
  const { rounds, failures } = await runInterleaved(
    targets,
    3,
    async ({ name }) => {
      calls.push(name);
      if (name === 'b' && ++bRuns === 2) throw new Error('gone\nsecond line');
      return name.length;
    },
    (line) => lines.push(line),
    (result) => `result ${result}`,
  );
  assert.deepEqual(calls, ['a', 'b', 'c', 'b', 'c', 'a', 'c', 'a']);
  assert.deepEqual([...rounds.keys()].toSorted(), ['a', 'c']);
  assert.deepEqual(rounds.get('a'), [1, 1, 1]);
  assert.deepEqual([...failures], [['b', 'gone / second line']]);
  assert.ok(lines.includes('b failed: gone\nsecond line'));
  assert.ok(lines.includes('a: result 1'));
});

test('the median round is the middle one by its key', () => {
  assert.equal(
    medianBy([5, 1, 3], (x) => x),
    3,
  );
  assert.equal(
    medianBy([4, 2], (x) => x),
    4,
  );
  assert.throws(() => medianBy([], (x: number) => x), /no round/);
});

test('warmed interleaved rounds keep the first round apart and skip who failed it', async () => {
  const calls: string[] = [];
  const { rounds, warmups, failures } = await runWarmedInterleaved(
    [{ name: 'a' }, { name: 'b' }],
    2,
    async ({ name }) => {
      calls.push(name);
      if (name === 'b') throw new Error('no b');
      return calls.length;
    },
    () => undefined,
    String,
  );
  assert.deepEqual(calls, ['a', 'b', 'a', 'a']);
  assert.deepEqual([...warmups], [['a', 1]]);
  assert.deepEqual([...rounds], [['a', [3, 4]]]);
  assert.deepEqual([...failures], [['b', 'no b']]);
});
