/**
 * The one scenario every real client runs (each client's test file is a few lines calling
 * `clientScenario`): start an in-process broker on a temp data dir, create a 6-partition topic,
 * produce a few thousand records (keys, headers, null keys, null values) once per compression
 * codec the client has, read them all back in assign mode and check byte-exact equality, order
 * per partition and contiguous offsets (compression does not create gaps here), then ListOffsets
 * by timestamp, describe/alter topic configs and delete the topic.
 *
 * Records are generated within what the client can express (`ClientDriver.capabilities`): kcat
 * gets printable ASCII with headers fixed per partition and round, others get binary bytes,
 * empty values and per-record headers. Steps a client performs through another client are
 * reported with t.diagnostic. Steps run in order and share state, so a failing produce makes
 * the later steps fail too; the first failure is the one to read.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { startBroker, type RunningBroker } from '@tributary/broker';
import type { CompressionType } from '@tributary/protocol';
import {
  compatibilityScenarios,
  recordStep,
  tempDir,
  type ClientDriver,
  type CompatibilityCell,
  type ClientHeader,
  type ConsumedRecord,
  type DriverOperation,
  type ProduceRecord,
  type TempDir,
} from '../../src/index.ts';

export interface ClientScenarioOptions {
  /** Creates the driver once the broker is up. */
  readonly createDriver: (bootstrap: string) => Promise<ClientDriver> | ClientDriver;
  readonly recordsPerCodec?: number;
  /**
   * The docs/compatibility.md cell a step's result goes to. Default: the title is the client,
   * the driver's name its version.
   */
  readonly cell?: (
    driver: ClientDriver | undefined,
    scenario: string,
  ) => CompatibilityCell | undefined;
}

const partitionCount = 6;
const defaultRecordsPerCodec = 600;
const stepTimeoutMs = 180_000;
const defaultRetentionMs = '604800000';
const alteredRetentionMs = '86400000';
const topicGoneTimeoutMs = 15_000;

export function clientScenario(title: string, options: ClientScenarioOptions): void {
  const cellFor =
    options.cell ??
    ((client: ClientDriver | undefined, scenario: string): CompatibilityCell | undefined =>
      client === undefined ? undefined : { client: title, version: client.name, scenario });
  describe(title, { timeout: 10 * stepTimeoutMs }, () => {
    let dir: TempDir | undefined;
    let broker: RunningBroker | undefined;
    let driver: ClientDriver | undefined;
    const topic = `scenario-${process.pid}-${Date.now()}`;
    const produced: ProduceRecord[] = [];
    let consumed: ConsumedRecord[] = [];
    const cell = (scenario: string) => () => cellFor(driver, scenario);
    const { produceConsume, offsetsByTime, topicAdmin } = compatibilityScenarios;
    const delegation = (operation: DriverOperation) => () => driver?.delegated.get(operation);
    const need = (): ClientDriver => {
      assert.ok(driver !== undefined, 'driver not created (see the before hook error)');
      return driver;
    };

    before(async () => {
      dir = await tempDir('clients');
      broker = await startBroker({ port: 0, host: '127.0.0.1', dataDir: dir.path, quiet: true });
      driver = await options.createDriver(broker.bootstrap);
    });

    after(async () => {
      await driver?.close();
      await broker?.close();
      await dir?.remove();
    });

    test('creates a topic with 6 partitions', { timeout: stepTimeoutMs }, (t) =>
      recordStep(
        t,
        cell(topicAdmin),
        async () => {
          note(t, need(), 'createTopic');
          await need().createTopic(topic, partitionCount);
          await waitForTopic(need(), topic, true);
        },
        delegation('createTopic'),
      ),
    );

    test('produces with every codec the client has', { timeout: stepTimeoutMs }, (t) =>
      recordStep(t, cell(produceConsume), async () => {
        const client = need();
        t.diagnostic(`codecs: ${client.compressions.join(', ')}`);
        const recordsPerCodec = options.recordsPerCodec ?? defaultRecordsPerCodec;
        const base = BigInt(Date.now()) - 3_600_000n;
        for (const [round, compression] of client.compressions.entries()) {
          const records = generateRecords(client, { round, compression, recordsPerCodec, base });
          await client.produce(topic, records, { compression });
          produced.push(...records);
        }
      }),
    );

    test(
      'reads everything back byte-exact, in order, offsets contiguous',
      {
        timeout: stepTimeoutMs,
      },
      (t) =>
        recordStep(t, cell(produceConsume), async () => {
          assert.ok(produced.length > 0, 'nothing was produced');
          consumed = await need().consumeAll(topic, partitionCount, produced.length);
          checkConsumed(need(), produced, consumed);
        }),
    );

    test(
      'ListOffsets by timestamp finds the first offset at or after it',
      {
        timeout: stepTimeoutMs,
      },
      (t) =>
        recordStep(t, cell(offsetsByTime), async () => {
          assert.ok(consumed.length > 0, 'nothing consumed');
          for (const partition of [0, 1, 2]) {
            await checkListOffsets(need(), topic, partition, consumed);
          }
        }),
    );

    test('describes and alters topic configs', { timeout: stepTimeoutMs }, (t) =>
      recordStep(
        t,
        cell(topicAdmin),
        async () => {
          const client = need();
          note(t, client, 'describeConfigs');
          note(t, client, 'alterConfigs');
          const initial = await client.describeConfigs(topic);
          assert.equal(initial.get('retention.ms'), defaultRetentionMs, 'default retention.ms');
          await client.alterConfigs(topic, new Map([['retention.ms', alteredRetentionMs]]));
          const altered = await client.describeConfigs(topic);
          assert.equal(altered.get('retention.ms'), alteredRetentionMs, 'retention.ms after alter');
        },
        delegation('alterConfigs'),
      ),
    );

    test('deletes the topic, which leaves the metadata', { timeout: stepTimeoutMs }, (t) =>
      recordStep(
        t,
        cell(topicAdmin),
        async () => {
          note(t, need(), 'deleteTopic');
          await need().deleteTopic(topic);
          await waitForTopic(need(), topic, false);
        },
        delegation('deleteTopic'),
      ),
    );
  });
}

function note(t: TestContext, driver: ClientDriver, operation: DriverOperation): void {
  const reason = driver.delegated.get(operation);
  if (reason !== undefined) t.diagnostic(`${operation}: ${reason}`);
}

async function waitForTopic(driver: ClientDriver, topic: string, present: boolean): Promise<void> {
  const deadline = Date.now() + topicGoneTimeoutMs;
  let topics = await driver.listTopics();
  while (topics.includes(topic) !== present && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    topics = await driver.listTopics();
  }
  assert.equal(topics.includes(topic), present, `topic ${topic} in metadata: ${topics.join(',')}`);
}

interface RoundOptions {
  readonly round: number;
  readonly compression: CompressionType;
  readonly recordsPerCodec: number;
  /** Timestamps start here (an hour ago), for clients that set them. */
  readonly base: bigint;
}

/** A small deterministic PRNG (mulberry32), so a failure reproduces with the same bytes. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

function generateRecords(driver: ClientDriver, options: RoundOptions): ProduceRecord[] {
  const { round, compression, recordsPerCodec, base } = options;
  const caps = driver.capabilities;
  const next = random(round + 1);
  const records: ProduceRecord[] = [];
  for (let index = 0; index < recordsPerCodec; index++) {
    // kcat sets one partition and one header set per invocation: keep each partition's records
    // together there, interleave them for everyone else.
    const partition = caps.headersPerRecord
      ? index % partitionCount
      : Math.floor((index * partitionCount) / recordsPerCodec);
    const text = `${compression}-${round}-${index}-${'lorem ipsum '.repeat(index % 17)}`;
    let value: Buffer | null = Buffer.from(text, 'latin1');
    if (caps.binarySafe && index % 5 === 0) {
      value = Buffer.from(
        Array.from({ length: 1 + (index % 300) }, () => Math.floor(next() * 256)),
      );
    }
    if (caps.emptyDistinctFromNull && index % 13 === 0) value = Buffer.alloc(0);
    if (index % 11 === 0) value = null;
    let key = index % 7 === 0 ? null : Buffer.from(`key-${index % 50}`, 'latin1');
    if (key === null && value === null && !caps.nullKeyWithNullValue) key = Buffer.from('k');
    records.push({
      partition,
      key,
      value,
      headers: headersFor(caps.headersPerRecord, caps.nullHeaderValues, {
        round,
        index,
        partition,
      }),
      ...(caps.timestamps
        ? { timestamp: base + BigInt(round * 100_000 + Math.floor(index / 3)) }
        : {}),
    });
  }
  return records;
}

function headersFor(
  perRecord: boolean,
  nullValues: boolean,
  where: { round: number; index: number; partition: number },
): ClientHeader[] {
  if (!perRecord) {
    return [
      { key: 'round', value: Buffer.from(String(where.round)) },
      { key: 'partition', value: Buffer.from(`p${where.partition}`) },
    ];
  }
  const { index } = where;
  if (index % 4 === 0) return [];
  const headers: ClientHeader[] = [
    { key: 'trace-id', value: Buffer.from(`trace-${where.round}-${index}`) },
    { key: 'bytes', value: Buffer.from([0, 255, index % 256, 10, 13]) },
  ];
  // Repeated names stay adjacent: kafkajs groups values by name.
  if (index % 4 === 1) headers.push({ key: 'bytes', value: Buffer.from('second') });
  if (nullValues && index % 4 === 2) headers.push({ key: 'nothing', value: null });
  return headers;
}

function sameBytes(actual: Buffer | null, expected: Buffer | null): boolean {
  if (actual === null || expected === null) return actual === expected;
  return actual.equals(expected);
}

function describeBytes(data: Buffer | null): string {
  return data === null ? 'null' : `${data.length} bytes ${data.toString('hex').slice(0, 64)}`;
}

function byPartition<T extends { partition: number }>(records: readonly T[]): T[][] {
  const groups = Array.from({ length: partitionCount }, (): T[] => []);
  for (const record of records) groups[record.partition]?.push(record);
  return groups;
}

function checkConsumed(
  driver: ClientDriver,
  produced: readonly ProduceRecord[],
  consumed: readonly ConsumedRecord[],
): void {
  assert.equal(consumed.length, produced.length, 'number of records read back');
  const expectedGroups = byPartition(produced);
  const actualGroups = byPartition(consumed);
  for (let partition = 0; partition < partitionCount; partition++) {
    const expected = expectedGroups[partition] ?? [];
    const actual = actualGroups[partition] ?? [];
    assert.equal(actual.length, expected.length, `records in partition ${partition}`);
    for (const [index, record] of actual.entries()) {
      const want = expected[index];
      const where = `partition ${partition} record ${index} (offset ${record.offset})`;
      assert.ok(want !== undefined);
      assert.equal(record.offset, BigInt(index), `${where}: offsets start at 0 and are contiguous`);
      assert.ok(
        sameBytes(record.key, want.key),
        `${where}: key ${describeBytes(record.key)} != ${describeBytes(want.key)}`,
      );
      assert.ok(
        sameBytes(record.value, want.value),
        `${where}: value ${describeBytes(record.value)} != ${describeBytes(want.value)}`,
      );
      checkHeaders(where, record.headers, want.headers);
      if (driver.capabilities.timestamps && want.timestamp !== undefined) {
        assert.equal(record.timestamp, want.timestamp, `${where}: timestamp`);
      }
    }
  }
}

function showHeaders(headers: readonly ClientHeader[]): string {
  return headers.map((header) => `${header.key}=${describeBytes(header.value)}`).join('; ');
}

function checkHeaders(
  where: string,
  actual: readonly ClientHeader[],
  expected: readonly ClientHeader[],
): void {
  const equal =
    actual.length === expected.length &&
    actual.every((header, index) => {
      const want = expected[index];
      return want !== undefined && header.key === want.key && sameBytes(header.value, want.value);
    });
  assert.ok(equal, `${where}: headers [${showHeaders(actual)}] != [${showHeaders(expected)}]`);
}

async function checkListOffsets(
  driver: ClientDriver,
  topic: string,
  partition: number,
  consumed: readonly ConsumedRecord[],
): Promise<void> {
  const records = consumed.filter((record) => record.partition === partition);
  assert.ok(records.length > 2, `partition ${partition} has too few records`);
  // Aim at a record whose timestamp is above its predecessor's, so the answer is unambiguous.
  const middle = Math.floor(records.length / 2);
  const target =
    records.slice(middle).find((record, index) => {
      const previous = records[middle + index - 1];
      return previous !== undefined && record.timestamp > previous.timestamp;
    }) ?? records[middle];
  assert.ok(target !== undefined);
  const firstAtOrAfter = (timestamp: bigint): bigint | null =>
    records.find((record) => record.timestamp >= timestamp)?.offset ?? null;
  const maxTimestamp = records.reduce((max, r) => (r.timestamp > max ? r.timestamp : max), 0n);
  for (const timestamp of [0n, target.timestamp, target.timestamp - 1n, maxTimestamp + 1n]) {
    const offset = await driver.listOffsetsByTimestamp(topic, partition, timestamp);
    const expected = firstAtOrAfter(timestamp);
    assert.equal(offset, expected, `partition ${partition}: offset for timestamp ${timestamp}`);
  }
}
