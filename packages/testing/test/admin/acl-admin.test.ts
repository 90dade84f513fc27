/**
 * CreateAcls, DescribeAcls and DeleteAcls through three real clients' admin APIs: kafkajs 2.2.4
 * (v0-1 per CLIENTS.md), kafka-python 2.0.2 (v1) and @platformatic/kafka (v3, flexible). Filters
 * match as Kafka matches them (LITERAL, PREFIXED, ANY, MATCH with the `*` literal and prefixes);
 * Kafka's refusals are checked through @platformatic/kafka's request builders, which send what
 * they are given: INVALID_REQUEST per creation or per filter, and a closed connection for an
 * explicit UNKNOWN code. Bindings survive a restart of a broker with a data directory.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  Admin as PlatformaticAdmin,
  Connection,
  createAclsV3,
  deleteAclsV3,
  describeAclsV3,
  type Acl,
} from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, type RunningBroker } from '@tributary/broker';
import { runCommand, systemPython, tempDir, type TempDir } from '@tributary/testing';
import { answerOf } from './answer-of.ts';

// Kafka's codes (ResourceType, PatternType, AclOperation, AclPermissionType).
const TOPIC = 2;
const GROUP = 3;
const CLUSTER = 4;
const ANY = 1;
const MATCH = 2;
const LITERAL = 3;
const PREFIXED = 4;
const READ = 3;
const WRITE = 4;
const DESCRIBE = 8;
const DENY = 2;
const ALLOW = 3;
const INVALID_REQUEST = 42;

let dataDir: TempDir;
let broker: RunningBroker;
let platformatic: PlatformaticAdmin;

async function start(): Promise<void> {
  broker = await startBroker({ port: 0, host: '127.0.0.1', dataDir: dataDir.path, quiet: true });
  platformatic = new PlatformaticAdmin({
    clientId: 'acl-admin',
    bootstrapBrokers: [broker.bootstrap],
  });
}

async function stop(): Promise<void> {
  await platformatic.close();
  await broker.close();
}

before(async () => {
  dataDir = await tempDir('acl-admin');
  await start();
});

after(async () => {
  await stop();
  await dataDir.remove();
});

function acl(overrides: Partial<Acl>): Acl {
  return {
    resourceType: TOPIC,
    resourceName: 'orders',
    resourcePatternType: LITERAL,
    principal: 'User:alice',
    host: '*',
    operation: READ,
    permissionType: ALLOW,
    ...overrides,
  } as Acl;
}

interface Filter {
  resourceType: number;
  resourceName: string | null;
  resourcePatternType: number;
  principal: string | null;
  host: string | null;
  operation: number;
  permissionType: number;
}

const everything: Filter = {
  resourceType: ANY,
  resourceName: null,
  resourcePatternType: ANY,
  principal: null,
  host: null,
  operation: ANY,
  permissionType: ANY,
};

/** Describes with `filter` and lists what came back as `name/patternType/principal/operation`. */
async function described(filter: Partial<Filter>) {
  const resources = await platformatic.describeAcls({
    filter: { ...everything, ...filter } as never,
  });
  return resources
    .flatMap((resource) =>
      resource.acls.map((entry) =>
        [resource.resourceName, resource.resourcePatternType, entry.principal, entry.operation]
          .map(String)
          .join('/'),
      ),
    )
    .toSorted();
}

test('@platformatic/kafka: filters match as in Kafka (LITERAL, PREFIXED, ANY, MATCH)', async () => {
  await platformatic.createAcls({
    creations: [
      acl({}),
      acl({}), // the same binding twice is one binding
      acl({ resourceName: '*' }),
      acl({ resourceName: 'ord', resourcePatternType: PREFIXED, operation: WRITE }),
      acl({ resourceName: 'x', resourcePatternType: PREFIXED, principal: 'User:bob' }),
      acl({ resourceType: GROUP, resourceName: 'orders', permissionType: DENY }),
    ],
  });
  assert.deepEqual(await described({ resourceType: TOPIC }), [
    '*/3/User:alice/3',
    'ord/4/User:alice/4',
    'orders/3/User:alice/3',
    'x/4/User:bob/3',
  ]);
  // MATCH: every binding that applies to the topic "orders".
  assert.deepEqual(
    await described({ resourceType: TOPIC, resourceName: 'orders', resourcePatternType: MATCH }),
    ['*/3/User:alice/3', 'ord/4/User:alice/4', 'orders/3/User:alice/3'],
  );
  // ANY with a name: that exact name, whatever the pattern type.
  assert.deepEqual(
    await described({ resourceType: ANY, resourceName: 'orders', resourcePatternType: ANY }),
    ['orders/3/User:alice/3', 'orders/3/User:alice/3'],
  );
  assert.deepEqual(await described({ resourceName: 'ord', resourcePatternType: PREFIXED }), [
    'ord/4/User:alice/4',
  ]);
  assert.deepEqual(await described({ principal: 'User:bob' }), ['x/4/User:bob/3']);
  assert.deepEqual(await described({ permissionType: DENY, resourceType: GROUP }), [
    'orders/3/User:alice/3',
  ]);

  const prefixedTopics = { ...everything, resourceType: TOPIC, resourcePatternType: PREFIXED };
  const deleted: Acl[] = await platformatic.deleteAcls({ filters: [prefixedTopics as never] });
  assert.deepEqual(deleted.map((binding) => binding.resourceName).toSorted(), ['ord', 'x']);
  assert.deepEqual(await described({ resourcePatternType: PREFIXED }), []);
});

test('Kafka refusals: INVALID_REQUEST per creation and per filter', async () => {
  const connection = new Connection('acl-refusals');
  await connection.connect(broker.host, broker.port);
  try {
    const created = await answerOf(
      createAclsV3.api.async(connection, [
        acl({ resourceName: 'fine', resourceType: TOPIC }),
        acl({ resourceType: ANY }),
        acl({ resourceType: 42 as never }),
        acl({ resourcePatternType: MATCH }),
        acl({ operation: ANY }),
        acl({ permissionType: ANY }),
        acl({ resourceName: '' }),
        acl({ resourceType: CLUSTER, resourceName: 'my-cluster' }),
        acl({ principal: 'alice' }),
      ]),
    );
    assert.deepEqual(
      created.results.map((result) => [result.errorCode, result.errorMessage]),
      [
        [0, null],
        [INVALID_REQUEST, 'Invalid resourceType ANY'],
        [INVALID_REQUEST, 'Invalid resourceType UNKNOWN'],
        [INVALID_REQUEST, 'Invalid patternType MATCH'],
        [INVALID_REQUEST, 'Invalid operation ANY'],
        [INVALID_REQUEST, 'Invalid permissionType ANY'],
        [INVALID_REQUEST, 'Invalid empty resource name'],
        [INVALID_REQUEST, 'The only valid name for the CLUSTER resource is kafka-cluster'],
        [INVALID_REQUEST, 'expected a string in format principalType:principalName but got alice'],
      ],
    );
    const filter = { ...everything, resourceName: 'fine' };
    const removed = await answerOf(
      deleteAclsV3.api.async(connection, [
        { ...filter, resourceType: 42 },
        { ...filter, operation: 99 },
        filter,
      ] as never),
    );
    assert.deepEqual(
      removed.filterResults.map((result) => [
        result.errorCode,
        result.errorMessage,
        result.matchingAcls.map((match) => match.resourceName),
      ]),
      [
        [INVALID_REQUEST, 'Unknown patternFilter.', []],
        [INVALID_REQUEST, 'Unknown entryFilter.', []],
        [0, null, ['fine']],
      ],
    );
    // DescribeAcls: a code Kafka does not define matches nothing, without an error.
    const unknownType = await describeAclsV3.api.async(connection, {
      ...everything,
      resourceType: 42,
    } as never);
    assert.equal(unknownType.errorCode, 0);
    assert.deepEqual(unknownType.resources, []);
  } finally {
    connection.close();
  }
});

test('an UNKNOWN (0) code fails the parse and closes the connection, as in Kafka', async () => {
  const connection = new Connection('acl-unknown');
  await connection.connect(broker.host, broker.port);
  try {
    await assert.rejects(
      describeAclsV3.api.async(connection, { ...everything, operation: 0 } as never),
    );
  } finally {
    connection.close();
  }
  // The broker serves the next connection.
  assert.ok((await described({})).length > 0);
});

test('kafkajs creates, describes and deletes ACLs', async () => {
  const kafka = new Kafka({
    clientId: 'acl-kafkajs',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const binding = {
      resourceType: GROUP,
      resourceName: 'kafkajs-group',
      resourcePatternType: LITERAL,
      principal: 'User:kafkajs',
      host: '10.0.0.1',
      operation: DESCRIBE,
      permissionType: ALLOW,
    };
    await admin.createAcls({ acl: [binding] });
    const found = await admin.describeAcls({ ...binding, principal: 'User:kafkajs' });
    assert.deepEqual(
      found.resources.map((resource) => [resource.resourceName, resource.acls.length]),
      [['kafkajs-group', 1]],
    );
    const deleted = await admin.deleteAcls({ filters: [binding] });
    assert.deepEqual(
      deleted.filterResponses.map((response) => response.matchingAcls.map((m) => m.host)),
      [['10.0.0.1']],
    );
    const remaining = await admin.describeAcls({ ...binding });
    assert.deepEqual(remaining.resources, []);
  } finally {
    await admin.disconnect();
  }
});

const kafkaPythonScript = `
import json, sys
from kafka.admin import (KafkaAdminClient, ACL, ACLFilter, ResourcePattern,
    ResourcePatternFilter, ACLOperation, ACLPermissionType, ResourceType,
    ACLResourcePatternType)
admin = KafkaAdminClient(bootstrap_servers=sys.argv[1], client_id="acl-kafka-python")
pattern = ResourcePattern(ResourceType.TOPIC, "py-", ACLResourcePatternType.PREFIXED)
acl = ACL("User:py", "*", ACLOperation.WRITE, ACLPermissionType.DENY, pattern)
created = admin.create_acls([acl])
match = ACLFilter("User:py", None, ACLOperation.ANY, ACLPermissionType.ANY,
    ResourcePatternFilter(ResourceType.TOPIC, "py-topic", ACLResourcePatternType.MATCH))
found, error = admin.describe_acls(match)
deleted = admin.delete_acls([match])
found_after, _ = admin.describe_acls(match)
print(json.dumps({
    "created": len(created["succeeded"]),
    "found": [[a.resource_pattern.resource_name, a.principal, a.operation.name] for a in found],
    "error": error.__name__ if isinstance(error, type) else str(error),
    "deleted": [[a.resource_pattern.resource_name for (a, e) in matches]
                for (_, matches, _) in deleted],
    "after": len(found_after),
}))
admin.close()
`;

test('kafka-python creates, describes (MATCH) and deletes ACLs', async () => {
  const run = await runCommand(systemPython, ['-c', kafkaPythonScript, broker.bootstrap], {
    timeoutMs: 60_000,
  });
  assert.equal(run.code, 0, run.stderr);
  const answer = JSON.parse(run.stdout) as Record<string, unknown>;
  assert.deepEqual(answer, {
    created: 1,
    found: [['py-', 'User:py', 'WRITE']],
    error: 'NoError',
    deleted: [['py-']],
    after: 0,
  });
});

test('ACL bindings survive a restart', async () => {
  const stored = await described({});
  assert.ok(stored.length > 0);
  await stop();
  await start();
  assert.deepEqual(await described({}), stored);
});
