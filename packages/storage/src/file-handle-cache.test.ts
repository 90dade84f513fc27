import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileHandleCache } from './file-handle-cache.ts';

describe('FileHandleCache', () => {
  it('serves many concurrent reads of more files than it keeps open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-handles-'));
    const paths: string[] = [];
    for (let i = 0; i < 20; i++) {
      const path = join(dir, `f${i}`);
      await writeFile(path, `file-${i}-contents`);
      paths.push(path);
    }
    const cache = new FileHandleCache(2);
    const reads = [];
    for (let round = 0; round < 5; round++) {
      for (const [i, path] of paths.entries()) {
        reads.push(cache.read(path, 0, 5 + String(i).length).then((b) => [i, b.toString()]));
      }
    }
    for (const [i, text] of await Promise.all(reads)) assert.equal(text, `file-${i}`);
    const forgotten = cache.read(paths[0] ?? '', 5, 1);
    await cache.forget(paths[0] ?? '');
    assert.equal((await forgotten).toString(), '0');
    assert.equal((await cache.read(paths[3] ?? '', 100, 5)).length, 0, 'short past the end');
    await cache.close();
    await rm(dir, { recursive: true, force: true });
  });
});
