import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AclBinding } from '@tributary/storage';
import { AclOperation as Op, PatternType, ResourceType } from './acl-codes.ts';
import { Authorizer, denialLogMaxLines } from './authorizer.ts';

const quiet = { info() {}, warn() {}, error() {} };

async function authorizerOf(
  acls: Partial<AclBinding>[],
  settings: Record<string, string> = {},
): Promise<Authorizer> {
  const all = { 'authorizer.class.name': 'StandardAuthorizer', ...settings };
  const bindings = acls.map((acl) => ({
    resourceType: ResourceType.TOPIC,
    resourceName: 'orders',
    patternType: PatternType.LITERAL,
    principal: 'User:alice',
    host: '*',
    operation: Op.READ,
    permissionType: 3,
    ...acl,
  }));
  return Authorizer.start({
    storage: { listAcls: () => Promise.resolve(bindings) },
    settings: { value: (name) => all[name as keyof typeof all] ?? null },
    log: quiet,
    refreshPeriodically: false,
  });
}

const alice = { principal: 'User:alice', host: '10.0.0.1' };
const bob = { principal: 'User:bob', host: '10.0.0.2' };
const topic = (name: string) => ({ type: ResourceType.TOPIC, name });

test('ACLs x subject x operation x resource -> verdict, as StandardAuthorizerData', async () => {
  const deny = 2;
  const cases: [string, Partial<AclBinding>[], typeof alice, number, string, boolean][] = [
    ['no ACL at all denies', [], alice, Op.READ, 'orders', false],
    ['literal allow', [{}], alice, Op.READ, 'orders', true],
    ['literal is not prefix', [{}], alice, Op.READ, 'orders2', false],
    ['other principal', [{}], bob, Op.READ, 'orders', false],
    ['User:* allows everyone', [{ principal: 'User:*' }], bob, Op.READ, 'orders', true],
    ['wildcard name', [{ resourceName: '*' }], alice, Op.READ, 'payments', true],
    ['prefixed', [{ resourceName: 'ord', patternType: 4 }], alice, Op.READ, 'orders', true],
    ['prefix elsewhere', [{ resourceName: 'pay', patternType: 4 }], alice, Op.READ, 'x', false],
    ['READ implies DESCRIBE', [{}], alice, Op.DESCRIBE, 'orders', true],
    ['DESCRIBE not READ', [{ operation: Op.DESCRIBE }], alice, Op.READ, 'orders', false],
    ['WRITE is not READ', [{ operation: Op.WRITE }], alice, Op.READ, 'orders', false],
    ['ALL allows READ', [{ operation: Op.ALL }], alice, Op.READ, 'orders', true],
    [
      'ALTER_CONFIGS implies DESCRIBE_CONFIGS',
      [{ operation: Op.ALTER_CONFIGS }],
      alice,
      Op.DESCRIBE_CONFIGS,
      'orders',
      true,
    ],
    ['host matches', [{ host: '10.0.0.1' }], alice, Op.READ, 'orders', true],
    ['host differs', [{ host: '10.0.0.9' }], alice, Op.READ, 'orders', false],
    ['DENY wins', [{}, { permissionType: deny }], alice, Op.READ, 'orders', false],
    [
      'prefixed DENY wins over literal ALLOW',
      [{}, { resourceName: 'o', patternType: 4, permissionType: deny }],
      alice,
      Op.READ,
      'orders',
      false,
    ],
    [
      'DENY READ does not deny DESCRIBE',
      [{ operation: Op.ALL }, { permissionType: deny }],
      alice,
      Op.DESCRIBE,
      'orders',
      true,
    ],
    [
      'DENY ALL denies DESCRIBE',
      [{}, { operation: Op.ALL, permissionType: deny }],
      alice,
      Op.DESCRIBE,
      'orders',
      false,
    ],
    ['ACL for someone else still counts as found', [{}], bob, Op.READ, 'orders', false],
  ];
  for (const [name, acls, subject, operation, resource, expected] of cases) {
    const authorizer = await authorizerOf(acls);
    assert.equal(authorizer.authorize(subject, operation, topic(resource)), expected, name);
  }
});

test('super.users, allow.everyone.if.no.acl.found and no authorizer', async () => {
  const supers = await authorizerOf([{ permissionType: 2, principal: 'User:bob' }], {
    'super.users': 'User:root; User:bob',
  });
  assert.equal(supers.authorize(bob, Op.READ, topic('orders')), true);
  assert.equal(supers.authorize(alice, Op.READ, topic('orders')), false);
  const open = await authorizerOf([{ resourceName: 'orders' }], {
    'allow.everyone.if.no.acl.found': 'true',
  });
  assert.equal(open.authorize(bob, Op.READ, topic('payments')), true);
  assert.equal(open.authorize(bob, Op.READ, topic('orders')), false);
  const off = await authorizerOf([], { 'authorizer.class.name': '' });
  assert.equal(off.enabled, false);
  assert.equal(off.authorize(bob, Op.ALTER, topic('orders')), true);
});

async function check(acls: Partial<AclBinding>[]): Promise<boolean> {
  return (await authorizerOf(acls)).authorizeByResourceType(alice, Op.WRITE, ResourceType.TOPIC);
}

test('authorizeByResourceType: an allow not shadowed by a deny, as Kafka', async () => {
  const write = { operation: Op.WRITE };
  const deny = { ...write, permissionType: 2 };
  assert.equal(await check([]), false);
  assert.equal(await check([write]), true);
  assert.equal(await check([{ ...write, operation: Op.READ }]), false);
  assert.equal(await check([write, deny]), false);
  assert.equal(await check([write, { ...deny, resourceName: 'ord', patternType: 4 }]), false);
  assert.equal(await check([write, { ...deny, resourceName: 'pay', patternType: 4 }]), true);
  assert.equal(await check([write, { ...deny, resourceName: '*' }]), false);
  assert.equal(await check([{ ...write, resourceName: 'p', patternType: 4 }]), true);
});

test('denials are logged at most denialLogMaxLines per interval', async () => {
  const lines: unknown[] = [];
  const authorizer = await Authorizer.start({
    storage: { listAcls: () => Promise.resolve([]) },
    settings: { value: (name) => (name === 'authorizer.class.name' ? 'on' : null) },
    log: { info: (_message, fields) => lines.push(fields), warn() {}, error() {} },
    refreshPeriodically: false,
  });
  for (let i = 0; i < denialLogMaxLines + 5; i++) authorizer.logDenial({ attempt: i });
  assert.equal(lines.length, denialLogMaxLines);
});
