/**
 * `npm run build:console`: type-checks the app (packages/console/tsconfig.json) and builds it
 * with Vite into packages/console/generated/, which is committed so a fresh clone serves the
 * console without a build step (docs/adr/0023-console-bundle.md).
 * `--check` (part of `npm run check`) builds into a temporary folder and fails when the result
 * differs from generated/, i.e. when app/ changed and the bundle was not rebuilt.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { build } from 'vite';

const packageDir = resolve(import.meta.dirname, '..');
const generatedDir = join(packageDir, 'generated');

async function buildInto(outDir: string): Promise<void> {
  await build({
    root: join(packageDir, 'app'),
    base: './',
    logLevel: 'warn',
    configFile: false,
    plugins: [react()],
    build: { outDir, emptyOutDir: true, sourcemap: false, reportCompressedSize: false },
  });
}

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path), await readFile(path));
  }
  return files;
}

/** The app runs in a browser: it may import React and ../src/console-api.ts, no package of ours. */
async function checkAppImports(): Promise<void> {
  const appDir = join(packageDir, 'app');
  for (const name of await readdir(appDir, { recursive: true })) {
    const text = await readFile(join(appDir, name), 'utf8').catch(() => '');
    if (/from\s+['"]@tributary\//.test(text)) {
      throw new Error(`app/${name} imports a @tributary package: the app must stand alone`);
    }
  }
}

function typecheck(): void {
  const tsc = resolve(packageDir, '../../node_modules/.bin/tsc');
  const result = spawnSync(tsc, ['-p', join(packageDir, 'tsconfig.json')], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('the console app does not type-check');
}

async function main(): Promise<number> {
  await checkAppImports();
  typecheck();
  if (!process.argv.includes('--check')) {
    await buildInto(generatedDir);
    process.stdout.write(`console built into ${relative(process.cwd(), generatedDir)}\n`);
    return 0;
  }
  const scratch = await mkdtemp(join(tmpdir(), 'tributary-console-'));
  try {
    await buildInto(scratch);
    const built = await filesOf(scratch);
    const committed = await filesOf(generatedDir).catch(() => new Map<string, Buffer>());
    const names = new Set([...built.keys(), ...committed.keys()]);
    const stale = [...names].filter(
      (name) => !built.get(name)?.equals(committed.get(name) ?? Buffer.alloc(0)),
    );
    if (stale.length > 0) {
      process.stderr.write(
        `packages/console/generated is not the build of app/ (${stale.join(', ')}): ` +
          'run npm run build:console and commit the result\n',
      );
      return 1;
    }
    process.stdout.write('packages/console/generated is current\n');
    return 0;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

process.exitCode = await main();
