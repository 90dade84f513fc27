/**
 * `npm test`: runs every test file of every package with node:test on this Node (24) and exits
 * with its exit code. Test files are `packages/*\/src/**\/*.test.ts` (unit tests beside the code)
 * and `packages/*\/test/**\/*.test.ts` (integration, clients, faults), and the examples'
 * `examples/*\/test/**\/*.test.ts`. Node's own test summary
 * is printed unchanged, because CI reads it.
 *
 *   npm test                  every test
 *   npm test -- clients kcat  only files whose path contains "clients" or "kcat"
 *
 * Before the tests of packages/testing, the Java, Go and Python-virtualenv client drivers are
 * built (packages/testing/scripts/build-*-drivers.sh; each returns at once when up to date);
 * before the examples' tests, the S3 server.
 * A full run (no filter) renders docs/compatibility.md from the client scenarios' results.
 *
 * Each test is capped (--test-timeout) so a hung test fails instead of hanging CI, and two files
 * run at a time (the machine has 2 cores and the client tests start brokers and processes).
 */
import { spawn } from 'node:child_process';
import { glob, rm } from 'node:fs/promises';
import { relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const patterns = [
  'packages/*/src/**/*.test.ts',
  'packages/*/test/**/*.test.ts',
  // The reference systems built on the SDK (examples/shop: its chaos and late-joiner tests).
  'examples/*/test/**/*.test.ts',
];
const testConcurrency = 2;
const testTimeoutMs = 10 * 60 * 1000;
const compatibilityResults = resolve(root, '.tmp/compatibility/results.jsonl');

async function findTestFiles(filters: readonly string[]): Promise<string[]> {
  const files = new Set<string>();
  for (const pattern of patterns) {
    for await (const file of glob(pattern, { cwd: root, exclude: ['**/node_modules/**'] })) {
      files.add(file);
    }
  }
  const all = [...files].toSorted();
  if (filters.length === 0) return all;
  return all.filter((file) => filters.some((filter) => file.includes(filter)));
}

/**
 * The Java, Go and Python-virtualenv client drivers the client tests run, and the S3 server the
 * object store tests start. Each build script is idempotent (it returns at once while its inputs
 * are unchanged), so every run that includes the testing package calls all of them. A build that
 * fails is reported and the run goes on: the tests of that client then fail with a message naming
 * the script.
 */
const driverBuilds = [
  ...['java', 'go', 'python'].map((language) => ({
    what: `${language} client drivers`,
    script: resolve(root, `packages/testing/scripts/build-${language}-drivers.sh`),
  })),
  // The S3-compatible server the object store tests start (docs/adr/0009-s3-test-server.md).
  { what: 'S3 test server', script: resolve(root, 'packages/testing/scripts/build-s3-server.sh') },
];

/**
 * What a run needs built: everything for the testing package's tests, only the S3 server for the
 * examples' (the shop's cluster test starts one).
 */
function buildsFor(files: readonly string[]): typeof driverBuilds {
  if (files.some((file) => file.startsWith('packages/testing/'))) return driverBuilds;
  if (!files.some((file) => file.startsWith('examples/'))) return [];
  return driverBuilds.filter(({ what }) => what === 'S3 test server');
}

async function buildClientDrivers(builds: typeof driverBuilds): Promise<void> {
  for (const { what, script } of builds) {
    process.stdout.write(`preparing the ${what} (${relative(root, script)})\n`);
    const child = spawn('bash', [script], { cwd: root, stdio: 'inherit' });
    const code = await new Promise<number | null>((resolvePromise) =>
      child.once('exit', resolvePromise),
    );
    if (code !== 0) {
      process.stderr.write(`the ${what} did not build (exit ${code})\n`);
    }
  }
}

/** Writes docs/compatibility.md from this run; a failure here is reported, not fatal. */
async function renderCompatibilityDoc(): Promise<void> {
  const child = spawn(process.execPath, [resolve(root, 'scripts/compatibility.ts')], {
    cwd: root,
    stdio: 'inherit',
  });
  await new Promise((resolvePromise) => child.once('exit', resolvePromise));
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const nodeOptions = process.argv.slice(2).filter((arg) => arg.startsWith('-'));
  const files = await findTestFiles(filters);
  if (files.length === 0) {
    process.stderr.write(`no test files match ${filters.join(' ')}\n`);
    return 1;
  }
  process.stdout.write(`running ${files.length} test files\n`);
  // A full run starts the compatibility results afresh and renders docs/compatibility.md at the
  // end; a filtered run adds to the results of the last full run and leaves the doc alone.
  const fullRun = filters.length === 0;
  if (fullRun) await rm(compatibilityResults, { force: true });
  await buildClientDrivers(buildsFor(files));
  const args = [
    '--test',
    `--test-concurrency=${testConcurrency}`,
    `--test-timeout=${testTimeoutMs}`,
    ...nodeOptions,
    ...files.map((file) => relative(root, resolve(root, file))),
  ];
  const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
  // Forward Ctrl-C / CI cancellation so no test process outlives the runner.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => child.kill(signal));
  }
  const exitCode = await new Promise<number>((resolvePromise) => {
    child.once('exit', (code) => resolvePromise(code ?? 1));
  });
  if (fullRun) await renderCompatibilityDoc();
  return exitCode;
}

process.exitCode = await main();
