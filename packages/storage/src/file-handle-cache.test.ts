import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileHandleCache, ReadGate } from './file-handle-cache.ts';

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

  it('admits large reads through its gate one at a time, in arrival order, errors included', async () => {
    const gate = new ReadGate(1);
    let inFlight = 0;
    let mostInFlight = 0;
    const order: number[] = [];
    const read = (index: number, fail = false) =>
      gate.run(async () => {
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        order.push(index);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight -= 1;
        if (fail) throw new Error(`read ${index} failed`);
        return index;
      });
    const results = await Promise.allSettled([read(0), read(1, true), read(2), read(3)]);
    assert.deepEqual(
      results.map((result) => (result.status === 'fulfilled' ? result.value : 'failed')),
      [0, 'failed', 2, 3],
    );
    assert.deepEqual(order, [0, 1, 2, 3]);
    assert.equal(mostInFlight, 1);
    const two = new ReadGate(2);
    let together = 0;
    let mostTogether = 0;
    await Promise.all(
      [0, 1, 2, 3].map(() =>
        two.run(async () => {
          mostTogether = Math.max(mostTogether, ++together);
          await new Promise((resolve) => setTimeout(resolve, 5));
          together -= 1;
        }),
      ),
    );
    assert.equal(mostTogether, 2);
  });
});
