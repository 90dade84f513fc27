/**
 * DataDirLock: keeps two processes from opening one data directory (two WAL writers would
 * interleave segments and corrupt each other).
 *
 * The lock must be released by the kernel when its owner dies, so a supervisor can restart the
 * broker at once after kill -9, even while the dead process is a zombie nobody has reaped yet
 * (its pid still answers kill(pid, 0)). On Linux it is a listening unix socket in the abstract
 * namespace, named after the directory's real path: the kernel closes it as the process exits
 * (before the zombie state) and a second bind of the name fails with EADDRINUSE. Elsewhere it
 * falls back to the pid file's liveness check. `tributary.lock` still holds the owner's pid, for
 * the message and for people. Reopening in the same process is allowed (tests restart storage
 * in-process). docs/adr/0013-damaged-data-and-kernel-lock.md.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, realpath, rm } from 'node:fs/promises';
import { type Server, createServer } from 'node:net';
import { join } from 'node:path';
import { StorageError } from './storage-error.ts';

const lockName = 'tributary.lock';

/** Kernel-held locks of this process by abstract socket name, with how many opens share one. */
const held = new Map<string, { server: Server; holders: number }>();

export class DataDirLock {
  readonly #path: string;
  readonly #socketName: string | undefined;
  #released = false;

  /** Use `acquire`. */
  constructor(path: string, socketName: string | undefined) {
    this.#path = path;
    this.#socketName = socketName;
  }

  static async acquire(dataDir: string): Promise<DataDirLock> {
    await mkdir(dataDir, { recursive: true });
    const path = join(dataDir, lockName);
    if (process.platform !== 'linux') return acquireByPid(dataDir, path);
    const socketName = await socketNameOf(dataDir);
    const mine = held.get(socketName);
    if (mine !== undefined) {
      mine.holders++;
      return new DataDirLock(path, socketName);
    }
    const server = await bindOrRefuse(socketName, dataDir, path);
    held.set(socketName, { server, holders: 1 });
    await writePid(path);
    return new DataDirLock(path, socketName);
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const owner = Number((await readFile(this.#path, 'utf8').catch(() => '')).trim());
    if (this.#socketName === undefined) {
      if (owner === process.pid) await rm(this.#path, { force: true });
      return;
    }
    const mine = held.get(this.#socketName);
    if (mine === undefined || --mine.holders > 0) return;
    held.delete(this.#socketName);
    if (owner === process.pid) await rm(this.#path, { force: true });
    await new Promise<void>((resolve) => mine.server.close(() => resolve()));
  }
}

/** "\0tributary-data-dir-<sha256 of the real path>": at most 107 bytes, as Linux allows. */
async function socketNameOf(dataDir: string): Promise<string> {
  const digest = createHash('sha256')
    .update(await realpath(dataDir))
    .digest('hex');
  return `\0tributary-data-dir-${digest.slice(0, 40)}`;
}

async function bindOrRefuse(socketName: string, dataDir: string, path: string): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketName, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error: unknown) {
    if (error instanceof Error && 'code' in error && error.code === 'EADDRINUSE') {
      throw inUse(dataDir, await ownerOf(path));
    }
    throw error;
  }
  server.unref();
  return server;
}

function inUse(dataDir: string, owner: number | undefined): StorageError {
  const by = owner === undefined ? 'another live process' : `process ${owner}`;
  return new StorageError(
    'STORAGE_FAILURE',
    `data directory ${dataDir} is in use by ${by} (stop it first; one broker per data directory)`,
  );
}

async function ownerOf(path: string): Promise<number | undefined> {
  const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  return Number.isInteger(owner) && owner > 0 ? owner : undefined;
}

async function writePid(path: string): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(`${process.pid}\n`);
  } finally {
    await handle.close();
  }
}

/** Without Linux's abstract sockets: the pid file, taken over when its pid is not alive. */
async function acquireByPid(dataDir: string, path: string): Promise<DataDirLock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return new DataDirLock(path, undefined);
    } catch (error: unknown) {
      if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
    }
    const owner = await ownerOf(path);
    if (owner === process.pid) return new DataDirLock(path, undefined);
    if (owner !== undefined && isAlive(owner)) throw inUse(dataDir, owner);
    await rm(path, { force: true });
  }
  throw new StorageError('STORAGE_FAILURE', `could not lock data directory ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    return error instanceof Error && 'code' in error && error.code === 'EPERM';
  }
}
