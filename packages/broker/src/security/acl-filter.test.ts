import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { AclBinding } from '@tributary/storage';
import {
  creationProblem,
  filterProblem,
  matchesFilter,
  type AclBindingFilter,
} from './acl-filter.ts';

const binding: AclBinding = {
  resourceType: 2,
  resourceName: 'orders',
  patternType: 3,
  principal: 'User:alice',
  host: '*',
  operation: 3,
  permissionType: 3,
};

const anything: AclBindingFilter = {
  resourceTypeFilter: 1,
  resourceNameFilter: null,
  patternTypeFilter: 1,
  principalFilter: null,
  hostFilter: null,
  operation: 1,
  permissionType: 1,
};

test('entry filters: null and ANY match anything, values match exactly', () => {
  assert.equal(matchesFilter(anything, binding), true);
  assert.equal(matchesFilter({ ...anything, principalFilter: 'User:alice' }, binding), true);
  assert.equal(matchesFilter({ ...anything, principalFilter: 'User:bob' }, binding), false);
  assert.equal(matchesFilter({ ...anything, hostFilter: '10.0.0.1' }, binding), false);
  assert.equal(matchesFilter({ ...anything, operation: 4 }, binding), false);
  assert.equal(matchesFilter({ ...anything, permissionType: 2 }, binding), false);
  // A code Kafka does not define reads as UNKNOWN, which matches no stored binding.
  assert.equal(matchesFilter({ ...anything, resourceTypeFilter: 42 }, binding), false);
});

test('MATCH finds the bindings that apply to a resource name, as Kafka does', () => {
  const name = fc.stringMatching(/^[a-c*]{0,4}$/);
  fc.assert(
    fc.property(name, name, fc.constantFrom(3, 4), (filterName, boundName, patternType) => {
      const stored = { ...binding, resourceName: boundName, patternType };
      const filter = { ...anything, resourceNameFilter: filterName, patternTypeFilter: 2 };
      const applies =
        patternType === 3
          ? boundName === filterName || boundName === '*'
          : filterName.startsWith(boundName);
      assert.equal(matchesFilter(filter, stored), applies);
    }),
  );
});

test('LITERAL and PREFIXED filters compare names exactly, within their pattern type', () => {
  const prefixed = { ...binding, resourceName: 'ord', patternType: 4 };
  const literal = { ...anything, resourceNameFilter: 'ord', patternTypeFilter: 3 };
  assert.equal(matchesFilter(literal, prefixed), false);
  assert.equal(matchesFilter({ ...literal, patternTypeFilter: 4 }, prefixed), true);
  assert.equal(
    matchesFilter({ ...literal, resourceNameFilter: 'orders', patternTypeFilter: 4 }, prefixed),
    false,
  );
  assert.equal(matchesFilter({ ...literal, patternTypeFilter: 1 }, prefixed), true);
});

test('DeleteAcls filter and CreateAcls binding checks give Kafka messages', () => {
  assert.equal(filterProblem(anything), undefined);
  assert.equal(filterProblem({ ...anything, patternTypeFilter: 9 }), 'Unknown patternFilter.');
  assert.equal(filterProblem({ ...anything, permissionType: 9 }), 'Unknown entryFilter.');
  assert.equal(creationProblem(binding), undefined);
  assert.equal(creationProblem({ ...binding, operation: 1 }), 'Invalid operation ANY');
  assert.equal(creationProblem({ ...binding, patternType: 1 }), 'Invalid patternType ANY');
  assert.equal(
    creationProblem({ ...binding, resourceType: 4, resourceName: 'kafka-cluster' }),
    undefined,
  );
});
