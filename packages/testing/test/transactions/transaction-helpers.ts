/**
 * Shared pieces of the in-process transaction tests: a broker with two-partition topics, the
 * values a batch labelled `name` carries, and a librdkafka read of a topic up to partition EOF
 * (python/read_topic.py), which in read_committed stops at the last stable offset and so shows
 * whether anything aborted or still open is visible.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startBroker, type RunningBroker } from '@tributary/broker';
import { runCommand, systemPython } from '../../src/index.ts';

const reader = fileURLToPath(new URL('./python/read_topic.py', import.meta.url));

/** An in-memory broker on 127.0.0.1 with quick groups and each of `topics` (2 partitions). */
export async function startTransactionBroker(topics: readonly string[]): Promise<RunningBroker> {
  const broker = await startBroker({
    port: 0,
    host: '127.0.0.1',
    inMemory: true,
    quiet: true,
    groups: { initialRebalanceDelayMs: 100 },
  });
  try {
    for (const name of topics) {
      await broker.storage.createTopic({ name, partitionCount: 2, configs: {} });
    }
  } catch (error: unknown) {
    await broker.close();
    throw error;
  }
  return broker;
}

/** The values `name-0..2` of each batch, sorted. */
export function labels(...names: string[]): string[] {
  return names.flatMap((name) => [0, 1, 2].map((i) => `${name}-${i}`)).toSorted();
}

/** Every value of the two-partition `topic` up to partition EOF, sorted. */
export async function readAll(
  bootstrap: string,
  topic: string,
  isolation: 'read_committed' | 'read_uncommitted',
): Promise<string[]> {
  const run = await runCommand(systemPython, [reader, bootstrap, topic, '2', isolation], {
    timeoutMs: 60_000,
    env: { PYTHONDONTWRITEBYTECODE: '1' },
  });
  assert.equal(run.code, 0, run.stderr);
  return (JSON.parse(run.stdout.trim()) as { values: string[] }).values.toSorted();
}
