/**
 * ACLs in cluster mode: two broker processes on one PostgreSQL and one S3 server, with the
 * authorizer on and allow.everyone.if.no.acl.found=true (so the brokers' own requests to each
 * other, as User:ANONYMOUS, need no ACL to start with). An ACL created through broker 1 must be
 * enforced by broker 2, which learns it from the metadata store (it reloads ACLs every 2 s), and
 * deleting it through broker 1 must lift it on broker 2. Broker 2 is checked alone: kcat asks it
 * for metadata (-L with only its address), which it answers itself.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { kcatPath, runCommand, startTestCluster, type TestCluster } from '@tributary/testing';

const TOPIC = 2;
const LITERAL = 3;
const ALL = 2;
const DENY = 2;

/** How long broker 2 may take to see an ACL change (its refresh period is 2 s). */
const propagationDeadlineMs = 30_000;

let cluster: TestCluster;
let admin: Admin;

function addressOf(nodeId: number): string {
  const broker = cluster.brokers.get(nodeId);
  assert.ok(broker !== undefined, `broker ${nodeId} runs`);
  return `${broker.host}:${broker.port}`;
}

/** What broker 2 answers kcat for the topic's metadata: "ok" or librdkafka's error text. */
async function topicSeenBy(nodeId: number, topic: string): Promise<string> {
  const run = await runCommand(kcatPath, ['-b', addressOf(nodeId), '-L', '-J', '-t', topic], {
    timeoutMs: 30_000,
  });
  const listed = JSON.parse(run.stdout) as { topics: { topic: string; error?: string }[] };
  const found = listed.topics.find((entry) => entry.topic === topic);
  return found?.error ?? (found === undefined ? 'missing' : 'ok');
}

async function eventually(nodeId: number, topic: string, expected: RegExp): Promise<string> {
  const deadline = Date.now() + propagationDeadlineMs;
  let seen = await topicSeenBy(nodeId, topic);
  while (!expected.test(seen) && Date.now() < deadline) {
    await sleep(250);
    seen = await topicSeenBy(nodeId, topic);
  }
  return seen;
}

const denyAll = {
  resourceType: TOPIC,
  resourceName: 'secret',
  resourcePatternType: LITERAL,
  principal: 'User:*',
  host: '*',
  operation: ALL,
  permissionType: DENY,
};

before(async () => {
  cluster = await startTestCluster({
    brokers: 2,
    args: [
      '--override',
      'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      '--override',
      'allow.everyone.if.no.acl.found=true',
    ],
  });
  const kafka = new Kafka({
    clientId: 'cluster-authorization',
    brokers: [addressOf(1)],
    logLevel: logLevel.NOTHING,
  });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'secret', numPartitions: 1 }] });
});

after(async () => {
  await admin?.disconnect();
  await cluster?.stop();
});

test('an ACL created on broker 1 is enforced by broker 2, and its deletion lifted', async () => {
  assert.equal(await eventually(2, 'secret', /^ok$/), 'ok', 'secret is visible before the ACL');
  await admin.createAcls({ acl: [denyAll] });
  assert.match(await eventually(2, 'secret', /authoriz/i), /Topic authorization failed/i);
  assert.match(await topicSeenBy(1, 'secret'), /Topic authorization failed/i);
  await admin.deleteAcls({ filters: [denyAll] });
  assert.equal(await eventually(2, 'secret', /^ok$/), 'ok', 'visible again once deleted');
});
