/**
 * DirectoryObjectStore: objects as files in one directory. `put` writes a temporary file, syncs
 * it and renames it into place, so a crash never leaves a partial object under a real name;
 * `adoptFile` renames a sealed WAL segment in (the embedded mode's single write of each byte).
 * Leftover temporary files are removed at open.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncDirectory } from './directory-segment-files.ts';
import { FileHandleCache } from './file-handle-cache.ts';
import { type ObjectInfo, type ObjectStore, objectNamePattern } from './object-store.ts';

const temporarySuffix = '.tmp';

export class DirectoryObjectStore implements ObjectStore {
  readonly directory: string;
  readonly #readers: FileHandleCache;

  private constructor(directory: string, maxOpenFiles: number) {
    this.directory = directory;
    this.#readers = new FileHandleCache(maxOpenFiles);
  }

  static async open(directory: string, maxOpenFiles = 32): Promise<DirectoryObjectStore> {
    await mkdir(directory, { recursive: true });
    for (const name of await readdir(directory)) {
      if (name.endsWith(temporarySuffix)) await rm(join(directory, name), { force: true });
    }
    return new DirectoryObjectStore(directory, maxOpenFiles);
  }

  async put(name: string, data: Buffer): Promise<void> {
    const target = this.#path(name);
    if (await exists(target)) throw new Error(`object ${name} already exists`);
    const temporary = `${target}.${randomBytes(6).toString('hex')}${temporarySuffix}`;
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
    await syncDirectory(this.directory);
  }

  async adoptFile(name: string, path: string): Promise<void> {
    const target = this.#path(name);
    if (await exists(target)) throw new Error(`object ${name} already exists`);
    await rename(path, target);
    await syncDirectory(this.directory);
    await syncDirectory(dirname(path));
  }

  get(name: string, position: number, length: number): Promise<Buffer> {
    return this.#readers.read(this.#path(name), position, length);
  }

  getAll(name: string): Promise<Buffer> {
    return readFile(this.#path(name));
  }

  localPath(name: string): string {
    return this.#path(name);
  }

  async head(name: string): Promise<ObjectInfo | undefined> {
    try {
      const info = await stat(this.#path(name));
      return { name, sizeBytes: info.size };
    } catch (error: unknown) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async list(): Promise<ObjectInfo[]> {
    const objects: ObjectInfo[] = [];
    for (const name of await readdir(this.directory)) {
      if (name.endsWith(temporarySuffix)) continue;
      const info = await this.head(name);
      if (info !== undefined) objects.push(info);
    }
    return objects.toSorted((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(name: string): Promise<void> {
    const path = this.#path(name);
    await this.#readers.forget(path);
    await rm(path, { force: true });
  }

  close(): Promise<void> {
    return this.#readers.close();
  }

  #path(name: string): string {
    if (!objectNamePattern.test(name) || name.endsWith(temporarySuffix)) {
      throw new Error(`bad object name ${name}`);
    }
    return join(this.directory, name);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error: unknown) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}
