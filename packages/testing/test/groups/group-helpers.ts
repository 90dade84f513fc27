/**
 * Shared pieces of the consumer-group tests: a broker whose groups rebalance quickly, topic
 * setup and produce through kafkajs, a @platformatic/kafka member's record stream, and the
 * python3-confluent-kafka group consumer (drivers/group_consumer_driver.py), one process per
 * member, so members run concurrently and a crash is a real process exit.
 */
import {
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  type Consumer,
  type MessagesStream,
} from '@platformatic/kafka';
import { startBroker, type RunningBroker } from '@tributary/broker';
import { createKafkajsDriver, runPythonDriver } from '../../src/index.ts';

/** The first rebalance waits 100 ms for more members, not Kafka's 3 s, to keep the tests short. */
const quickGroups = { initialRebalanceDelayMs: 100 };

/** An in-process broker with quick groups; in memory unless `dataDir` is given. */
export function startGroupBroker(dataDir?: string): Promise<RunningBroker> {
  const storage = dataDir === undefined ? { inMemory: true } : { dataDir };
  return startBroker({ port: 0, quiet: true, groups: quickGroups, ...storage });
}

export interface GroupConsumeCommand {
  readonly bootstrap: string;
  readonly group: string;
  readonly topic: string;
  readonly name: string;
  readonly minRunMs?: number;
  readonly idleMs?: number;
  readonly barrierDir?: string;
  readonly members?: number;
  readonly maxRecords?: number;
  readonly instanceId?: string;
  readonly crash?: boolean;
  readonly timeoutMs?: number;
  /** Default python3-confluent-kafka (librdkafka 2.0.2). */
  readonly client?: 'confluent-kafka' | 'kafka-python';
}

export interface GroupConsumeResult {
  readonly records: { partition: number; offset: number; value: string | null }[];
  /** The member's assignment once min_run_ms passed (and, with a barrier, all had joined). */
  readonly snapshot: number[] | null;
  readonly final: number[];
  readonly history: { t: number; assigned: number[] }[];
}

export async function groupConsume(command: GroupConsumeCommand): Promise<GroupConsumeResult> {
  const result = await runPythonDriver(
    'group_consumer_driver.py',
    {
      op: 'consume',
      bootstrap: command.bootstrap,
      group: command.group,
      topic: command.topic,
      name: command.name,
      min_run_ms: command.minRunMs ?? 0,
      idle_ms: command.idleMs ?? 2000,
      barrier_dir: command.barrierDir ?? null,
      members: command.members ?? 1,
      max_records: command.maxRecords ?? null,
      instance_id: command.instanceId ?? null,
      crash: command.crash ?? false,
      client: command.client ?? 'confluent-kafka',
    },
    command.timeoutMs ?? 60_000,
  );
  return result as GroupConsumeResult;
}

/** Creates `topic` and writes `values[i]` to partition i % partitions, in order. */
export async function produceValues(
  bootstrap: string,
  topic: string,
  partitions: number,
  values: readonly string[],
  create = true,
): Promise<void> {
  const driver = createKafkajsDriver({ bootstrap });
  try {
    if (create) await driver.createTopic(topic, partitions);
    const records = values.map((value, index) => ({
      partition: index % partitions,
      key: null,
      value: Buffer.from(value),
      headers: [],
    }));
    await driver.produce(topic, records, { compression: 'none' });
  } finally {
    await driver.close();
  }
}

type StringConsumer = Consumer<string, string, string, string>;

/**
 * Streams a @platformatic/kafka member's record values of `topic` into `sink`: from the committed
 * offsets (the earliest where the group has none), autocommitting every 100 ms.
 */
export async function platformaticConsumeInto(
  consumer: StringConsumer,
  topic: string,
  sink: Set<string>,
): Promise<MessagesStream<string, string, string, string>> {
  const stream = await consumer.consume({
    topics: [topic],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    autocommit: 100,
  });
  stream.on('data', (message) => sink.add(message.value));
  return stream;
}
