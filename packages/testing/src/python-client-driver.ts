/**
 * Drivers for the two Python clients, python3-confluent-kafka (librdkafka 2.0.2) and kafka-python
 * 2.0.2. Each operation runs one short-lived `/usr/bin/python3` process with a driver script from
 * packages/testing/drivers/: a JSON command on stdin, a JSON answer on stdout, bytes as base64
 * (drivers/driver_protocol.py). A process per operation keeps the drivers stateless, so a client
 * bug cannot leak from one step into the next.
 *
 * Every call is bounded: the script gets `timeout_ms` and is SIGKILLed a little after it.
 */
import { fileURLToPath } from 'node:url';
import type { CompressionType } from '@tributary/protocol';
import {
  allCompressions,
  defaultOperationTimeoutMs,
  fullCapabilities,
  type ClientCapabilities,
  type ClientDriver,
  type ClientDriverOptions,
  type ConsumedRecord,
  type DriverOperation,
  type ProduceRecord,
} from './client-driver.ts';
import { runCommand } from './run-command.ts';
import { recordFromWire, recordToWire, type WireRecord } from './wire-record.ts';

/** Debian's python3-* Kafka packages exist for this interpreter, not for a pyenv on PATH. */
export const systemPython = '/usr/bin/python3';

const driversDir = fileURLToPath(new URL('../drivers/', import.meta.url));
const killGraceMs = 10_000;

type Answer = { ok: true; result: unknown } | { ok: false; error: string };

/** Runs one command through a driver script and returns its `result`, or throws its error. */
export async function runPythonDriver(
  script: string,
  command: Record<string, unknown>,
  timeoutMs: number,
): Promise<unknown> {
  const input = JSON.stringify({ ...command, timeout_ms: timeoutMs });
  const run = await runCommand(systemPython, [driversDir + script], {
    input,
    timeoutMs: timeoutMs + killGraceMs,
  });
  const op = String(command['op']);
  if (run.timedOut) throw new Error(`${script} ${op}: killed after ${timeoutMs} ms\n${run.stderr}`);
  let answer: Answer;
  try {
    answer = JSON.parse(run.stdout) as Answer;
  } catch {
    throw new Error(`${script} ${op}: exit ${run.code}, no JSON answer\n${tail(run.stderr)}`);
  }
  if (!answer.ok) throw new Error(`${script} ${op}: ${answer.error}\n${tail(run.stderr)}`);
  return answer.result;
}

function tail(text: string): string {
  return text.length > 4000 ? `...${text.slice(-4000)}` : text;
}

class PythonClientDriver implements ClientDriver {
  readonly delegated = new Map<DriverOperation, string>();
  readonly #script: string;
  readonly #bootstrap: string;
  readonly #timeoutMs: number;

  readonly name: string;
  readonly compressions: readonly CompressionType[];
  readonly capabilities: ClientCapabilities;

  constructor(
    name: string,
    compressions: readonly CompressionType[],
    script: string,
    options: ClientDriverOptions,
  ) {
    this.name = name;
    this.compressions = compressions;
    // kafka-python's send() asserts "Need at least one: key or value" and that every header
    // value is bytes.
    const full = script !== 'kafka_python_driver.py';
    this.capabilities = { ...fullCapabilities, nullKeyWithNullValue: full, nullHeaderValues: full };
    this.#script = script;
    this.#bootstrap = options.bootstrap;
    this.#timeoutMs = options.operationTimeoutMs ?? defaultOperationTimeoutMs;
  }

  #run(op: string, fields: Record<string, unknown>): Promise<unknown> {
    const command = { op, bootstrap: this.#bootstrap, ...fields };
    return runPythonDriver(this.#script, command, this.#timeoutMs);
  }

  async createTopic(topic: string, partitions: number): Promise<void> {
    await this.#run('create_topic', { topic, partitions });
  }

  async produce(
    topic: string,
    records: readonly ProduceRecord[],
    options: { compression: CompressionType },
  ): Promise<void> {
    const wire = records.map(recordToWire);
    await this.#run('produce', { topic, records: wire, compression: options.compression });
  }

  async consumeAll(topic: string, partitions: number, expected: number): Promise<ConsumedRecord[]> {
    const result = (await this.#run('consume', { topic, partitions, expected })) as WireRecord[];
    return result.map(recordFromWire);
  }

  async listOffsetsByTimestamp(
    topic: string,
    partition: number,
    timestamp: bigint,
  ): Promise<bigint | null> {
    const fields = { topic, partition, timestamp: Number(timestamp) };
    const offset = (await this.#run('offsets_for_times', fields)) as number | null;
    return offset === null ? null : BigInt(offset);
  }

  async describeConfigs(topic: string): Promise<Map<string, string | null>> {
    const configs = (await this.#run('describe_configs', { topic })) as Record<string, string>;
    return new Map(Object.entries(configs));
  }

  async alterConfigs(topic: string, configs: ReadonlyMap<string, string>): Promise<void> {
    await this.#run('alter_configs', { topic, configs: Object.fromEntries(configs) });
  }

  async deleteTopic(topic: string): Promise<void> {
    await this.#run('delete_topic', { topic });
  }

  async listTopics(): Promise<string[]> {
    return (await this.#run('list_topics', {})) as string[];
  }

  async close(): Promise<void> {}
}

/** python3-confluent-kafka 1.7.0 on librdkafka 2.0.2, which has every codec built in. */
export function createConfluentKafkaDriver(options: ClientDriverOptions): ClientDriver {
  const name = 'python3-confluent-kafka 1.7.0 (librdkafka 2.0.2)';
  return new PythonClientDriver(name, allCompressions, 'confluent_kafka_driver.py', options);
}

/**
 * kafka-python 2.0.2. Its snappy/lz4/zstd codecs need optional Python modules, so the codecs
 * are asked from the script (gzip is always there).
 */
export async function createKafkaPythonDriver(options: ClientDriverOptions): Promise<ClientDriver> {
  const available = (await runPythonDriver(
    'kafka_python_driver.py',
    { op: 'codecs', bootstrap: options.bootstrap },
    30_000,
  )) as CompressionType[];
  const compressions = allCompressions.filter(
    (type) => type === 'none' || available.includes(type),
  );
  const name = 'kafka-python 2.0.2';
  return new PythonClientDriver(name, compressions, 'kafka_python_driver.py', options);
}
