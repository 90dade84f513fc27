/**
 * The scenarios every client in a driver process runs (Java, Go, Python from the virtualenv; see
 * packages/testing/DRIVER-PROTOCOL.md), each recorded for docs/compatibility.md:
 *
 * - produce/consume: `clientScenario` (every codec, headers, byte-exact, ListOffsets by time,
 *   topic configs, delete).
 * - consumer group, per group protocol the client speaks: two members split a 6-partition topic
 *   (rebalance on join), consume and commit, one leaves (rebalance on leave), the broker restarts,
 *   a new member resumes exactly at the committed offsets; the group is listed, described and
 *   deleted with the client's admin API.
 * - idempotent producer: rounds of produce with idempotence on, the broker SIGKILLed between
 *   rounds; offsets contiguous, no duplicate, and DescribeProducers shows the client's producer.
 * - transactions: commit, abort, commit with one transactional producer; read_committed sees only
 *   the committed records, read_uncommitted all of them.
 * - admin: topic with configs, ListOffsets earliest/latest, DeleteRecords, DeleteGroups refused
 *   while a member is in the group (NON_EMPTY_GROUP) and accepted after it leaves.
 *
 * `deleteInsideBatchScenario` is an extra some clients' files add (unrecorded): DeleteRecords
 * inside a produced batch, then a broker restart.
 *
 * Brokers here are separate processes through the real CLI (RestartableBroker), so restarts are
 * real. Steps in a describe share state and run in order: the first failure is the one to read.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { describeProducersApi } from '@tributary/protocol';
import { KafkaConnection } from '@tributary/cli';
import {
  LineClientDriver,
  LineDriverError,
  RestartableBroker,
  compatibilityScenarios,
  recordStep,
  tempDir,
  type ClientCapabilities,
  type CompatibilityCell,
  type DriverCommand,
  type GroupRecord,
  type ProduceRecord,
  type TempDir,
  type TopicPartition,
} from '../../src/index.ts';
import { clientScenario } from './client-scenario.ts';

export type GroupProtocol = 'classic' | 'consumer';

export interface FullScenarioOptions {
  /** The client as users name it, e.g. `franz-go`; the driver's ready line adds the version. */
  readonly label: string;
  /** Resolves the driver command; throws with a clear message when the driver is not built. */
  readonly driver: () => DriverCommand;
  readonly capabilities?: ClientCapabilities;
  /**
   * Group protocols to run the group scenario with. Default both: a client without KIP-848
   * answers Unsupported and the table says so.
   */
  readonly groupProtocols?: readonly GroupProtocol[];
}

const stepTimeoutMs = 180_000;
const partitionCount = 6;
const pollSliceMs = 1_000;
const convergeTimeoutMs = 90_000;

export function fullClientScenario(options: FullScenarioOptions): void {
  const cellOf: CellOf = (driver, scenario) => () =>
    driver === undefined ? undefined : { client: options.label, version: driver.version, scenario };
  clientScenario(`${options.label}: produce and consume`, {
    createDriver: (bootstrap) => startDriver(options, bootstrap, 'produce'),
    cell: (driver, scenario) =>
      driver instanceof LineClientDriver ? cellOf(driver, scenario)() : undefined,
  });
  for (const protocol of options.groupProtocols ?? ['classic', 'consumer']) {
    groupScenario(options, protocol, cellOf);
  }
  idempotenceScenario(options, cellOf);
  transactionScenario(options, cellOf);
  adminScenario(options, cellOf);
}

type CellOf = (
  driver: LineClientDriver | undefined,
  scenario: string,
) => () => CompatibilityCell | undefined;

function startDriver(
  options: FullScenarioOptions,
  bootstrap: string,
  role: string,
): Promise<LineClientDriver> {
  return LineClientDriver.start({
    bootstrap,
    driver: options.driver(),
    label: `${options.label} ${role}`,
    ...(options.capabilities === undefined ? {} : { capabilities: options.capabilities }),
  });
}

/** A broker process on a temp dir, and the drivers a scenario started against it. */
class ScenarioBench {
  dir: TempDir | undefined;
  broker: RestartableBroker | undefined;
  readonly drivers: LineClientDriver[] = [];

  async start(prefix: string): Promise<string> {
    this.dir = await tempDir(prefix);
    this.broker = new RestartableBroker({ dataDir: this.dir.path });
    await this.broker.start();
    return this.broker.bootstrap;
  }

  async driver(options: FullScenarioOptions, role: string): Promise<LineClientDriver> {
    assert.ok(this.broker !== undefined, 'broker not started (see the before hook error)');
    const driver = await startDriver(options, this.broker.bootstrap, role);
    this.drivers.push(driver);
    return driver;
  }

  /** Stops (SIGTERM) or kills the broker and starts it again on the same data dir and port. */
  async restart(how: 'stop' | 'kill'): Promise<void> {
    assert.ok(this.broker !== undefined);
    if (how === 'kill') await this.broker.kill();
    else await this.broker.current.stop();
    await this.broker.start();
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.drivers.map((driver) => driver.close()));
    await this.broker?.current.stop().catch(() => undefined);
    await this.dir?.remove();
  }
}

function valueRecords(prefix: string, count: number, partitions: number): ProduceRecord[] {
  return Array.from({ length: count }, (_, index) => ({
    partition: index % partitions,
    key: Buffer.from(`k${index % 17}`),
    value: Buffer.from(`${prefix}-${index}`),
    headers: [{ key: 'scenario', value: Buffer.from(prefix) }],
  }));
}

const keyOf = (record: { partition: number; offset: bigint }): string =>
  `${record.partition}@${record.offset}`;

function sortedPartitions(assignment: readonly TopicPartition[]): number[] {
  return assignment.map((tp) => tp.partition).toSorted((a, b) => a - b);
}

interface Member {
  readonly driver: LineClientDriver;
  assignment: TopicPartition[];
  readonly seen: GroupRecord[];
}

/** Polls every member at once, committing after each poll, until `done` or the deadline. */
async function pollUntil(
  members: readonly Member[],
  done: () => boolean,
  what: string,
): Promise<void> {
  const deadline = Date.now() + convergeTimeoutMs;
  while (!done()) {
    const states = members.map((m) => `[${sortedPartitions(m.assignment).join(',')}]`);
    assert.ok(Date.now() < deadline, `${what}: not reached in time; assignments ${states}`);
    await Promise.all(
      members.map(async (member) => {
        const polled = await member.driver.poll(pollSliceMs, 10_000);
        member.assignment = polled.assignment;
        member.seen.push(...polled.records);
        if (polled.records.length > 0) await member.driver.commit();
      }),
    );
  }
}

function splitEvenly(members: readonly Member[]): boolean {
  const all = members.flatMap((member) => sortedPartitions(member.assignment));
  return (
    members.every((member) => member.assignment.length > 0) &&
    all.length === partitionCount &&
    new Set(all).size === partitionCount
  );
}

function groupScenario(options: FullScenarioOptions, protocol: GroupProtocol, cellOf: CellOf) {
  const scenario =
    protocol === 'classic'
      ? compatibilityScenarios.classicGroup
      : compatibilityScenarios.consumerGroup;
  describe(`${options.label}: ${scenario}`, { timeout: 10 * stepTimeoutMs }, () => {
    const bench = new ScenarioBench();
    const topic = `group-${protocol}-${process.pid}`;
    const groupId = `group-${protocol}-${process.pid}`;
    let admin: LineClientDriver | undefined;
    const first = valueRecords('first', 600, partitionCount);
    const cell = () => cellOf(admin, scenario)();
    const members: Member[] = [];
    const member = async (role: string): Promise<Member> => {
      const driver = await bench.driver(options, role);
      await driver.subscribe({ groupId, topics: [topic], groupProtocol: protocol });
      const joined: Member = { driver, assignment: [], seen: [] };
      members.push(joined);
      return joined;
    };
    // A client without this group protocol answers Unsupported at subscribe: every later step
    // of the scenario is then recorded as unsupported too, not as a failure.
    let unsupported: LineDriverError | undefined;
    const step = (t: TestContext, body: () => Promise<void>): Promise<void> =>
      recordStep(t, cell, async () => {
        if (unsupported !== undefined) throw unsupported;
        try {
          await body();
        } catch (error: unknown) {
          if (error instanceof LineDriverError && error.unsupported) unsupported = error;
          throw error;
        }
      });
    const at = (index: number): Member => {
      const found = members[index];
      assert.ok(found !== undefined, `member ${index} not started`);
      return found;
    };

    before(async () => {
      await bench.start(`group-${protocol}`);
      admin = await bench.driver(options, 'admin');
    });
    after(() => bench.close());

    test('two members split the partitions (rebalance on join)', opts(), (t) =>
      step(t, async () => {
        assert.ok(admin !== undefined);
        await admin.createTopic(topic, partitionCount);
        await admin.produce(topic, first, { compression: 'none' });
        const a = await member('member-a');
        await pollUntil([a], () => a.assignment.length === partitionCount, 'first member owns all');
        const b = await member('member-b');
        await pollUntil([a, b], () => splitEvenly([a, b]), 'two members split the partitions');
      }),
    );

    test('consumes every record once committed, offsets shown by the admin API', opts(), (t) =>
      step(t, async () => {
        assert.ok(admin !== undefined);
        const both = [at(0), at(1)];
        const distinct = () => new Set(both.flatMap((m) => m.seen.map(keyOf))).size;
        await pollUntil(both, () => distinct() === first.length, 'all records consumed');
        await Promise.all(both.map((m) => m.driver.commit()));
        const committed = await admin.groupOffsets(groupId);
        const perPartition = first.length / partitionCount;
        assert.deepEqual(
          committed.map((c) => [c.partition, c.offset]).toSorted((x, y) => x[0]! - y[0]!),
          Array.from({ length: partitionCount }, (_, p) => [p, perPartition]),
          'committed offset of each partition is its log end',
        );
        const listed = await admin.listGroups();
        assert.ok(
          listed.some((g) => g.groupId === groupId),
          `listGroups: ${listed}`,
        );
        const described = await admin.describeGroup(groupId);
        assert.equal(described.members.length, 2, 'two members described');
      }),
    );

    test('one member leaves and the other takes every partition', opts(), (t) =>
      step(t, async () => {
        await at(1).driver.closeConsumer();
        const a = at(0);
        await pollUntil([a], () => a.assignment.length === partitionCount, 'rebalance on leave');
        await a.driver.closeConsumer();
      }),
    );

    test('after a broker restart a new member resumes at the committed offsets', opts(), (t) =>
      step(t, async () => {
        assert.ok(admin !== undefined);
        await bench.restart('stop');
        const second = valueRecords('second', 60, partitionCount);
        await admin.produce(topic, second, { compression: 'none' });
        const c = await member('member-c');
        const distinct = () => new Set(c.seen.map((r) => r.value?.toString())).size;
        await pollUntil([c], () => distinct() >= second.length, 'new records consumed');
        // Distinct values: a rebalance before c commits redelivers from the committed offsets
        // (at-least-once, as in Kafka), which some clients do under load; what this step checks
        // is where c starts, not that nothing is delivered twice.
        const values = [...new Set(c.seen.map((r) => r.value?.toString()))].toSorted();
        const expected = second.map((r) => r.value?.toString()).toSorted();
        if (c.seen.length > values.length) {
          t.diagnostic(`${c.seen.length - values.length} records redelivered to the new member`);
        }
        assert.deepEqual(values, expected, 'only the records after the committed offsets');
        await c.driver.commit();
        await c.driver.closeConsumer();
      }),
    );

    test('the emptied group is deleted', opts(), (t) =>
      step(t, async () => {
        assert.ok(admin !== undefined);
        await admin.deleteGroup(groupId);
        const listed = await admin.listGroups();
        assert.ok(!listed.some((g) => g.groupId === groupId), 'group gone after DeleteGroups');
      }),
    );
  });
}

function idempotenceScenario(options: FullScenarioOptions, cellOf: CellOf): void {
  const scenario = compatibilityScenarios.idempotence;
  describe(`${options.label}: ${scenario}`, { timeout: 10 * stepTimeoutMs }, () => {
    const bench = new ScenarioBench();
    const topic = `idempotent-${process.pid}`;
    let producer: LineClientDriver | undefined;
    const cell = () => cellOf(producer, scenario)();

    before(async () => {
      await bench.start('idempotent');
    });
    after(() => bench.close());

    test('rounds across broker kills: contiguous, no duplicate, a producer id', opts(), (t) =>
      recordStep(t, cell, async () => {
        producer = await bench.driver(options, 'producer');
        await producer.createTopic(topic, 3);
        const rounds = 3;
        for (let round = 0; round < rounds; round++) {
          const records = valueRecords(`round${round}`, 300, 3);
          await producer.produce(topic, records, { compression: 'lz4', idempotent: true });
          if (round < rounds - 1) await bench.restart('kill');
        }
        const read = await producer.consumeAll(topic, 3, rounds * 300);
        assert.equal(read.length, rounds * 300, 'every record once');
        assert.equal(new Set(read.map((r) => r.value?.toString())).size, rounds * 300);
        for (let partition = 0; partition < 3; partition++) {
          const offsets = read.filter((r) => r.partition === partition).map((r) => r.offset);
          assert.deepEqual(
            offsets,
            offsets.map((_, i) => BigInt(i)),
            `partition ${partition}`,
          );
        }
        assert.ok(bench.broker !== undefined);
        const producers = await activeProducers(bench.broker.bootstrap, topic, 3);
        assert.ok(producers > 0, 'DescribeProducers shows the idempotent producer');
      }),
    );
  });
}

async function activeProducers(bootstrap: string, topic: string, partitions: number) {
  const [host = '', port = ''] = bootstrap.split(':');
  const connection = await KafkaConnection.connect({ host, port: Number(port) });
  try {
    const response = await connection.request(describeProducersApi, 0, {
      topics: [{ name: topic, partitionIndexes: [...Array(partitions).keys()] }],
    });
    return response.topics
      .flatMap((t) => t.partitions)
      .reduce((sum, p) => sum + p.activeProducers.length, 0);
  } finally {
    connection.close();
  }
}

function transactionScenario(options: FullScenarioOptions, cellOf: CellOf): void {
  const scenario = compatibilityScenarios.transactions;
  describe(`${options.label}: ${scenario}`, { timeout: 10 * stepTimeoutMs }, () => {
    const bench = new ScenarioBench();
    const topic = `transactions-${process.pid}`;
    let client: LineClientDriver | undefined;
    const cell = () => cellOf(client, scenario)();
    const committed = [valueRecords('commit-1', 30, 3), valueRecords('commit-2', 30, 3)];
    const aborted = valueRecords('abort', 30, 3);

    before(async () => {
      await bench.start('transactions');
    });
    after(() => bench.close());

    test('commit, abort, commit: read_committed sees only committed records', opts(), (t) =>
      recordStep(t, cell, async () => {
        client = await bench.driver(options, 'transactional');
        await client.createTopic(topic, 3);
        await client.transactionalProduce(topic, `txn-${process.pid}`, [
          { records: committed[0] ?? [], commit: true },
          { records: aborted, commit: false },
          { records: committed[1] ?? [], commit: true },
        ]);
        const expected = committed.flat().map((r) => r.value?.toString());
        // Asking for exactly the committed count still catches a leak: records come in offset
        // order, so an aborted record read would push a committed one past the count.
        const read = await client.consumeAll(topic, 3, expected.length);
        assert.deepEqual(
          read.map((r) => r.value?.toString()).toSorted(),
          expected.toSorted(),
          'read_committed: the two committed transactions, nothing of the aborted one',
        );
      }),
    );

    test('read_uncommitted sees the aborted records too', opts(), (t) =>
      recordStep(t, cell, async () => {
        assert.ok(client !== undefined);
        const all = committed.flat().length + aborted.length;
        const read = await client.consumeAll(topic, 3, all, 'read_uncommitted');
        assert.equal(read.length, all, 'every data record, markers skipped by the client');
      }),
    );
  });
}

function adminScenario(options: FullScenarioOptions, cellOf: CellOf): void {
  const scenario = compatibilityScenarios.groupAdmin;
  describe(`${options.label}: ${scenario}`, { timeout: 10 * stepTimeoutMs }, () => {
    const bench = new ScenarioBench();
    const topic = `admin-${process.pid}`;
    const groupId = `admin-group-${process.pid}`;
    let admin: LineClientDriver | undefined;
    const cell = () => cellOf(admin, scenario)();

    before(async () => {
      await bench.start('admin');
    });
    after(() => bench.close());

    test('creates a topic with configs and describes them', opts(), (t) =>
      recordStep(t, cell, async () => {
        admin = await bench.driver(options, 'admin');
        await admin.createTopic(topic, 2, { 'retention.ms': '3600000' });
        const configs = await admin.describeConfigs(topic);
        assert.equal(configs.get('retention.ms'), '3600000');
      }),
    );

    test('ListOffsets earliest/latest and DeleteRecords move the log start', opts(), (t) =>
      recordStep(t, cell, async () => {
        assert.ok(admin !== undefined);
        const records = valueRecords('admin', 100, 1);
        await admin.produce(topic, records, { compression: 'none' });
        assert.equal(await admin.listOffsets(topic, 0, 'earliest'), 0n);
        assert.equal(await admin.listOffsets(topic, 0, 'latest'), 100n);
        assert.equal(await admin.deleteRecords(topic, 0, 40), 40n, 'low watermark');
        assert.equal(await admin.listOffsets(topic, 0, 'earliest'), 40n);
        const read = await admin.consumeAll(topic, 1, 60);
        assert.equal(read[0]?.offset, 40n, 'reading starts at the new log start');
        assert.equal(read.length, 60);
      }),
    );

    test('DeleteGroups is refused while a member is in the group', opts(), (t) =>
      recordStep(t, cell, async () => {
        assert.ok(admin !== undefined);
        const consumer = await bench.driver(options, 'member');
        await consumer.subscribe({ groupId, topics: [topic] });
        const deadline = Date.now() + convergeTimeoutMs;
        let polled = await consumer.poll(pollSliceMs, 1000);
        while (polled.assignment.length === 0 && Date.now() < deadline) {
          polled = await consumer.poll(pollSliceMs, 1000);
        }
        await consumer.commit();
        await assert.rejects(admin.deleteGroup(groupId), (error: Error) => {
          // A client without DeleteGroups: let recordStep record it as unsupported.
          if (error instanceof LineDriverError && error.unsupported) throw error;
          assert.match(error.message, /NON_EMPTY_GROUP|not empty|NonEmptyGroup/i);
          return true;
        });
        await consumer.closeConsumer();
        await admin.deleteGroup(groupId);
        const listed = await admin.listGroups();
        assert.ok(!listed.some((g) => g.groupId === groupId), 'group gone');
        await admin.deleteTopic(topic);
      }),
    );
  });
}

/** The records of `deleteInsideBatchScenario`, as each client's case produced them. */
export interface BatchToCut {
  readonly key: Buffer | null;
  /** Record values, produced in one call (one batch); DeleteRecords cuts before the second. */
  readonly values: readonly string[];
}

/**
 * A case the full scenario does not cover, found with librdkafka and run also with franz-go: both
 * clients pack one produce call into one batch, and DeleteRecords at an offset inside that batch
 * moves the log start into it. Storage recovery must accept a batch that straddles the log start
 * offset: the broker must restart on that data dir and serve the partition from the new log start.
 */
export function deleteInsideBatchScenario(options: FullScenarioOptions, batch: BatchToCut): void {
  describe(`${options.label}: DeleteRecords inside a batch, then a broker restart`, () => {
    const bench = new ScenarioBench();
    after(() => bench.close());

    test('the restarted broker keeps the new log start', opts(), async () => {
      await bench.start('delete-inside-batch');
      const driver = await bench.driver(options, 'admin');
      const topic = 'delete-inside-batch';
      await driver.createTopic(topic, 1);
      const records = batch.values.map((value) => ({
        partition: 0,
        key: batch.key,
        value: Buffer.from(value),
        headers: [],
      }));
      const offsets = await driver.produceWithOffsets(topic, records, { compression: 'none' });
      assert.deepEqual(
        offsets.map((o) => o.offset),
        batch.values.map((_, index) => index),
      );
      assert.equal(await driver.deleteRecords(topic, 0, 1), 1n, 'low watermark inside the batch');
      assert.ok(bench.broker !== undefined);
      await bench.broker.current.stop();
      await bench.broker.start().catch((error: Error) => {
        assert.fail(
          `broker refused to restart after DeleteRecords inside a batch: ${error.message}`,
        );
      });
      assert.equal(await driver.listOffsets(topic, 0, 'earliest'), 1n, 'log start after restart');
      const read = await driver.consumeAll(topic, 1, batch.values.length - 1);
      assert.deepEqual(
        read.map((record) => [record.offset, record.value?.toString()]),
        batch.values.slice(1).map((value, index) => [BigInt(index + 1), value]),
      );
    });
  });
}

function opts(): { timeout: number } {
  return { timeout: stepTimeoutMs };
}
