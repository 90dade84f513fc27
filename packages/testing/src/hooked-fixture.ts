/**
 * What a test file starts once and stops at the end (a broker, a database, clients on them),
 * through node:test `before` and `after` hooks. The file's own setup on it goes in `ready`, run
 * by the same `before` hook: node:test starts a file's top-level `before` hooks without awaiting
 * one another, so a second hook could run before the fixture exists.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';

export interface HookedFixtureOptions<T> {
  /** Starts the fixture. */
  start(): Promise<T>;
  /** The file's own setup (tables, schemas); the fixture is stopped even when this fails. */
  ready?(started: T): Promise<void>;
  stop(started: T): Promise<void>;
}

/**
 * Registers the hooks and returns the fixture as an object whose properties read the started
 * one; reading a property before the `before` hook has run fails with an assertion.
 */
export function hookedFixture<T extends object>(options: HookedFixtureOptions<T>): T {
  let started: T | undefined;
  before(async () => {
    started = await options.start();
    await options.ready?.(started);
  });
  after(async () => {
    if (started !== undefined) await options.stop(started);
  });
  return new Proxy({} as T, {
    get(_target, property) {
      assert.ok(started !== undefined, 'the fixture is started by the before hook');
      return Reflect.get(started, property, started);
    },
  });
}
