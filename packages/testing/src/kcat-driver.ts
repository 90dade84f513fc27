/**
 * kcat 1.7.1 (librdkafka 2.0.2) driver. kcat does what its command line can:
 * - produce (-P): one invocation per run of records with the same partition and headers, since
 *   -H sets headers for a whole invocation and -p picks one partition; keys and values are
 *   text lines ("key<TAB>value\n", -K '\t'), and -Z turns an empty key or value into null. So
 *   kcat records must be printable ASCII without tab/newline, empty means null, and timestamps
 *   are kcat's own (CreateTime = now);
 * - consume (-C -J -e -o beginning, all partitions, no group): JSON lines whose key, payload and
 *   header values are JSON strings, which round-trip only printable ASCII exactly;
 * - ListOffsets by timestamp (-Q -t topic:partition:ts) and topic listing (-L -J).
 * kcat has no admin API, so createTopic, describeConfigs, alterConfigs and deleteTopic go to the
 * `admin` driver given at creation; `delegated` says so.
 */
import type { CompressionType } from '@tributary/protocol';
import {
  allCompressions,
  defaultOperationTimeoutMs,
  type ClientDriver,
  type ClientDriverOptions,
  type ClientHeader,
  type ConsumedRecord,
  type DriverOperation,
  type ProduceRecord,
} from './client-driver.ts';
import { runCommand, type CommandResult } from './run-command.ts';

export const kcatPath = '/usr/bin/kcat';

export interface KcatDriverOptions extends ClientDriverOptions {
  /** Does the admin operations kcat lacks. */
  readonly admin: ClientDriver;
}

interface KcatJsonMessage {
  partition: number;
  offset: number;
  ts: number;
  key: string | null;
  payload: string | null;
  headers?: (string | null)[];
}

const printable = /^[\x20-\x7e]*$/;

function checkText(what: string, data: Buffer | null): string {
  if (data === null) return '';
  const text = data.toString('latin1');
  if (text.length === 0 || !printable.test(text)) {
    throw new Error(
      `kcat driver: ${what} must be non-empty printable ASCII: ${JSON.stringify(text)}`,
    );
  }
  return text;
}

function headerArgs(headers: readonly ClientHeader[]): string[] {
  return headers.flatMap((header) => ['-H', `${header.key}=${checkText('header', header.value)}`]);
}

/** Splits records into runs that one kcat invocation can send: same partition and headers. */
function invocations(records: readonly ProduceRecord[]): ProduceRecord[][] {
  const runs: ProduceRecord[][] = [];
  let signature = '';
  for (const record of records) {
    const next = `${record.partition}|${JSON.stringify(headerArgs(record.headers))}`;
    const last = runs.at(-1);
    if (last === undefined || next !== signature) runs.push([record]);
    else last.push(record);
    signature = next;
  }
  return runs;
}

function bytes(text: string | null): Buffer | null {
  return text === null ? null : Buffer.from(text, 'latin1');
}

function fromJson(message: KcatJsonMessage): ConsumedRecord {
  const headers: ClientHeader[] = [];
  const flat = message.headers ?? [];
  for (let index = 0; index + 1 < flat.length; index += 2) {
    const value = flat[index + 1];
    headers.push({
      key: flat[index] ?? '',
      value: value === null || value === undefined ? null : Buffer.from(value, 'latin1'),
    });
  }
  return {
    partition: message.partition,
    offset: BigInt(message.offset),
    key: bytes(message.key),
    value: bytes(message.payload),
    headers,
    timestamp: BigInt(message.ts),
  };
}

class KcatDriver implements ClientDriver {
  readonly name = 'kcat 1.7.1 (librdkafka 2.0.2)';
  readonly compressions = allCompressions;
  readonly capabilities = {
    timestamps: false,
    headersPerRecord: false,
    emptyDistinctFromNull: false,
    binarySafe: false,
    nullHeaderValues: false,
    nullKeyWithNullValue: true,
  };
  readonly delegated: ReadonlyMap<DriverOperation, string>;
  readonly #bootstrap: string;
  readonly #admin: ClientDriver;
  readonly #timeoutMs: number;

  constructor(options: KcatDriverOptions) {
    this.#bootstrap = options.bootstrap;
    this.#admin = options.admin;
    this.#timeoutMs = options.operationTimeoutMs ?? defaultOperationTimeoutMs;
    const reason = `kcat has no admin API; done with ${options.admin.name}`;
    this.delegated = new Map<DriverOperation, string>([
      ['createTopic', reason],
      ['describeConfigs', reason],
      ['alterConfigs', reason],
      ['deleteTopic', reason],
    ]);
  }

  async #kcat(what: string, args: string[], input?: string): Promise<CommandResult> {
    const run = await runCommand(kcatPath, ['-b', this.#bootstrap, ...args], {
      timeoutMs: this.#timeoutMs,
      ...(input === undefined ? {} : { input }),
    });
    if (run.code !== 0 || run.timedOut) {
      const how = run.timedOut ? `killed after ${this.#timeoutMs} ms` : `exit ${run.code}`;
      throw new Error(`kcat ${what}: ${how}\n${run.stderr.slice(-4000)}`);
    }
    return run;
  }

  createTopic(name: string, partitions: number): Promise<void> {
    return this.#admin.createTopic(name, partitions);
  }

  async produce(
    topic: string,
    records: readonly ProduceRecord[],
    options: { compression: CompressionType },
  ): Promise<void> {
    for (const run of invocations(records)) {
      const first = run[0];
      if (first === undefined) continue;
      const lines = run.map(
        (record) => `${checkText('key', record.key)}\t${checkText('value', record.value)}\n`,
      );
      const args = ['-P', '-t', topic, '-p', String(first.partition), '-K', '\\t', '-Z'];
      args.push('-X', `compression.codec=${options.compression}`, '-X', 'acks=all');
      args.push(...headerArgs(first.headers));
      await this.#kcat('produce', args, lines.join(''));
    }
  }

  async consumeAll(
    topic: string,
    _partitions: number,
    _expected: number,
  ): Promise<ConsumedRecord[]> {
    // No -c: -e reads every partition up to its end, so extra records would show up too.
    const args = ['-C', '-t', topic, '-J', '-e', '-o', 'beginning', '-q'];
    args.push('-X', 'isolation.level=read_committed');
    const run = await this.#kcat('consume', args);
    return run.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => fromJson(JSON.parse(line) as KcatJsonMessage));
  }

  async listOffsetsByTimestamp(
    topic: string,
    partition: number,
    timestamp: bigint,
  ): Promise<bigint | null> {
    const run = await this.#kcat('query', ['-Q', '-t', `${topic}:${partition}:${timestamp}`]);
    const match = /\[(\d+)\] offset (-?\d+)/.exec(run.stdout);
    if (match === null) throw new Error(`kcat query: unexpected output ${run.stdout}`);
    const offset = BigInt(match[2] ?? '-1');
    return offset < 0n ? null : offset;
  }

  describeConfigs(topic: string): Promise<Map<string, string | null>> {
    return this.#admin.describeConfigs(topic);
  }

  alterConfigs(topic: string, configs: ReadonlyMap<string, string>): Promise<void> {
    return this.#admin.alterConfigs(topic, configs);
  }

  deleteTopic(name: string): Promise<void> {
    return this.#admin.deleteTopic(name);
  }

  async listTopics(): Promise<string[]> {
    const run = await this.#kcat('metadata', ['-L', '-J']);
    const metadata = JSON.parse(run.stdout) as { topics: { topic: string }[] };
    return metadata.topics.map((entry) => entry.topic).toSorted();
  }

  async close(): Promise<void> {
    await this.#admin.close();
  }
}

export function createKcatDriver(options: KcatDriverOptions): ClientDriver {
  return new KcatDriver(options);
}
