/**
 * Records which client passed which scenario, as the tests run, so docs/compatibility.md is
 * written from a test run and never by hand (scripts/compatibility.ts renders it).
 *
 * Each scenario step calls `recordStep`: it runs the step and appends one JSON line
 * `{client, version, scenario, step, result}` to `.tmp/compatibility/results.jsonl` at the
 * repository root, then rethrows any failure so the test fails as before. A step the client
 * cannot do (the driver answered `Unsupported: ...`) is recorded as `unsupported` and skipped;
 * one the driver handed to another client (`delegatedTo`) is recorded as `delegated`.
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
      if (where !== undefined) append({ ...where, step: t.name, result: 'unsupported' });
      t.skip(error instanceof Error ? error.message : String(error));
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
