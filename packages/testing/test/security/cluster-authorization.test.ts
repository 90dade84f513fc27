/**
 * ACLs in cluster mode: two broker processes on one PostgreSQL and one S3 server, with the
 * authorizer on and allow.everyone.if.no.acl.found=true (so the brokers' own requests to each
 * other, as User:ANONYMOUS, need no ACL to start with). An ACL created through broker 1 must be
 * enforced by broker 2, which learns it from the metadata store (it reloads ACLs every 2 s), and
 * deleting it through broker 1 must lift it on broker 2. Broker 2 is checked alone: kcat asks it
 * for metadata (-L with only its address), which it answers itself.
 *
 * Brokers call each other as User:ANONYMOUS here (no SASL between them), and the calls only
 * brokers make need CLUSTER_ACTION: once the cluster resource has an ACL (ALTER, to go on
 * managing ACLs), a produce that broker 2 forwards to broker 1 (zone routing: a client of zone b
 * writing to a partition led in zone a) is refused by broker 1 with CLUSTER_AUTHORIZATION_FAILED,
 * and succeeds once User:ANONYMOUS from 127.0.0.1 is granted CLUSTER_ACTION, as docs/security.md
 * tells operators to do.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { kcatPath, runCommand, startTestCluster, type TestCluster } from '@tributary/testing';

const TOPIC = 2;
const CLUSTER = 4;
const LITERAL = 3;
const ALL = 2;
const ALTER = 7;
const CLUSTER_ACTION = 9;
const DENY = 2;
const ALLOW = 3;

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
  await admin.createTopics({
    topics: [
      { topic: 'secret', numPartitions: 1 },
      { topic: 'zoned', numPartitions: 4 },
    ],
  });
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

function clusterAcl(operation: number, host: string) {
  return {
    resourceType: CLUSTER,
    resourceName: 'kafka-cluster',
    resourcePatternType: LITERAL,
    principal: 'User:ANONYMOUS',
    host,
    operation,
    permissionType: ALLOW,
  };
}

/**
 * Produces one record to `partition` through broker `via`, as a client of that broker's zone:
 * "ok" or the Kafka error name.
 */
async function produceFrom(via: number, partition: number): Promise<string> {
  const kafka = new Kafka({
    clientId: `zone=${cluster.rackOf(via)}`,
    brokers: [addressOf(via)],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  try {
    await producer.connect();
    await producer.send({ topic: 'zoned', messages: [{ partition, value: 'forwarded' }] });
    return 'ok';
  } catch (error: unknown) {
    const { type } = error as { type?: unknown };
    return typeof type === 'string' ? type : String(error);
  } finally {
    await producer.disconnect();
  }
}

async function produceEventually(
  via: number,
  partition: number,
  expected: string,
): Promise<string> {
  const deadline = Date.now() + propagationDeadlineMs;
  let seen = await produceFrom(via, partition);
  while (seen !== expected && Date.now() < deadline) {
    await sleep(250);
    seen = await produceFrom(via, partition);
  }
  return seen;
}

test('broker-to-broker requests need CLUSTER_ACTION, as Kafka documents', async () => {
  // Whichever broker leads partition 0 of zoned, a client of the other broker's zone produces
  // through that broker, which stores the batch and forwards it to the leader.
  const metadata = await admin.fetchTopicMetadata({ topics: ['zoned'] });
  const leader = metadata.topics[0]?.partitions.find((p) => p.partitionId === 0)?.leader;
  assert.ok(leader === 1 || leader === 2, `partition 0 of zoned has a leader: ${leader}`);
  const via = leader === 1 ? 2 : 1;
  const partitionId = 0;
  assert.equal(
    await produceEventually(via, partitionId, 'ok'),
    'ok',
    'forwarded with no cluster ACL',
  );
  const alter = clusterAcl(ALTER, '*');
  await admin.createAcls({ acl: [alter] });
  assert.equal(
    await produceEventually(via, partitionId, 'CLUSTER_AUTHORIZATION_FAILED'),
    'CLUSTER_AUTHORIZATION_FAILED',
  );
  const clusterAction = clusterAcl(CLUSTER_ACTION, '127.0.0.1');
  await admin.createAcls({ acl: [clusterAction] });
  assert.equal(await produceEventually(via, partitionId, 'ok'), 'ok');
  await admin.deleteAcls({ filters: [alter, clusterAction] });
});
