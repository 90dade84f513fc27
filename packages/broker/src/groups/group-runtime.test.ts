import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode } from '@tributary/protocol';
import { LogStorage, type BrokerStorage } from '@tributary/storage';
import { GroupRuntime, GroupUnavailableError, defaultGroupSettings } from './group-runtime.ts';

/** A storage whose first `failures` topic lookups throw, as a store not answering yet. */
function failingFirst(storage: LogStorage, failures: number): BrokerStorage {
  let left = failures;
  return new Proxy(storage as unknown as BrokerStorage, {
    get(target, property, receiver) {
      if (property === 'getTopic' && left > 0) {
        return () => {
          left -= 1;
          throw new Error('object store unreachable');
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

test('a group coordinator whose load fails tries again until it serves', async () => {
  const storage = await LogStorage.open({ inMemory: true });
  const errors: string[] = [];
  const runtime = new GroupRuntime({
    ...defaultGroupSettings,
    storage: failingFirst(storage, 2),
    log: { info: () => undefined, warn: () => undefined, error: (message) => errors.push(message) },
    now: () => Date.now(),
    decompressedBatchMaxBytes: 1024 * 1024,
  });
  const loading = runtime.start();
  await assert.rejects(
    runtime.submit({ apiVersion: 0, clientId: 'test', clientHost: '' }, () => ({ kind: 'tick' })),
    (error: unknown) =>
      error instanceof GroupUnavailableError &&
      error.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  );
  await loading;
  assert.equal(runtime.loaded, true);
  assert.deepEqual(errors, [
    'loading consumer groups failed; trying again',
    'loading consumer groups failed; trying again',
  ]);
  await runtime.close();
  await storage.close();
});

test('closing a coordinator stops its load retries', async () => {
  const storage = await LogStorage.open({ inMemory: true });
  const runtime = new GroupRuntime({
    ...defaultGroupSettings,
    storage: failingFirst(storage, Number.MAX_SAFE_INTEGER),
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    now: () => Date.now(),
    decompressedBatchMaxBytes: 1024 * 1024,
  });
  const loading = runtime.start();
  await sleep(50);
  await runtime.close();
  await loading;
  assert.equal(runtime.loaded, false);
  await storage.close();
});
