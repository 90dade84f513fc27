/**
 * Records which client passed which scenario, as the tests run, so docs/compatibility.md is
 * written from a test run and never by hand (scripts/compatibility.ts renders it).
 *
 * Each scenario step calls `recordStep`: it runs the step and appends one JSON line
 * `{client, version, scenario, step, result}` to `.tmp/compatibility/results.jsonl` at the
 * repository root, then rethrows any failure so the test fails as before. A step the client
 * cannot do (the driver answered `Unsupported: ...`) is recorded as `unsupported` and skipped;
 * one the driver handed to another client (`delegatedTo`) is recorded as `delegated`. A whole
 * scenario the client library has no feature for is recorded once with `recordUnsupported`.
 * Lines are small single appends, so test files running in parallel do not interleave them.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { TestContext } from 'node:test';

export const compatibilityResultsPath = resolve(
  import.meta.dirname,
  '../../../.tmp/compatibility/results.jsonl',
);

/** `delegated`: the step passed, but another client did it for this one (kcat's admin steps). */
export type StepResult = 'pass' | 'fail' | 'unsupported' | 'delegated';

export interface CompatibilityCell {
  /** The client library as users name it, e.g. `kafka-clients (Java)`. */
  readonly client: string;
  readonly version: string;
  /** The scenario column, e.g. `consumer group (classic)`. */
  readonly scenario: string;
}

export interface CompatibilityLine extends CompatibilityCell {
  readonly step: string;
  readonly result: StepResult;
  readonly detail?: string;
}

/**
 * The clients whose own tests (test/groups/, transactions/, idempotence/, admin/) record into
 * the table besides their basic scenario, named as that scenario names them: the title of
 * their `clientScenario` and their driver's `name`. Kept here so every test writes the same row.
 */
export const compatibilityClients = {
  kcat: { client: 'kcat', version: 'kcat 1.7.1 (librdkafka 2.0.2)' },
  confluentKafka: {
    client: 'python3-confluent-kafka',
    version: 'python3-confluent-kafka 1.7.0 (librdkafka 2.0.2)',
  },
  kafkaPython: { client: 'kafka-python', version: 'kafka-python 2.0.2' },
  kafkajs: { client: 'kafkajs', version: 'kafkajs 2.2.4' },
  platformatic: { client: '@platformatic/kafka', version: '@platformatic/kafka 2.12' },
} as const;

export type CompatibilityClient = keyof typeof compatibilityClients;

/** The docs/compatibility.md columns, in the words the table uses. */
export const compatibilityScenarios = {
  produceConsume: 'produce/consume (codecs, headers)',
  offsetsByTime: 'offsets by time',
  topicAdmin: 'admin (topics, configs)',
  classicGroup: 'consumer group (classic)',
  consumerGroup: 'consumer group (consumer)',
  idempotence: 'idempotent producer',
  transactions: 'transactions (read_committed)',
  groupAdmin: 'admin (offsets, records, groups)',
} as const;

export function clientCell(client: CompatibilityClient, scenario: string): CompatibilityCell {
  return { ...compatibilityClients[client], scenario };
}

/**
 * clientScenario's `cell` option for one of `compatibilityClients`: its cell, after checking
 * that the driver still reports the version written above (a bumped client would otherwise
 * split into two rows of the table).
 */
export function driverCell(
  client: CompatibilityClient,
): (
  driver: { readonly name: string } | undefined,
  scenario: string,
) => CompatibilityCell | undefined {
  return (driver, scenario) => {
    if (driver === undefined) return undefined;
    const cell = clientCell(client, scenario);
    if (driver.name !== cell.version) {
      throw new Error(
        `the driver reports ${driver.name}, compatibilityClients says ${cell.version}`,
      );
    }
    return cell;
  };
}

function append(line: CompatibilityLine): void {
  mkdirSync(dirname(compatibilityResultsPath), { recursive: true });
  appendFileSync(compatibilityResultsPath, `${JSON.stringify(line)}\n`);
}

function isUnsupported(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error as { unsupported?: unknown }).unsupported === true &&
    error.name === 'LineDriverError'
  );
}

/**
 * Runs one step of a scenario and records its result for `cell()` (called after the step, so a
 * driver started inside the first step can name its version). When `cell()` is undefined the
 * step still runs but nothing is recorded.
 */
export async function recordStep(
  t: TestContext,
  cell: () => CompatibilityCell | undefined,
  step: () => Promise<void>,
  delegatedTo?: () => string | undefined,
): Promise<void> {
  try {
    await step();
  } catch (error: unknown) {
    const where = cell();
    if (isUnsupported(error)) {
      const reason = error instanceof Error ? error.message : String(error);
      if (where !== undefined) {
        append({ ...where, step: t.name, result: 'unsupported', detail: reason.slice(0, 300) });
      }
      t.skip(reason);
      return;
    }
    const detail = (error instanceof Error ? error.message : String(error)).slice(0, 300);
    if (where !== undefined) append({ ...where, step: t.name, result: 'fail', detail });
    throw error;
  }
  const where = cell();
  if (where === undefined) return;
  const delegation = delegatedTo?.();
  append(
    delegation === undefined
      ? { ...where, step: t.name, result: 'pass' }
      : { ...where, step: t.name, result: 'delegated', detail: delegation },
  );
}

/**
 * Records that the client library has no such feature at all (kafka-python 2.0.2 has no
 * idempotent producer, say), so the table shows "n/a (client)" with `reason` instead of
 * "not run". Called once per client and scenario, from the client's test file.
 */
export function recordUnsupported(cell: CompatibilityCell, step: string, reason: string): void {
  append({ ...cell, step, result: 'unsupported', detail: reason });
}
