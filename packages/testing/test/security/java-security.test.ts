/**
 * Authentication and TLS with the Java client 4.4 through Kafka's own tools (kafka-topics,
 * kafka-console-producer, kafka-console-consumer), each given a client config file
 * (--command-config) as an operator writes one, against the listeners of secure-broker.ts:
 *
 * - SASL_PLAINTEXT with SCRAM-SHA-512 (ScramLoginModule) and PLAIN (PlainLoginModule): create a
 *   topic, produce three lines, consume them through a group;
 * - SSL with a PEM truststore, mTLS with a PEM keystore (principal User:svc-orders), SASL_SSL
 *   with SCRAM-SHA-512;
 * - OAUTHBEARER with the token read from a file (OAuthBearerLoginCallbackHandler);
 * - refused: a wrong SCRAM password (the tool prints the broker's SaslAuthenticationException
 *   message) and a client that does not speak SASL on the SASL listener.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { javaCommand, runCommand, tempDir, type TempDir } from '@tributary/testing';
import { plainUsers, scramUsers, startSecureBroker, type SecureBroker } from './secure-broker.ts';

const topicCommand = 'org.apache.kafka.tools.TopicCommand';
const consoleProducer = 'org.apache.kafka.tools.ConsoleProducer';
const consoleConsumer = 'org.apache.kafka.tools.consumer.ConsoleConsumer';
const toolTimeoutMs = 120_000;
const stepTimeoutMs = 300_000;

let dir: TempDir;
let secure: SecureBroker;

before(async () => {
  javaCommand(topicCommand); // fails early when the Java drivers are not built
  dir = await tempDir('java-security');
  secure = await startSecureBroker(dir.path);
});

after(async () => {
  await secure?.broker.close();
  await dir?.remove();
});

async function configFile(name: string, lines: Record<string, string>): Promise<string> {
  const path = join(dir.path, `${name}.properties`);
  const text = Object.entries(lines)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n');
  await writeFile(path, `${text}\n`);
  return path;
}

async function tool(
  mainClass: string,
  listener: string,
  args: readonly string[],
  options: { input?: string; jvm?: readonly string[] } = {},
) {
  const java = javaCommand(mainClass, [
    '--bootstrap-server',
    `127.0.0.1:${secure.port(listener)}`,
    ...args,
  ]);
  const jvm = options.jvm ?? [];
  const at = java.args.indexOf('-cp');
  const javaArgs = [...java.args.slice(0, at), ...jvm, ...java.args.slice(at)];
  return runCommand(java.command, javaArgs, {
    timeoutMs: toolTimeoutMs,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
}

/** kafka-topics --create, console producer, console consumer; asserts every step. */
async function roundTrip(listener: string, config: string, topic: string, jvm: string[] = []) {
  const created = await tool(
    topicCommand,
    listener,
    ['--command-config', config, '--create', '--topic', topic, '--partitions', '1'],
    { jvm },
  );
  assert.equal(created.code, 0, created.stderr + created.stdout);
  const lines = ['one', 'two', 'three'].map((word) => `${topic}-${word}`);
  const produced = await tool(
    consoleProducer,
    listener,
    ['--command-config', config, '--topic', topic],
    { input: `${lines.join('\n')}\n`, jvm },
  );
  assert.equal(produced.code, 0, produced.stderr);
  const consumed = await tool(
    consoleConsumer,
    listener,
    [
      '--command-config',
      config,
      '--topic',
      topic,
      '--group',
      `${topic}-group`,
      '--from-beginning',
      '--max-messages',
      '3',
      '--timeout-ms',
      '60000',
    ],
    { jvm },
  );
  assert.equal(consumed.code, 0, consumed.stderr);
  assert.deepEqual(consumed.stdout.trim().split('\n'), lines);
}

const scramJaas = (user: string, password: string): string =>
  `org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" ` +
  `password="${password}";`;

describe('Java client (kafka-clients 4.4)', { timeout: stepTimeoutMs * 4 }, () => {
  test('SASL_PLAINTEXT: SCRAM-SHA-512 and PLAIN', { timeout: stepTimeoutMs }, async () => {
    const scram = await configFile('scram', {
      'security.protocol': 'SASL_PLAINTEXT',
      'sasl.mechanism': 'SCRAM-SHA-512',
      'sasl.jaas.config': scramJaas('dave', scramUsers.dave),
    });
    await roundTrip('SASL_PLAINTEXT', scram, 'java-scram');
    const plain = await configFile('plain', {
      'security.protocol': 'SASL_PLAINTEXT',
      'sasl.mechanism': 'PLAIN',
      'sasl.jaas.config':
        'org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" ' +
        `password="${plainUsers.alice}";`,
    });
    await roundTrip('SASL_PLAINTEXT', plain, 'java-plain');
    assert.ok(secure.logged('authenticated', 'mechanism=SCRAM-SHA-512', 'User:dave').length > 0);
    assert.ok(secure.logged('authenticated', 'mechanism=PLAIN', 'User:alice').length > 0);
  });

  test('SSL, mTLS (PEM keystore) and SASL_SSL', { timeout: stepTimeoutMs }, async () => {
    const trust = {
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': secure.certs.caCert,
    };
    await roundTrip(
      'SSL',
      await configFile('ssl', { 'security.protocol': 'SSL', ...trust }),
      'java-ssl',
    );
    const service = secure.certs.clients.get('svc-orders');
    assert.ok(service !== undefined);
    const mtls = await configFile('mtls', {
      'security.protocol': 'SSL',
      ...trust,
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': service.keystore,
    });
    await roundTrip('MTLS', mtls, 'java-mtls');
    assert.ok(secure.logged('TLS client authenticated', 'principal=User:svc-orders').length > 0);
    const saslSsl = await configFile('sasl-ssl', {
      'security.protocol': 'SASL_SSL',
      ...trust,
      'sasl.mechanism': 'SCRAM-SHA-512',
      'sasl.jaas.config': scramJaas('bob', scramUsers.bob),
    });
    await roundTrip('SASL_SSL', saslSsl, 'java-sasl-ssl');
  });

  test('OAUTHBEARER with a token file', { timeout: stepTimeoutMs }, async () => {
    const tokenFile = join(dir.path, 'token.jwt');
    await writeFile(tokenFile, await secure.token({ sub: 'svc-java' }));
    const tokenUrl = pathToFileURL(tokenFile).href;
    const oauth = await configFile('oauth', {
      'security.protocol': 'SASL_PLAINTEXT',
      'sasl.mechanism': 'OAUTHBEARER',
      'sasl.login.callback.handler.class':
        'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler',
      'sasl.oauthbearer.token.endpoint.url': tokenUrl,
      'sasl.jaas.config':
        'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ;',
    });
    const jvm = [`-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=${tokenUrl}`];
    await roundTrip('SASL_PLAINTEXT', oauth, 'java-oauth', jvm);
    assert.ok(secure.logged('authenticated', 'mechanism=OAUTHBEARER', 'User:svc-java').length > 0);
  });

  test(
    'a wrong password is refused with the broker message',
    { timeout: stepTimeoutMs },
    async () => {
      const wrong = await configFile('wrong', {
        'security.protocol': 'SASL_PLAINTEXT',
        'sasl.mechanism': 'SCRAM-SHA-256',
        'sasl.jaas.config': scramJaas('bob', 'not-bob-secret'),
      });
      const listed = await tool(topicCommand, 'SASL_PLAINTEXT', [
        '--command-config',
        wrong,
        '--list',
      ]);
      assert.notEqual(listed.code, 0);
      assert.match(
        listed.stderr + listed.stdout,
        /SaslAuthenticationException: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256/,
      );
      assert.ok(
        secure.logged('authentication failed', 'mechanism=SCRAM-SHA-256', 'user="bob"').length > 0,
      );
    },
  );

  test(
    'a client without SASL on the SASL listener gets nothing',
    { timeout: stepTimeoutMs },
    async () => {
      const plaintext = await configFile('no-sasl', {
        'security.protocol': 'PLAINTEXT',
        'request.timeout.ms': '5000',
        'default.api.timeout.ms': '10000',
      });
      const listed = await tool(topicCommand, 'SASL_PLAINTEXT', [
        '--command-config',
        plaintext,
        '--list',
      ]);
      assert.notEqual(listed.code, 0);
      assert.ok(secure.logged('closing connection', 'before SASL authentication').length > 0);
    },
  );
});
