/**
 * The audit log in cluster mode (issue 16): only the leader of `__tributary_audit`'s one
 * partition may append, so every other broker hands its entries to that leader (AuditAppend).
 * An admin action taken on any broker of three is in the topic, read with `tributary audit`;
 * one taken on a broker while the audit leader is killed (kill -9) is stored once another
 * broker has taken the partition's lease. `tributary audit` gets the whole bootstrap list, the
 * killed broker first.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KafkaConnection } from '@tributary/cli';
import { cliMainPath, runCommand, startTestCluster, type TestCluster } from '@tributary/testing';
import { allLed, createTopicVia, eventually } from './cluster-helpers.ts';

const auditTopic = '__tributary_audit';
let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster({ brokers: 3, leaseMs: 3000 });
});

after(async () => {
  await cluster?.stop();
});

interface Entry {
  clientId: string | null;
  action: string;
  resources: string[];
  result: string;
}

/** CreateTopics sent to broker `nodeId` itself, under client id `clientId`. */
async function createTopicOn(nodeId: number, name: string, clientId: string): Promise<void> {
  const broker = cluster.brokers.get(nodeId);
  assert.ok(broker !== undefined, `broker ${nodeId} runs`);
  const address = { host: broker.host, port: broker.port };
  await createTopicVia(await KafkaConnection.connect(address, { clientId }), name);
}

/** `tributary audit --json`, given every broker (first `down`, when named: it is skipped). */
async function storedEntries(down?: string): Promise<Entry[]> {
  const bootstrap = down === undefined ? cluster.bootstrap() : `${down},${cluster.bootstrap()}`;
  const run = await runCommand(
    process.execPath,
    [cliMainPath, 'audit', '--json', '--bootstrap', bootstrap],
    { timeoutMs: 60_000 },
  );
  assert.equal(run.code, 0, run.stderr);
  return run.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Entry);
}

/** Waits until the entry of `clientId`'s CreateTopics of `topic` is stored. */
function entryStored(
  clientId: string,
  topic: string,
  timeoutMs: number,
  down?: string,
): Promise<Entry> {
  return eventually(`the audit entry of ${clientId}`, timeoutMs, async () => {
    const entries = await storedEntries(down);
    return entries.find(
      (entry) =>
        entry.clientId === clientId &&
        entry.action === 'CreateTopics' &&
        entry.resources.includes(`topic:${topic}`),
    );
  });
}

test('an action on any broker is stored by the audit topic leader, once', async () => {
  const metadata = await allLed(cluster, auditTopic, 1);
  const leader = metadata.leaders.get(`${auditTopic}-0`)?.leader ?? -1;
  const nodes = [...cluster.brokers.keys()];
  assert.ok(nodes.includes(leader), 'a live broker leads the audit topic');
  for (const nodeId of nodes) {
    await createTopicOn(nodeId, `audited-on-${nodeId}`, `admin-on-${nodeId}`);
  }
  for (const nodeId of nodes) {
    const entry = await entryStored(`admin-on-${nodeId}`, `audited-on-${nodeId}`, 20_000);
    assert.equal(entry.result, 'ok');
  }
  const entries = await storedEntries();
  for (const nodeId of nodes) {
    const copies = entries.filter((entry) => entry.clientId === `admin-on-${nodeId}`);
    assert.equal(copies.length, 1, `broker ${nodeId}'s entry is stored once`);
  }
});

test('entries taken while the audit leader is killed are stored by the next leader', async () => {
  const led = await allLed(cluster, auditTopic, 1);
  const leader = led.leaders.get(`${auditTopic}-0`)?.leader ?? -1;
  const other = [...cluster.brokers.keys()].find((nodeId) => nodeId !== leader);
  assert.ok(other !== undefined);
  const killed = cluster.brokers.get(leader);
  await cluster.killBroker(leader);
  // The dead leader's lease still holds: the entry waits on `other` until a new leader takes it.
  await createTopicOn(other, 'audited-in-failover', 'admin-in-failover');
  // The killed broker first in --bootstrap, as a client's list would still name it.
  const down = `${killed?.host}:${killed?.port}`;
  const entry = await entryStored('admin-in-failover', 'audited-in-failover', 45_000, down);
  assert.equal(entry.result, 'ok');
  const failedOver = await allLed(cluster, auditTopic, 1);
  assert.notEqual(failedOver.leaders.get(`${auditTopic}-0`)?.leader, leader);
  await cluster.startBroker(leader);
});
