/**
 * The drivers' `transactionalCopy` op (DRIVER-PROTOCOL.md), the exactly-once
 * consume-transform-produce loop, against an in-process broker: 500 records are produced to a
 * two-partition `in`, the driver copies them to `out` (a read_committed group consumer and a
 * transactional producer committing each batch together with the group's offsets), and a
 * read_committed reader then finds each value exactly once in `out`, on its source partition,
 * with its key and headers, while the group's committed offsets stand at the end of `in`.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startBroker, type RunningBroker } from '@tributary/broker';
import {
  confluentKafkaLineDriverCommand,
  javaDriverCommand,
  LineClientDriver,
  type DriverCommand,
  type ProduceRecord,
} from '../../src/index.ts';

const partitionCount = 2;
const copyTimeoutMs = 120_000;
const opts = { timeout: 240_000 };
const fencePauseMs = 100;
const fencesMax = 10;

interface CopyResult {
  readonly copied: number;
  readonly transactions: number;
  readonly aborted: number;
  readonly errors: readonly string[];
}

const drivers: readonly { label: string; command: () => DriverCommand }[] = [
  { label: 'Java kafka-clients', command: javaDriverCommand },
  { label: 'confluent-kafka', command: confluentKafkaLineDriverCommand },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const step of cleanup.toReversed()) await step();
});

function source(n: number): ProduceRecord {
  return {
    partition: n % partitionCount,
    key: Buffer.from(`k-${n}`),
    value: Buffer.from(`v-${n}`),
    headers: [{ key: 'n', value: Buffer.from(`${n}`) }],
  };
}

async function startInMemoryBroker(): Promise<string> {
  const broker: RunningBroker = await startBroker({
    port: 0,
    host: '127.0.0.1',
    inMemory: true,
    quiet: true,
    groups: { initialRebalanceDelayMs: 100 },
  });
  cleanup.push(() => broker.close());
  return broker.bootstrap;
}

async function startDriver(
  bootstrap: string,
  label: string,
  command: () => DriverCommand,
): Promise<LineClientDriver> {
  const driver = await LineClientDriver.start({ bootstrap, driver: command(), label });
  cleanup.push(() => driver.close());
  return driver;
}

interface CopyCase {
  readonly name: string;
  readonly records: number;
  readonly perTransaction: number;
}

/** Fills `<name>-in`, copies it to `<name>-out` and checks the copy; returns the result. */
async function copyAndCheck(
  driver: LineClientDriver,
  spec: CopyCase,
  whileCopying: (done: () => boolean) => Promise<number> = async () => 0,
): Promise<{ result: CopyResult; interruptions: number }> {
  const [from, to, groupId] = [`${spec.name}-in`, `${spec.name}-out`, `${spec.name}-group`];
  await driver.createTopic(from, partitionCount);
  await driver.createTopic(to, partitionCount);
  const records = Array.from({ length: spec.records }, (_, n) => source(n));
  await driver.produce(from, records, { compression: 'none', idempotent: true });

  const fields = {
    from,
    to,
    groupId,
    transactionalId: `${spec.name}-txn`,
    expectedCount: spec.records,
    maxRecordsPerTransaction: spec.perTransaction,
  };
  let copying = true;
  const copy = driver.call('transactionalCopy', fields, copyTimeoutMs);
  const interrupting = whileCopying(() => !copying);
  const result = (await copy.finally(() => (copying = false))) as CopyResult;
  const interruptions = await interrupting;
  const context = `${interruptions} interruptions, result ${JSON.stringify(result)}`;
  assert.equal(result.copied, spec.records, context);
  assert.ok(result.transactions >= spec.records / spec.perTransaction, context);

  const copied = await driver.consumeAll(to, partitionCount, spec.records, 'read_committed');
  const counts = new Map<string, number>();
  for (const record of copied) {
    const value = record.value?.toString() ?? 'null';
    counts.set(value, (counts.get(value) ?? 0) + 1);
    const n = Number(value.slice('v-'.length));
    assert.equal(record.partition, n % partitionCount, `${value}: its source partition`);
    assert.equal(record.key?.toString(), `k-${n}`, `${value}: its key`);
    const headers = record.headers.map((h) => [h.key, h.value?.toString()]);
    assert.deepEqual(headers, [['n', `${n}`]], `${value}: its headers`);
  }
  const duplicates = [...counts].filter(([, seen]) => seen > 1).map(([value]) => value);
  assert.deepEqual(duplicates.slice(0, 20), [], `${duplicates.length} copied twice; ${context}`);
  const expected = records.map((record) => record.value?.toString());
  assert.deepEqual([...counts.keys()].toSorted(), expected.toSorted(), context);
  assert.equal(copied.length, spec.records, context);

  const offsets = await driver.groupOffsets(groupId);
  const ends = offsets.filter((o) => o.topic === from).map((o) => [o.partition, o.offset]);
  const perPartition = spec.records / partitionCount;
  assert.deepEqual(
    ends.toSorted(),
    Array.from({ length: partitionCount }, (_, p) => [p, perPartition]),
    'the transactions committed the group offsets up to the end of the input',
  );
  return { result, interruptions };
}

/**
 * Fences the copier again and again once it has committed a first transaction: each
 * `transactionalProduce` with no transactions is one initTransactions under the copier's
 * transactional.id, which bumps the epoch, so the copier's open transaction fails fenced and it
 * must start a new producer. Returns how many fences completed.
 */
async function fenceRepeatedly(
  fencer: LineClientDriver,
  spec: CopyCase,
  done: () => boolean,
): Promise<number> {
  while (!done() && (await fencer.groupOffsets(`${spec.name}-group`)).length === 0) {
    await sleep(fencePauseMs);
  }
  let fences = 0;
  while (!done() && fences < fencesMax) {
    const transactionalId = `${spec.name}-txn`;
    await fencer.call('transactionalProduce', {
      topic: 'unused',
      transactionalId,
      transactions: [],
    });
    fences++;
    await sleep(fencePauseMs);
  }
  return fences;
}

for (const { label, command } of drivers) {
  test(`${label}: transactionalCopy copies 500 records exactly once`, opts, async (t) => {
    const driver = await startDriver(await startInMemoryBroker(), label, command);
    const spec = { name: 'plain', records: 500, perTransaction: 50 };
    const { result } = await copyAndCheck(driver, spec);
    t.diagnostic(`copy result: ${JSON.stringify(result)}`);
  });

  test(`${label}: transactionalCopy stays exactly-once when fenced mid-copy`, opts, async (t) => {
    const bootstrap = await startInMemoryBroker();
    const driver = await startDriver(bootstrap, label, command);
    const fencer = await startDriver(bootstrap, `${label} fencer`, command);
    const spec = { name: 'fenced', records: 2_000, perTransaction: 5 };
    const fence = (done: () => boolean) => fenceRepeatedly(fencer, spec, done);
    const { result, interruptions } = await copyAndCheck(driver, spec, fence);
    t.diagnostic(`${interruptions} fences; copy result: ${JSON.stringify(result)}`);
    // The first fence came after the copier's first commit, and the copy still ran a pause
    // after it (a second fence started): the copier's producer was stale and had to be replaced.
    if (interruptions >= 2) {
      assert.match(result.errors.join('\n'), /fenc|epoch/i, 'the copier saw a fence');
    }
  });
}
