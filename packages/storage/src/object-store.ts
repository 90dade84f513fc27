/**
 * ObjectStore: immutable, uniquely named blobs with ranged reads.
 *
 * Contract: `put` of an existing name fails (names are never reused, so no conditional writes
 * are needed); an object is visible to `get`/`list` only once wholly written; `get` of a range
 * past the end returns the bytes that exist; `delete` of a missing object succeeds (retries are
 * safe). `adoptFile` (optional) moves a local file in by rename, without copying its bytes.
 */

export interface ObjectInfo {
  name: string;
  sizeBytes: number;
}

/** One page of a listing in name order, with each object's Last-Modified. */
export interface ObjectPage {
  objects: (ObjectInfo & { lastModifiedMs: number })[];
  /** More names follow the last one. */
  truncated: boolean;
}

export interface ObjectStore {
  put(name: string, data: Buffer): Promise<void>;
  /** Moves the file at `path` in as object `name` (same filesystem); durable on return. */
  adoptFile?(name: string, path: string): Promise<void>;
  get(name: string, position: number, length: number): Promise<Buffer>;
  /** Whole object. */
  getAll(name: string): Promise<Buffer>;
  /** The object's file on this machine, where the store keeps one (for readers on other threads). */
  localPath?(name: string): string;
  /** Undefined when the object does not exist. */
  head(name: string): Promise<ObjectInfo | undefined>;
  list(): Promise<ObjectInfo[]>;
  /**
   * Up to `maxKeys` objects whose names start with `prefix` and sort after `startAfter`
   * (optional: the cluster's object collector needs it, the embedded stores do not have it).
   */
  listPage?(request: { prefix: string; startAfter?: string; maxKeys: number }): Promise<ObjectPage>;
  delete(name: string): Promise<void>;
  close(): Promise<void>;
}

export const objectNamePattern = /^[A-Za-z0-9._-]+$/;
