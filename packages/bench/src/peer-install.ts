/**
 * The benchmark's peers come from Debian's packages, installed by `npm run bench` itself when
 * missing (the machine brief: no service runs, nothing is preinstalled): as root, one
 * `apt-get install` per package and run, with a progress line; otherwise a message that says
 * which package to install. A peer that cannot be had fails its own rows, not the whole run.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/** Bound on one apt-get run (the index update included). */
const aptTimeoutMs = 10 * 60 * 1000;
const attempted = new Set<string>();
let indexUpdated = false;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Makes sure `command` exists, installing Debian package `debianPackage` if it can. */
export function ensureInstalled(command: string, debianPackage: string): void {
  if (executable(command)) return;
  const root = process.getuid?.() === 0;
  if (root && !attempted.has(debianPackage)) {
    attempted.add(debianPackage);
    process.stderr.write(`bench: installing ${debianPackage} (apt-get) for ${command}\n`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    if (!indexUpdated) {
      spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore', env, timeout: aptTimeoutMs });
      indexUpdated = true;
    }
    const args = ['install', '-y', '-q', '--no-install-recommends', debianPackage];
    const result = spawnSync('apt-get', args, { stdio: 'ignore', env, timeout: aptTimeoutMs });
    // Debian starts a package's service on install; the bench runs its own instance.
    spawnSync('service', [debianPackage, 'stop'], { stdio: 'ignore', timeout: 60_000 });
    if (result.status !== 0) {
      process.stderr.write(`bench: apt-get install ${debianPackage} failed (${result.status})\n`);
    }
  }
  if (!executable(command)) {
    throw new Error(
      `${command} is not installed: install Debian's ${debianPackage} package ` +
        `(apt-get install ${debianPackage}${root ? '' : ', as root'})`,
    );
  }
}
