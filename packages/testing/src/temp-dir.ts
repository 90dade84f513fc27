/**
 * Temporary directories for tests. Each is unique under the OS temp dir; `remove` deletes it
 * recursively and is safe to call twice. `await using dir = await tempDir('x')` removes it when
 * the scope ends.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir extends AsyncDisposable {
  readonly path: string;
  remove(): Promise<void>;
}

export async function tempDir(prefix: string): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), `tributary-${prefix}-`));
  const remove = async (): Promise<void> => {
    await rm(path, { recursive: true, force: true, maxRetries: 3 });
  };
  return { path, remove, [Symbol.asyncDispose]: remove };
}
