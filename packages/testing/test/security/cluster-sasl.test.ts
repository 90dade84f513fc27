/**
 * Brokers of a cluster whose only listener is SASL_SSL authenticate to each other (issue 16):
 * TLS checked against the listener's truststore and SASL PLAIN with the `username`/`password` of
 * the listener's JAAS config (security/inter-broker-security.ts). With the authorizer on and
 * nothing allowed without an ACL, the broker principal is a super user, as in Kafka. An admin
 * action taken on each of the two brokers reaches the audit topic's leader over that
 * authenticated connection (AuditAppend), and a client reads both entries back over SASL_SSL.
 * A plaintext connection to the brokers is refused.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { connectSecurely, KafkaConnection, type ClientSecurity } from '@tributary/broker';
import { createTopicsApi } from '@tributary/protocol';
import { makeTestCertificates, startTestCluster, type TestCluster } from '@tributary/testing';
import { createTopicVia } from '../cluster/cluster-helpers.ts';
import { Kafka, logLevel } from 'kafkajs';

const brokerUser = { user: 'broker', password: 'broker-secret' };
const alice = { user: 'alice', password: 'alice-secret' };
const jaas =
  'org.apache.kafka.common.security.plain.PlainLoginModule required ' +
  `username="${brokerUser.user}" password="${brokerUser.password}" ` +
  `user_${brokerUser.user}="${brokerUser.password}" user_${alice.user}="${alice.password}";`;

let dir: string;
let cluster: TestCluster;
let ca: Buffer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cluster-sasl-'));
  const certs = await makeTestCertificates(dir, []);
  ca = await readFile(certs.caCert);
  const settings: Record<string, string> = {
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': certs.server.keystore,
    'ssl.truststore.location': certs.caCert,
    'sasl.enabled.mechanisms': 'PLAIN',
    'listener.name.sasl_ssl.plain.sasl.jaas.config': jaas,
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'allow.everyone.if.no.acl.found': 'false',
    'super.users': `User:${brokerUser.user};User:${alice.user}`,
  };
  cluster = await startTestCluster({
    brokers: 2,
    listener: 'SASL_SSL',
    args: Object.entries(settings).flatMap(([key, value]) => ['--override', `${key}=${value}`]),
  });
});

after(async () => {
  await cluster?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const asAlice = (): ClientSecurity => ({
  tls: { ca },
  sasl: { mechanism: 'PLAIN', user: alice.user, password: alice.password },
});

async function createTopicOn(nodeId: number, name: string): Promise<void> {
  const broker = cluster.brokers.get(nodeId);
  assert.ok(broker !== undefined);
  const address = { host: broker.host, port: broker.port };
  const options = { clientId: `admin-on-${nodeId}` };
  await createTopicVia(await connectSecurely(address, asAlice(), options), name);
}

/** The client ids of the audit entries read over SASL_SSL, once `expected` are all there. */
async function auditedClients(expected: readonly string[]): Promise<Set<string>> {
  const kafka = new Kafka({
    clientId: 'audit-reader',
    brokers: cluster.bootstrap().split(','),
    ssl: { ca: [ca] },
    sasl: { mechanism: 'plain', username: alice.user, password: alice.password },
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: 'audit-reader' });
  const seen = new Set<string>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: '__tributary_audit', fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`audit entries seen: ${[...seen].join(', ')}`)),
        60_000,
      );
      consumer
        .run({
          eachMessage: async ({ message }) => {
            const entry = JSON.parse(String(message.value)) as { clientId: string | null };
            if (entry.clientId !== null) seen.add(entry.clientId);
            if (expected.every((clientId) => seen.has(clientId))) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

test('brokers on a SASL_SSL-only cluster authenticate to each other', async () => {
  const nodes = [...cluster.brokers.keys()];
  for (const nodeId of nodes) await createTopicOn(nodeId, `secured-on-${nodeId}`);
  const seen = await auditedClients(nodes.map((nodeId) => `admin-on-${nodeId}`));
  for (const nodeId of nodes) assert.ok(seen.has(`admin-on-${nodeId}`));
});

test('a plaintext client is refused by every broker', async () => {
  for (const broker of cluster.brokers.values()) {
    const connection = await KafkaConnection.connect(
      { host: broker.host, port: broker.port },
      { requestTimeoutMs: 5000, connectTimeoutMs: 5000 },
    ).catch((error: unknown) => error);
    if (connection instanceof KafkaConnection) {
      await assert.rejects(
        connection.request(createTopicsApi, 7, {
          topics: [{ name: 'plain', numPartitions: 1, replicationFactor: -1 }],
          timeoutMs: 1000,
          validateOnly: false,
        }),
      );
      connection.close();
    }
  }
});
