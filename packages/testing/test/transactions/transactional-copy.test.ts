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

const recordCount = 500;
const partitionCount = 2;
const recordsPerTransaction = 50;
const copyTimeoutMs = 120_000;
const testTimeoutMs = 240_000;

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

async function start(label: string, command: () => DriverCommand): Promise<LineClientDriver> {
  const broker: RunningBroker = await startBroker({
    port: 0,
    host: '127.0.0.1',
    inMemory: true,
    quiet: true,
    groups: { initialRebalanceDelayMs: 100 },
  });
  cleanup.push(() => broker.close());
  const driver = await LineClientDriver.start({
    bootstrap: broker.bootstrap,
    driver: command(),
    label,
  });
  cleanup.push(() => driver.close());
  return driver;
}

for (const { label, command } of drivers) {
  test(
    `${label}: transactionalCopy copies 500 records exactly once`,
    {
      timeout: testTimeoutMs,
    },
    async (t) => {
      const driver = await start(label, command);
      await driver.createTopic('in', partitionCount);
      await driver.createTopic('out', partitionCount);
      const records = Array.from({ length: recordCount }, (_, n) => source(n));
      await driver.produce('in', records, { compression: 'none', idempotent: true });

      const fields = {
        from: 'in',
        to: 'out',
        groupId: 'copier',
        transactionalId: 'copier-txn',
        expectedCount: recordCount,
        maxRecordsPerTransaction: recordsPerTransaction,
      };
      const result = (await driver.call('transactionalCopy', fields, copyTimeoutMs)) as CopyResult;
      t.diagnostic(`copy result: ${JSON.stringify(result)}`);
      assert.equal(result.copied, recordCount, JSON.stringify(result));
      assert.ok(
        result.transactions >= recordCount / recordsPerTransaction,
        `at most ${recordsPerTransaction} records per transaction: ${result.transactions}`,
      );

      const copied = await driver.consumeAll('out', partitionCount, recordCount, 'read_committed');
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
      assert.deepEqual(duplicates, [], 'no value copied twice');
      const expected = records.map((record) => record.value?.toString());
      assert.deepEqual([...counts.keys()].toSorted(), expected.toSorted());
      assert.equal(copied.length, recordCount);

      const offsets = await driver.groupOffsets('copier');
      const ends = offsets.filter((o) => o.topic === 'in').map((o) => [o.partition, o.offset]);
      const perPartition = recordCount / partitionCount;
      assert.deepEqual(
        ends.toSorted(),
        Array.from({ length: partitionCount }, (_, p) => [p, perPartition]),
        'the transactions committed the group offsets up to the end of in',
      );
    },
  );
}
