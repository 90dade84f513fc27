/**
 * The SchemaStore contract suite: every implementation (SQLite here, PostgreSQL in
 * packages/testing against a real server) runs these same tests on a fresh store each.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NewSchemaVersion, RegisteredVersion, SchemaStore } from '../schema-store.ts';

export interface SchemaStoreFixture {
  /** A fresh, empty store. */
  open(): Promise<SchemaStore>;
}

function schemaVersion(subject: string, fingerprint: string): NewSchemaVersion {
  return { subject, schemaType: 'AVRO', schema: `"${fingerprint}"`, references: [], fingerprint };
}

/** Registers without an expected version: never a conflict. */
export async function registerIn(
  store: SchemaStore,
  input: NewSchemaVersion,
): Promise<RegisteredVersion> {
  const registered = await store.register(input);
  assert.ok(!('conflict' in registered), 'no expected version, no conflict');
  return registered;
}

export function schemaStoreContract(name: string, fixture: SchemaStoreFixture): void {
  describe(`${name} (SchemaStore contract)`, () => {
    it('numbers versions from 1 and shares one id per fingerprint across subjects', async () => {
      const store = await fixture.open();
      try {
        const a1 = await registerIn(store, schemaVersion('a', 'one'));
        const a2 = await registerIn(store, schemaVersion('a', 'two'));
        const b1 = await registerIn(store, schemaVersion('b', 'one'));
        assert.deepEqual([a1.version, a2.version, b1.version], [1, 2, 1]);
        assert.equal(b1.id, a1.id);
        assert.notEqual(a2.id, a1.id);
        const again = await registerIn(store, schemaVersion('a', 'one'));
        assert.deepEqual(again, { id: a1.id, version: 1, created: false });
        assert.deepEqual(await store.subjects(false), ['a', 'b']);
        assert.equal(await store.schemaIdOf('two'), a2.id);
        assert.equal(await store.schemaIdOf('three'), undefined);
        const stored = await store.schemaById(a1.id);
        assert.deepEqual(stored, {
          id: a1.id,
          schemaType: 'AVRO',
          schema: '"one"',
          references: [],
        });
        assert.deepEqual(
          (await store.versionsOfSchema(a1.id)).map((entry) => `${entry.subject}/${entry.version}`),
          ['a/1', 'b/1'],
        );
      } finally {
        await store.close();
      }
    });

    it('keeps soft-deleted version numbers and never reuses them', async () => {
      const store = await fixture.open();
      try {
        await registerIn(store, schemaVersion('s', 'x'));
        await registerIn(store, schemaVersion('s', 'y'));
        await store.markDeleted('s', [2]);
        const versions = await store.versions('s');
        assert.deepEqual(
          versions.map((entry) => [entry.version, entry.deleted]),
          [
            [1, false],
            [2, true],
          ],
        );
        // y again: a new version (3), since its old one is deleted; same id as before.
        const y = await registerIn(store, schemaVersion('s', 'y'));
        assert.equal(y.version, 3);
        assert.equal(y.id, versions[1]?.id);
        await store.markDeleted('s', [1, 3]);
        assert.deepEqual(await store.subjects(false), []);
        assert.deepEqual(await store.subjects(true), ['s']);
        await store.removeVersions('s', [1, 2, 3]);
        assert.deepEqual(await store.versions('s'), []);
        assert.notEqual(await store.schemaById(y.id), undefined, 'ids outlive their versions');
      } finally {
        await store.close();
      }
    });

    it('finds the live schemas that reference a subject version', async () => {
      const store = await fixture.open();
      try {
        const base = await registerIn(store, schemaVersion('base', 'b'));
        const user = await registerIn(store, {
          ...schemaVersion('user', 'u'),
          references: [{ name: 'b.avsc', subject: 'base', version: base.version }],
        });
        assert.deepEqual(await store.referencedBy('base', 1), [user.id]);
        assert.deepEqual((await store.schemaById(user.id))?.references, [
          { name: 'b.avsc', subject: 'base', version: 1 },
        ]);
        await store.markDeleted('user', [1]);
        assert.deepEqual(await store.referencedBy('base', 1), []);
      } finally {
        await store.close();
      }
    });

    it('stores configs and modes per subject, subject "" being global', async () => {
      const store = await fixture.open();
      try {
        assert.equal(await store.config(''), undefined);
        await store.setConfig('', { compatibilityLevel: 'FULL' });
        await store.setConfig('s', { compatibilityLevel: 'NONE' });
        await store.setConfig('s', { compatibilityLevel: 'FORWARD' });
        assert.deepEqual(await store.config('s'), { compatibilityLevel: 'FORWARD' });
        assert.deepEqual(await store.config(''), { compatibilityLevel: 'FULL' });
        await store.deleteConfig('s');
        assert.equal(await store.config('s'), undefined);
        await store.setMode('s', 'READONLY');
        assert.equal(await store.mode('s'), 'READONLY');
        assert.equal(await store.mode(''), undefined);
        await store.deleteMode('s');
        assert.equal(await store.mode('s'), undefined);
      } finally {
        await store.close();
      }
    });

    it('refuses a registration whose subject moved past the expected version', async () => {
      const store = await fixture.open();
      try {
        await registerIn(store, schemaVersion('m', 'first'));
        const stale = await store.register({
          ...schemaVersion('m', 'late'),
          expectedTopVersion: 0,
        });
        assert.deepEqual(stale, { conflict: true });
        assert.equal(await store.schemaIdOf('late'), undefined, 'nothing stored');
        const current = await store.register({
          ...schemaVersion('m', 'late'),
          expectedTopVersion: 1,
        });
        assert.ok(!('conflict' in current) && current.version === 2);
      } finally {
        await store.close();
      }
    });

    it('gives concurrent registrations of one subject distinct versions', async () => {
      const store = await fixture.open();
      try {
        const results = await Promise.all(
          ['p', 'q', 'r', 's', 't'].map((text) => registerIn(store, schemaVersion('c', text))),
        );
        assert.deepEqual(
          results.map((result) => result.version).toSorted((a, b) => a - b),
          [1, 2, 3, 4, 5],
        );
      } finally {
        await store.close();
      }
    });
  });
}
