import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryObjectStore } from './directory-object-store.ts';
import { MemoryObjectStore } from './memory-object-store.ts';
import { objectStoreContract } from './object-store.contract.ts';

objectStoreContract('DirectoryObjectStore', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'tributary-objects-'));
  return {
    store: await DirectoryObjectStore.open(join(directory, 'objects')),
    makeFile: async (data) => {
      const path = join(directory, 'segment.wal');
      await writeFile(path, data);
      return path;
    },
    cleanup: () => rm(directory, { recursive: true, force: true }),
  };
});

objectStoreContract('MemoryObjectStore', () =>
  Promise.resolve({ store: new MemoryObjectStore(), cleanup: () => Promise.resolve() }),
);
