/**
 * Every compatibility vector (compatibility-vectors.ts) under all seven levels, through
 * SchemaRegistry (register the old versions, then check the new one as POST /compatibility and
 * POST /subjects/{s}/versions do), on an in-memory SQLite store.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compatibilityChains, compatibilityVectors } from './compatibility-vectors.ts';
import { RegistryError } from './registry-error.ts';
import { SchemaRegistry } from './schema-registry.ts';
import { compatibilityLevels, type CompatibilityLevel, type SchemaType } from './schema-types.ts';
import { SqliteSchemaStore } from './sqlite-schema-store.ts';

interface Verdict {
  readonly backward: boolean;
  readonly forward: boolean;
}

function expected(level: CompatibilityLevel, latest: Verdict, all: Verdict): boolean {
  const verdict = level.endsWith('_TRANSITIVE') ? all : latest;
  if (level === 'NONE') return true;
  if (level.startsWith('BACKWARD')) return verdict.backward;
  if (level.startsWith('FORWARD')) return verdict.forward;
  return verdict.backward && verdict.forward;
}

async function verdictOf(
  level: CompatibilityLevel,
  schemaType: SchemaType,
  versions: readonly string[],
): Promise<{ compatible: boolean; problems: string[]; registered: boolean }> {
  const registry = new SchemaRegistry(SqliteSchemaStore.open(':memory:'));
  try {
    await registry.setConfig('s', { compatibilityLevel: 'NONE' });
    const older = versions.slice(0, -1);
    for (const schema of older)
      await registry.register('s', { schema, schemaType, references: [] });
    await registry.setConfig('s', { compatibilityLevel: level });
    const next = { schema: versions.at(-1) ?? '', schemaType, references: [] };
    const problems = await registry.compatibilityProblems('s', next, undefined);
    const registered = await registry.register('s', next).then(
      () => true,
      (error: unknown) => {
        assert.ok(error instanceof RegistryError && error.errorCode === 40901, String(error));
        return false;
      },
    );
    return { compatible: problems.length === 0, problems, registered };
  } finally {
    await registry.close();
  }
}

describe('compatibility vectors (Confluent verdicts)', () => {
  for (const vector of compatibilityVectors) {
    it(`${vector.schemaType}: ${vector.change}`, async () => {
      for (const level of compatibilityLevels) {
        const want = expected(level, vector, vector);
        const got = await verdictOf(level, vector.schemaType, [vector.previous, vector.next]);
        assert.equal(got.compatible, want, `${level}: ${got.problems.join('; ')}`);
        assert.equal(got.registered, want, `${level}: register agrees with the check`);
      }
    });
  }
  for (const chain of compatibilityChains) {
    it(`${chain.schemaType} chain: ${chain.change}`, async () => {
      for (const level of compatibilityLevels) {
        const want = expected(level, chain.latest, chain.all);
        const got = await verdictOf(level, chain.schemaType, chain.versions);
        assert.equal(got.compatible, want, `${level}: ${got.problems.join('; ')}`);
      }
    });
  }
});

const raceRecord = (...fields: object[]) =>
  JSON.stringify({
    type: 'record',
    name: 'R',
    fields: [{ name: 'id', type: 'string' }, ...fields],
  });

describe('concurrent registrations', () => {
  it('check each one against the version that landed first', async () => {
    const registry = new SchemaRegistry(SqliteSchemaStore.open(':memory:'));
    try {
      await registry.register('race', { schema: raceRecord(), schemaType: 'AVRO', references: [] });
      // Each fits version 1; the second does not fit the first (a: string -> int).
      const outcomes = await Promise.allSettled(
        [
          raceRecord({ name: 'a', type: 'string', default: '' }),
          raceRecord({ name: 'a', type: 'int', default: 0 }),
        ].map((schema) =>
          registry.register('race', { schema, schemaType: 'AVRO', references: [] }),
        ),
      );
      assert.deepEqual(
        outcomes.map((outcome) => outcome.status),
        ['fulfilled', 'rejected'],
      );
      const rejected = outcomes[1];
      assert.ok(rejected?.status === 'rejected' && rejected.reason instanceof RegistryError);
      assert.equal(rejected.reason.errorCode, 40901);
      assert.deepEqual(await registry.versionNumbers('race', false), [1, 2]);
    } finally {
      await registry.close();
    }
  });
});
