/**
 * DataDirLock: keeps two processes from opening one data directory (two WAL writers would
 * interleave segments and corrupt each other). The lock is a file holding the owner's pid; a
 * lock left by a dead process (kill -9) is taken over. Reopening in the same process is allowed
 * (tests restart storage in-process).
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError } from './storage-error.ts';

const lockName = 'tributary.lock';

export class DataDirLock {
  readonly #path: string;

  private constructor(path: string) {
    this.#path = path;
  }

  static async acquire(dataDir: string): Promise<DataDirLock> {
    await mkdir(dataDir, { recursive: true });
    const path = join(dataDir, lockName);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const handle = await open(path, 'wx');
        await handle.writeFile(`${process.pid}\n`);
        await handle.close();
        return new DataDirLock(path);
      } catch (error: unknown) {
        if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
      }
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (owner === process.pid) return new DataDirLock(path);
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new StorageError(
          'STORAGE_FAILURE',
          `data directory ${dataDir} is in use by process ${owner}`,
        );
      }
      await rm(path, { force: true });
    }
    throw new StorageError('STORAGE_FAILURE', `could not lock data directory ${dataDir}`);
  }

  async release(): Promise<void> {
    const owner = Number((await readFile(this.#path, 'utf8').catch(() => '')).trim());
    if (owner === process.pid) await rm(this.#path, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    return error instanceof Error && 'code' in error && error.code === 'EPERM';
  }
}
