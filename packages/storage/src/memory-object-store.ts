/** MemoryObjectStore: the ObjectStore contract over a Map, for tests. */
import { type ObjectInfo, type ObjectStore, objectNamePattern } from './object-store.ts';

export class MemoryObjectStore implements ObjectStore {
  readonly #objects = new Map<string, Buffer>();

  put(name: string, data: Buffer): Promise<void> {
    if (!objectNamePattern.test(name)) return Promise.reject(new Error(`bad object name ${name}`));
    if (this.#objects.has(name)) {
      return Promise.reject(new Error(`object ${name} already exists`));
    }
    this.#objects.set(name, Buffer.from(data));
    return Promise.resolve();
  }

  get(name: string, position: number, length: number): Promise<Buffer> {
    const data = this.#objects.get(name);
    if (data === undefined) return Promise.reject(notFound(name));
    return Promise.resolve(Buffer.from(data.subarray(position, position + length)));
  }

  getAll(name: string): Promise<Buffer> {
    const data = this.#objects.get(name);
    if (data === undefined) return Promise.reject(notFound(name));
    return Promise.resolve(Buffer.from(data));
  }

  head(name: string): Promise<ObjectInfo | undefined> {
    const data = this.#objects.get(name);
    return Promise.resolve(data === undefined ? undefined : { name, sizeBytes: data.length });
  }

  list(): Promise<ObjectInfo[]> {
    const names = [...this.#objects.keys()].toSorted();
    return Promise.resolve(
      names.map((name) => ({ name, sizeBytes: this.#objects.get(name)?.length ?? 0 })),
    );
  }

  delete(name: string): Promise<void> {
    this.#objects.delete(name);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function notFound(name: string): Error {
  return Object.assign(new Error(`object ${name} not found`), { code: 'ENOENT' });
}
