/**
 * Writes docs/compatibility.md from the results the client scenarios recorded during a test run
 * (`.tmp/compatibility/results.jsonl`, see packages/testing/src/compatibility-record.ts): one row
 * per client and version, one column per scenario. A cell passes when every recorded step of
 * that scenario passed; a failed step names itself in the notes below the table, and a scenario
 * the client library has no feature for is listed once with its reason. Nothing in the table is
 * typed by hand: a scenario a client did not run shows as "not run".
 *
 *   node scripts/compatibility.ts [--results FILE] [--out FILE]
 *
 * `npm test` runs it after a full run (no filter).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as prettier from 'prettier';
import {
  compatibilityResultsPath,
  compatibilityScenarios,
  type CompatibilityLine as Line,
} from '@tributary/testing';

const defaultOutPath = resolve(import.meta.dirname, '../docs/compatibility.md');

/** Column order (the recorders' own list); scenarios not listed follow in the order first seen. */
const knownScenarios: readonly string[] = Object.values(compatibilityScenarios);

const symbols = {
  pass: 'pass',
  fail: '**FAIL**',
  unsupported: 'n/a (client)',
  delegated: 'n/a (done by another client)',
  partial: 'pass (some steps n/a)',
} as const;

function readLines(path: string): Line[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((text) => text.trim() !== '')
    .map((text) => JSON.parse(text) as Line);
}

function cellResult(lines: readonly Line[]): Line['result'] | 'partial' {
  if (lines.some((line) => line.result === 'fail')) return 'fail';
  if (lines.every((line) => line.result === 'unsupported')) return 'unsupported';
  if (lines.some((line) => line.result === 'delegated')) return 'delegated';
  if (lines.some((line) => line.result === 'unsupported')) return 'partial';
  return 'pass';
}

/** `kafkajs 2.2.4, idempotent producer`: the client is named once when its version repeats it. */
function cellKey(line: Line): string {
  const who = line.version.startsWith(line.client)
    ? line.version
    : `${line.client} ${line.version}`;
  return `${who}, ${line.scenario}`;
}

/** One line per failed step; the same failure recorded by two runs is listed once. */
function failureNotes(lines: readonly Line[]): string[] {
  const notes = lines
    .filter((line) => line.result === 'fail')
    .map((line) => {
      const why = line.detail === undefined ? '' : `: ${line.detail.split('\n')[0]}`;
      return `- ${cellKey(line)}, "${line.step}"${why}`;
    });
  return [...new Set(notes)];
}

/**
 * One line per client and scenario the library cannot do, with its reasons. When other steps of
 * the same scenario passed, the steps that could not run are named.
 */
function unsupportedNotes(lines: readonly Line[]): string[] {
  const notes: string[] = [];
  for (const [key, cell] of Map.groupBy(lines, cellKey)) {
    const unsupported = cell.filter((line) => line.result === 'unsupported');
    if (unsupported.length === 0) continue;
    const reasons = [...new Set(unsupported.map((line) => line.detail?.split('\n')[0]))];
    const why = reasons.filter((reason) => reason !== undefined).join('; ') || 'no reason given';
    const partial = cell.some((line) => line.result !== 'unsupported');
    const steps = [...new Set(unsupported.map((line) => `"${line.step}"`))].join(', ');
    notes.push(`- ${key}${partial ? ` (${steps})` : ''}: ${why}`);
  }
  return notes.toSorted();
}

export function renderCompatibility(lines: readonly Line[], runAt: string): string {
  const scenarios = [...knownScenarios];
  for (const line of lines) if (!scenarios.includes(line.scenario)) scenarios.push(line.scenario);
  const used = scenarios.filter((scenario) => lines.some((line) => line.scenario === scenario));
  const rows = Map.groupBy(lines, (line) => `${line.client} | ${line.version}`);
  const header = `| client | version | ${used.join(' | ')} |`;
  const rule = `|${' --- |'.repeat(used.length + 2)}`;
  const body = [...rows.keys()].toSorted().map((row) => {
    const cells = used.map((scenario) => {
      const cell = (rows.get(row) ?? []).filter((line) => line.scenario === scenario);
      return cell.length === 0 ? 'not run' : symbols[cellResult(cell)];
    });
    return `| ${row} | ${cells.join(' | ')} |`;
  });
  const failures = failureNotes(lines);
  const unsupported = unsupportedNotes(lines);
  return [
    '# Client compatibility',
    '',
    `Written by \`scripts/compatibility.ts\` from the full \`npm test\` run of ${runAt}: each`,
    'cell is what the real client did against Tributary in that run, not a claim typed by hand.',
    'The scenarios are in `packages/testing/test/clients/` (`client-scenario.ts` for every',
    'client, `full-scenario.ts` for the clients driven through the line driver protocol).',
    '"n/a (client)" means the client library has no such feature; "not run" means no test of',
    'this table drives that scenario with that client yet. kcat, python3-confluent-kafka,',
    'kafka-python, kafkajs and @platformatic/kafka fill the columns after the first three from',
    'their own tests in `packages/testing/test/groups/`, `transactions/`, `idempotence/` and',
    '`admin/`.',
    '',
    header,
    rule,
    ...body,
    '',
    ...(failures.length === 0
      ? ['Every recorded step passed.']
      : ['Steps that failed:', '', ...failures]),
    ...(unsupported.length === 0
      ? []
      : ['', '## Not supported by the client library', '', ...unsupported]),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      results: { type: 'string', default: compatibilityResultsPath },
      out: { type: 'string', default: defaultOutPath },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write('usage: node scripts/compatibility.ts [--results FILE] [--out FILE]\n');
    return;
  }
  if (!existsSync(values.results)) {
    process.stderr.write(`compatibility: no results at ${values.results} (run npm test first)\n`);
    process.exitCode = 1;
    return;
  }
  const lines = readLines(values.results);
  const runAt = new Date().toISOString().slice(0, 10);
  const config = (await prettier.resolveConfig(values.out)) ?? {};
  const text = await prettier.format(renderCompatibility(lines, runAt), {
    ...config,
    parser: 'markdown',
  });
  writeFileSync(values.out, text);
  process.stdout.write(`compatibility: ${lines.length} results written to ${values.out}\n`);
}

if (import.meta.main) await main();
