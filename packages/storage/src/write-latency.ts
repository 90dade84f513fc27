/**
 * A test-only slow disk for the WAL: with TEST_TRIBUTARY_WAL_WRITE_DELAY_MS=<ms> in the broker's
 * environment, every write and sync of a WAL file (segments and sync point) waits that long
 * before it starts, so the fault tests can run a real broker process on a slow disk without
 * FUSE or dm-delay (packages/testing/test/faults/slow-disk.test.ts). Unset, or 0, it is node's
 * own `open`: nothing is wrapped. The name does not start with TRIBUTARY_ because those variables
 * are broker settings, and the broker refuses unknown ones.
 */
import { type FileHandle, open } from 'node:fs/promises';
import type { OpenFile } from './directory-segment-files.ts';

export const walWriteDelayVariable = 'TEST_TRIBUTARY_WAL_WRITE_DELAY_MS';

const delayedMethods = new Set<PropertyKey>(['write', 'writev', 'datasync', 'sync']);

/** `openFile` whose handles start each write or sync `delayMs` late. */
export function delayedOpen(delayMs: number, openFile: OpenFile = open): OpenFile {
  return async (path, flags) => {
    const handle = await openFile(path, flags);
    return new Proxy(handle, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        const method = (value as (...args: unknown[]) => unknown).bind(target);
        if (!delayedMethods.has(property)) return method;
        return async (...args: unknown[]) => {
          await new Promise((done) => setTimeout(done, delayMs));
          return method(...args);
        };
      },
    }) satisfies FileHandle;
  };
}

/** The WAL's `open`: delayed only when the test variable asks for it. */
export function walOpenFromEnvironment(): OpenFile {
  const delayMs = Number(process.env[walWriteDelayVariable] ?? 0);
  return Number.isFinite(delayMs) && delayMs > 0 ? delayedOpen(delayMs) : open;
}
