/**
 * The TypeScript side of the line driver protocol (packages/testing/DRIVER-PROTOCOL.md): one
 * long-lived child process per client role (Java, Go, Python from the virtualenv), JSON commands
 * on its stdin, one JSON answer line per command on its stdout, in order.
 *
 * `LineDriverProcess` owns the process: it waits for the ready line (which names the client and
 * its version), numbers commands, and bounds each one: a command with no answer `killGraceMs`
 * after its own timeout kills the process, so no test can hang on a stuck client. A process that
 * exits fails every command still waiting, with the tail of its stderr in the error.
 *
 * `LineClientDriver` adapts one process to `ClientDriver` (the scenario every client runs) and
 * adds the group, transaction and admin operations of the full scenario.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { CompressionType } from '@tributary/protocol';
import {
  allCompressions,
  defaultOperationTimeoutMs,
  fullCapabilities,
  type ClientCapabilities,
  type ClientDriver,
  type ConsumedRecord,
  type DriverOperation,
  type ProduceOptions,
  type ProduceRecord,
} from './client-driver.ts';
import { recordFromWire, recordToWire, type WireRecord } from './wire-record.ts';

/** How to start a driver: the program and its arguments. */
export interface DriverCommand {
  readonly command: string;
  readonly args: readonly string[];
  /** Added to the test's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

const readyTimeoutMs = 60_000;
const killGraceMs = 15_000;
const stderrTailMaxBytes = 16 * 1024;

/** A command the driver answered with `ok: false`. */
export class LineDriverError extends Error {
  /** Kafka's error name when the client exposed one, e.g. `NON_EMPTY_GROUP`. */
  readonly code: string | undefined;
  readonly unsupported: boolean;

  constructor(op: string, error: string, code: string | undefined) {
    super(`${op}: ${error}${code === undefined ? '' : ` [${code}]`}`);
    this.name = 'LineDriverError';
    this.code = code;
    this.unsupported = error.startsWith('Unsupported');
  }
}

interface Pending {
  readonly op: string;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface Answer {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
  readonly code?: string;
}

interface ReadyLine {
  readonly ready: true;
  readonly client: string;
  readonly version: string;
}

export class LineDriverProcess {
  readonly client: string;
  readonly version: string;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pending = new Map<number, Pending>();
  readonly #label: string;
  #nextId = 1;
  #stderrTail = '';
  #exited: string | undefined;

  private constructor(
    child: ChildProcessWithoutNullStreams,
    ready: ReadyLine,
    state: { label: string; stderr: string },
  ) {
    this.#child = child;
    this.client = ready.client;
    this.version = ready.version;
    this.#label = state.label;
    this.#stderrTail = state.stderr;
  }

  /** Starts the driver and waits (bounded) for its ready line. */
  static async start(driver: DriverCommand, label: string): Promise<LineDriverProcess> {
    const child = spawn(driver.command, [...driver.args], {
      env: { ...process.env, ...driver.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    const onStderr = (chunk: Buffer): void => {
      stderr = (stderr + chunk.toString('utf8')).slice(-stderrTailMaxBytes);
    };
    child.stderr.on('data', onStderr);
    const lines = createInterface({ input: child.stdout });
    const ready = await new Promise<ReadyLine>((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`${label} (${driver.command}): ${why}\n${stderr}`));
      };
      const timer = setTimeout(() => fail(`no ready line in ${readyTimeoutMs} ms`), readyTimeoutMs);
      child.once('error', (error) => fail(`cannot start: ${error.message}`));
      child.once('exit', (code, signal) => fail(`exited before ready (${code ?? signal})`));
      lines.once('line', (line) => {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.removeAllListeners('error');
        try {
          const parsed = JSON.parse(line) as Partial<ReadyLine>;
          if (parsed.ready !== true) throw new Error('not a ready line');
          resolve(parsed as ReadyLine);
        } catch {
          fail(`first line is not the ready line: ${line.slice(0, 200)}`);
        }
      });
    });
    const driverProcess = new LineDriverProcess(child, ready, { label, stderr });
    child.stderr.off('data', onStderr);
    child.stderr.on('data', (chunk: Buffer) => driverProcess.#appendStderr(chunk));
    lines.on('line', (line) => driverProcess.#onLine(line));
    child.once('exit', (code, signal) => driverProcess.#onExit(`exited (${code ?? signal})`));
    child.once('error', (error) => driverProcess.#onExit(`failed: ${error.message}`));
    return driverProcess;
  }

  /** Sends one command and resolves with its `result`, or rejects with a `LineDriverError`. */
  request(op: string, fields: Record<string, unknown>, timeoutMs: number): Promise<unknown> {
    if (this.#exited !== undefined) {
      return Promise.reject(new Error(`${this.#label}: driver ${this.#exited}\n${this.stderr()}`));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.#label} ${op}: no answer ${timeoutMs + killGraceMs} ms\n`));
        this.#child.kill('SIGKILL');
      }, timeoutMs + killGraceMs);
      this.#pending.set(id, { op, resolve, reject, timer });
      this.#child.stdin.write(`${JSON.stringify({ ...fields, id, op, timeoutMs })}\n`);
    });
  }

  /** The last bytes the driver wrote to stderr, for diagnostics. */
  stderr(): string {
    return this.#stderrTail;
  }

  /** Closes stdin (the driver closes its clients and exits); SIGKILL if it lingers. */
  async close(): Promise<void> {
    if (this.#exited !== undefined) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), killGraceMs);
    await exited;
    clearTimeout(timer);
  }

  #appendStderr(chunk: Buffer): void {
    this.#stderrTail = (this.#stderrTail + chunk.toString('utf8')).slice(-stderrTailMaxBytes);
  }

  #onLine(line: string): void {
    let answer: Answer;
    try {
      answer = JSON.parse(line) as Answer;
    } catch {
      this.#appendStderr(Buffer.from(`[stdout, not JSON] ${line}\n`));
      return;
    }
    const pending = this.#pending.get(answer.id);
    if (pending === undefined) return;
    this.#pending.delete(answer.id);
    clearTimeout(pending.timer);
    if (answer.ok) pending.resolve(answer.result ?? null);
    else pending.reject(new LineDriverError(pending.op, answer.error ?? 'failed', answer.code));
  }

  #onExit(why: string): void {
    this.#exited = why;
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error(`${this.#label} ${pending.op}: driver ${why}\n${this.stderr()}`));
      this.#pending.delete(id);
    }
  }
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface GroupRecord extends ConsumedRecord {
  readonly topic: string;
}

export interface PollResult {
  readonly records: GroupRecord[];
  readonly assignment: TopicPartition[];
}

export interface GroupListing {
  readonly groupId: string;
  readonly state: string | null;
  readonly type: string | null;
}

export interface GroupDescription {
  readonly groupId: string;
  readonly state: string;
  readonly members: readonly {
    readonly memberId: string;
    readonly clientId: string;
    readonly assignment: readonly TopicPartition[];
  }[];
}

export interface CommittedOffset extends TopicPartition {
  readonly offset: number;
}

export interface SubscribeOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly groupProtocol?: 'classic' | 'consumer';
  readonly instanceId?: string;
  readonly isolationLevel?: IsolationLevel;
}

export type IsolationLevel = 'read_committed' | 'read_uncommitted';

export interface TransactionSpec {
  readonly records: readonly ProduceRecord[];
  readonly commit: boolean;
}

export interface LineClientDriverOptions {
  readonly bootstrap: string;
  readonly driver: DriverCommand;
  /** Shown in test titles; the client and version from the ready line follow it. */
  readonly label: string;
  readonly capabilities?: ClientCapabilities;
  readonly compressions?: readonly CompressionType[];
  readonly operationTimeoutMs?: number;
}

/** A real client in a driver process, as a `ClientDriver` plus the full scenario's operations. */
export class LineClientDriver implements ClientDriver {
  readonly name: string;
  readonly client: string;
  readonly version: string;
  readonly compressions: readonly CompressionType[];
  readonly capabilities: ClientCapabilities;
  readonly delegated: ReadonlyMap<DriverOperation, string> = new Map();
  readonly #process: LineDriverProcess;
  readonly #bootstrap: string;
  readonly #timeoutMs: number;

  private constructor(driverProcess: LineDriverProcess, options: LineClientDriverOptions) {
    this.#process = driverProcess;
    this.#bootstrap = options.bootstrap;
    this.#timeoutMs = options.operationTimeoutMs ?? defaultOperationTimeoutMs;
    this.client = driverProcess.client;
    this.version = driverProcess.version;
    this.name = `${options.label} (${driverProcess.client} ${driverProcess.version})`;
    this.compressions = options.compressions ?? allCompressions;
    this.capabilities = options.capabilities ?? fullCapabilities;
  }

  static async start(options: LineClientDriverOptions): Promise<LineClientDriver> {
    const driverProcess = await LineDriverProcess.start(options.driver, options.label);
    return new LineClientDriver(driverProcess, options);
  }

  /** Sends `op` with the bootstrap address; `timeoutMs` defaults to the operation timeout. */
  call(op: string, fields: Record<string, unknown> = {}, timeoutMs?: number): Promise<unknown> {
    const bound = timeoutMs ?? this.#timeoutMs;
    return this.#process.request(op, { ...fields, bootstrap: this.#bootstrap }, bound);
  }

  stderr(): string {
    return this.#process.stderr();
  }

  async createTopic(
    name: string,
    partitions: number,
    configs: Readonly<Record<string, string>> = {},
  ): Promise<void> {
    await this.call('createTopic', { topic: name, partitions, configs });
  }

  async produce(
    topic: string,
    records: readonly ProduceRecord[],
    options: ProduceOptions & { readonly idempotent?: boolean },
  ): Promise<void> {
    await this.produceWithOffsets(topic, records, options);
  }

  /** Produces with acks=all and returns each record's partition and offset, in order. */
  async produceWithOffsets(
    topic: string,
    records: readonly ProduceRecord[],
    options: ProduceOptions & { readonly idempotent?: boolean },
  ): Promise<TopicPartitionOffset[]> {
    const result = await this.call('produce', {
      topic,
      records: records.map(recordToWire),
      compression: options.compression,
      idempotent: options.idempotent ?? false,
    });
    return result as TopicPartitionOffset[];
  }

  async consumeAll(
    topic: string,
    partitions: number,
    expectedCount: number,
    isolationLevel: IsolationLevel = 'read_committed',
  ): Promise<ConsumedRecord[]> {
    const fields = { topic, partitions, expectedCount, isolationLevel };
    const result = (await this.call('consumeAll', fields)) as WireRecord[];
    return result.map(recordFromWire);
  }

  async listOffsetsByTimestamp(
    topic: string,
    partition: number,
    timestamp: bigint,
  ): Promise<bigint | null> {
    return this.listOffsets(topic, partition, Number(timestamp));
  }

  async listOffsets(
    topic: string,
    partition: number,
    spec: 'earliest' | 'latest' | number,
  ): Promise<bigint | null> {
    const result = (await this.call('listOffsets', { topic, partition, spec })) as number | null;
    return result === null ? null : BigInt(result);
  }

  async deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<bigint> {
    const fields = { topic, partition, beforeOffset };
    return BigInt((await this.call('deleteRecords', fields)) as number);
  }

  async describeConfigs(topic: string): Promise<Map<string, string | null>> {
    const result = (await this.call('describeConfigs', { topic })) as Record<string, string | null>;
    return new Map(Object.entries(result));
  }

  async alterConfigs(topic: string, configs: ReadonlyMap<string, string>): Promise<void> {
    await this.call('alterConfigs', { topic, configs: Object.fromEntries(configs) });
  }

  async deleteTopic(name: string): Promise<void> {
    await this.call('deleteTopic', { topic: name });
  }

  async listTopics(): Promise<string[]> {
    return (await this.call('listTopics')) as string[];
  }

  async listGroups(): Promise<GroupListing[]> {
    return (await this.call('listGroups')) as GroupListing[];
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    return (await this.call('describeGroup', { groupId })) as GroupDescription;
  }

  async groupOffsets(groupId: string): Promise<CommittedOffset[]> {
    return (await this.call('groupOffsets', { groupId })) as CommittedOffset[];
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.call('deleteGroup', { groupId });
  }

  async subscribe(options: SubscribeOptions): Promise<void> {
    await this.call('subscribe', { ...options });
  }

  async poll(durationMs: number, maxRecords: number): Promise<PollResult> {
    const result = (await this.call('poll', { durationMs, maxRecords }, durationMs + 30_000)) as {
      records: WireRecord[];
      assignment: TopicPartition[];
    };
    return {
      records: result.records.map((record) => ({
        ...recordFromWire(record),
        topic: record.topic ?? '',
      })),
      assignment: result.assignment,
    };
  }

  async commit(): Promise<void> {
    await this.call('commit');
  }

  async closeConsumer(): Promise<void> {
    await this.call('closeConsumer');
  }

  async transactionalProduce(
    topic: string,
    transactionalId: string,
    transactions: readonly TransactionSpec[],
  ): Promise<void> {
    await this.call('transactionalProduce', {
      topic,
      transactionalId,
      transactions: transactions.map((spec) => ({
        commit: spec.commit,
        records: spec.records.map(recordToWire),
      })),
    });
  }

  close(): Promise<void> {
    return this.#process.close();
  }
}

export interface TopicPartitionOffset {
  readonly partition: number;
  readonly offset: number;
}
