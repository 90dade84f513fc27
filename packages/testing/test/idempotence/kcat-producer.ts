/**
 * kcat 1.7.1 (librdkafka 2.0.2) as a long-lived producer and as a reader, for the idempotence and
 * transaction tests: `kcat -P` reads "key<TAB>value" lines from a stdin the test keeps open, so
 * one producer session (one producer id, one transaction) spans as many writes as the test wants.
 * Closing stdin ends the session (with transactional.id set, kcat commits its transaction then);
 * SIGINT and then the end of stdin interrupt it (see `interrupt`). The broker's
 * high watermarks are read over the wire (ListOffsets latest), to know when what was written has
 * reached the log.
 *
 * kcat 1.7.1 reads stdin in fixed-size fread()s and hands out at most one message per read
 * (input.c), so while stdin stays open the last lines written wait for more input: of 300 lines
 * written at once, 256 to 296 went out, the rest only with the next write or the end of stdin.
 * The tests therefore wait for part of what they wrote to reach the log, never for all of it.
 */
import { spawn } from 'node:child_process';
import { listOffsetsApi } from '@tributary/protocol';
import { KafkaConnection } from '@tributary/cli';
import { kcatPath, runCommand } from '../../src/index.ts';

const stopGraceMs = 30_000;
const readTimeoutMs = 60_000;
const pollIntervalMs = 100;

export interface KcatExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

export interface KcatProducer {
  /** Writes "key<TAB>value" lines to kcat's stdin. */
  write(lines: readonly (readonly [string, string])[]): void;
  /** Closes stdin and waits for kcat to flush (and commit) and exit. */
  end(): Promise<KcatExit>;
  /**
   * SIGINT (Ctrl-C), the end of stdin (fread restarts after the signal) and the exit. kcat aborts
   * its transaction only when the signal finds it between messages; with lines still buffered (as
   * when it waits for input, see above) it exits 1 at the next one ("Program terminated while
   * producing") and leaves the transaction open.
   */
  interrupt(): Promise<KcatExit>;
  /** SIGKILL if still running; for after hooks. */
  kill(): void;
  stderr(): string;
}

function line(key: string, value: string): string {
  if (!/^[\x21-\x7e]+$/.test(key) || !/^[\x20-\x7e]+$/.test(value)) {
    throw new Error(`kcat lines are printable ASCII, no tab: ${JSON.stringify([key, value])}`);
  }
  return `${key}\t${value}\n`;
}

/**
 * Starts `kcat -P -t topic -K '\t' -E` with `-X` settings, reading lines from stdin. -E: a broker
 * that went away is an error kcat would otherwise exit on ("all broker connections are down"),
 * while librdkafka reconnects and retries by itself; a failed delivery still makes the exit code 1.
 */
export function startKcatProducer(
  bootstrap: string,
  topic: string,
  settings: Readonly<Record<string, string>>,
): KcatProducer {
  const args = ['-b', bootstrap, '-P', '-t', topic, '-K', '\\t', '-E'];
  for (const [name, value] of Object.entries(settings)) args.push('-X', `${name}=${value}`);
  const child = spawn(kcatPath, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  child.stdin.on('error', () => undefined);
  const exited = new Promise<KcatExit>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  const waitExit = async (): Promise<KcatExit> => {
    const timer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
    const exit = await exited;
    clearTimeout(timer);
    return exit;
  };
  return {
    write: (lines) => {
      child.stdin.write(lines.map(([key, value]) => line(key, value)).join(''));
    },
    end: () => {
      child.stdin.end();
      return waitExit();
    },
    interrupt: () => {
      child.kill('SIGINT');
      child.stdin.end();
      return waitExit();
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    stderr: () => stderr,
  };
}

export interface KcatRecord {
  readonly partition: number;
  readonly offset: bigint;
  readonly value: string;
}

/** Every record of `topic` (all partitions, from the beginning up to the end) read by kcat. */
export async function kcatReadAll(
  bootstrap: string,
  topic: string,
  isolation: 'read_committed' | 'read_uncommitted',
): Promise<KcatRecord[]> {
  const args = ['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q'];
  args.push('-f', '%p\\t%o\\t%s\\n', '-X', `isolation.level=${isolation}`);
  const run = await runCommand(kcatPath, args, { timeoutMs: readTimeoutMs });
  if (run.code !== 0 || run.timedOut) {
    throw new Error(`kcat -C: exit ${run.code}, timed out ${run.timedOut}\n${run.stderr}`);
  }
  return run.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [partition = '', offset = '', value = ''] = line.split('\t');
      return { partition: Number(partition), offset: BigInt(offset), value };
    });
}

/** The sum of the partitions' high watermarks (ListOffsets latest, read_uncommitted). */
export async function highWatermarks(
  bootstrap: string,
  topic: string,
  partitions: number,
): Promise<bigint> {
  const [host = '', port = ''] = bootstrap.split(':');
  const connection = await KafkaConnection.connect({ host, port: Number(port) });
  try {
    const response = await connection.request(listOffsetsApi, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        {
          name: topic,
          partitions: [...Array(partitions).keys()].map((partitionIndex) => ({
            partitionIndex,
            currentLeaderEpoch: -1,
            timestamp: -1n,
          })),
        },
      ],
    });
    return response.topics
      .flatMap((answered) => answered.partitions)
      .reduce((sum, partition) => sum + partition.offset, 0n);
  } finally {
    connection.close();
  }
}

/** Waits until `topic`'s high watermarks add up to at least `records` (see above: not all). */
export async function waitForRecords(
  bootstrap: string,
  topic: string,
  partitions: number,
  records: number,
  producer: KcatProducer,
): Promise<void> {
  let seen = 0n;
  const deadline = Date.now() + readTimeoutMs;
  while (seen < BigInt(records)) {
    if (Date.now() > deadline) {
      throw new Error(`${seen} of ${records} records in ${topic}\n${producer.stderr()}`);
    }
    seen = await highWatermarks(bootstrap, topic, partitions).catch(() => 0n);
    if (seen < BigInt(records)) await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
}
