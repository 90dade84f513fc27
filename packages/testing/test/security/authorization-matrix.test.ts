/**
 * ACL enforcement, table-driven: for each ACL set (with authorizer.class.name on), every
 * operation in its rows is run by a real client over TCP and must end with the expected verdict:
 * "ok" or Kafka's error name. Clients: kafkajs 2.2.4 (admin, producer, idempotent and
 * transactional producer, consumer group), @platformatic/kafka (admin) and kcat (librdkafka:
 * metadata listing, consuming with and without a group). The principal is User:ANONYMOUS (no
 * SASL on this listener), connecting from 127.0.0.1; rows cover super.users,
 * allow.everyone.if.no.acl.found, LITERAL/PREFIXED/`*` patterns, implied DESCRIBE, DENY winning
 * and host matching. "Nothing readable without permission": every row that reads a topic the
 * principal may not read must fail, and listings must leave such topics out.
 *
 * Each ACL set is stored in the metadata store of a broker started without an authorizer, then
 * the broker starts again on the same data directory with the authorizer on, which loads them;
 * the data (three topics with one record each) is written once before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Admin as PlatformaticAdmin } from '@platformatic/kafka';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import { startBroker, type Logger, type RunningBroker } from '@tributary/broker';
import type { AclBinding } from '@tributary/storage';
import {
  javaCommand,
  kcatPath,
  runCommand,
  scrapeMetric,
  systemPython,
  tempDir,
  type TempDir,
} from '@tributary/testing';

// Kafka's codes (ResourceType, PatternType, AclOperation, AclPermissionType).
const TOPIC = 2;
const GROUP = 3;
const CLUSTER = 4;
const TRANSACTIONAL_ID = 5;
const LITERAL = 3;
const PREFIXED = 4;
const ALL = 2;
const READ = 3;
const WRITE = 4;
const DENY = 2;
const ALLOW = 3;

const standardAuthorizer = 'org.apache.kafka.metadata.authorizer.StandardAuthorizer';
const topics = ['orders.in', 'orders.out', 'secret'];
const commandTimeoutMs = 30_000;

type Verdict = 'ok' | string;
type Operation = (broker: RunningBroker) => Promise<Verdict>;

interface Scenario {
  readonly name: string;
  readonly settings: Readonly<Record<string, string>>;
  readonly acls: readonly Partial<AclBinding>[];
  readonly rows: readonly (readonly [string, Operation, Verdict])[];
}

let dataDir: TempDir;

function binding(acl: Partial<AclBinding>): AclBinding {
  return {
    resourceType: TOPIC,
    resourceName: '*',
    patternType: LITERAL,
    principal: 'User:ANONYMOUS',
    host: '*',
    operation: ALL,
    permissionType: ALLOW,
    ...acl,
  };
}

/** Every log line of the brokers started with the authorizer on. */
const logged: { message: string; fields: Readonly<Record<string, unknown>> }[] = [];
const logger: Logger = {
  info: (message, fields = {}) => logged.push({ message, fields }),
  warn: () => {},
  error: () => {},
};

async function start(settings: Readonly<Record<string, string>>): Promise<RunningBroker> {
  return startBroker({
    port: 0,
    host: '127.0.0.1',
    dataDir: dataDir.path,
    quiet: true,
    ...(Object.keys(settings).length === 0 ? {} : { logger }),
    settings: new Map(
      Object.entries(settings).map(([name, value]) => [name, { value, origin: 'test' }]),
    ),
  });
}

/**
 * Authorization errors are not retriable in kafkajs, so one retry changes no verdict; without
 * it a kafkajs admin fails its first group call before it has read the broker list.
 */
function kafkaOf(broker: RunningBroker, clientId: string, retries = 1): Kafka {
  const config: KafkaConfig = {
    clientId,
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries, initialRetryTime: 50 },
  };
  return new Kafka(config);
}

/** The verdict of a client call: "ok", or the Kafka error name the client reports. */
async function verdictOf(run: () => Promise<unknown>): Promise<Verdict> {
  try {
    await run();
    return 'ok';
  } catch (error: unknown) {
    return errorName(error);
  }
}

function errorName(error: unknown): string {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current);
    const record = current as Record<string, unknown>;
    if (typeof record.type === 'string' && record.type.endsWith('FAILED')) return record.type;
    // kafkajs collects per-resource errors in `errors`, `groups[].error` or `partitions[].error`.
    const first = (list: unknown): unknown =>
      Array.isArray(list) ? (list[0] as { error?: unknown } | undefined)?.error : undefined;
    const inner = Array.isArray(record.errors)
      ? record.errors[0]
      : (first(record.groups) ?? first(record.partitions));
    current = record.originalError ?? record.cause ?? inner;
  }
  const text = String(error);
  const named = /([A-Z_]+_AUTHORIZATION_FAILED)/.exec(text)?.[1];
  // @platformatic/kafka reports Kafka's message for the code.
  const byMessage = /(Topic|Group|Cluster|Transactional Id) authorization failed/.exec(text)?.[1];
  const kind = byMessage?.toUpperCase().replace(' ', 'AL_');
  return named ?? (kind === undefined ? text : `${kind}_AUTHORIZATION_FAILED`);
}

const kafkajs = {
  produce:
    (topic: string, options: { idempotent?: boolean; autoCreate?: boolean } = {}): Operation =>
    async (broker) => {
      const producer = kafkaOf(broker, 'matrix-producer').producer({
        allowAutoTopicCreation: options.autoCreate ?? false,
        idempotent: options.idempotent ?? false,
        ...(options.idempotent === true ? { maxInFlightRequests: 1 } : {}),
      });
      try {
        return await verdictOf(async () => {
          await producer.connect();
          await producer.send({ topic, acks: -1, messages: [{ value: 'x' }] });
        });
      } finally {
        await producer.disconnect();
      }
    },
  transaction:
    (transactionalId: string, topic: string): Operation =>
    async (broker) => {
      const producer = kafkaOf(broker, 'matrix-txn').producer({
        transactionalId,
        idempotent: true,
        maxInFlightRequests: 1,
      });
      try {
        return await verdictOf(async () => {
          await producer.connect();
          const txn = await producer.transaction();
          await txn.send({ topic, messages: [{ value: 'in a transaction' }] });
          await txn.commit();
        });
      } finally {
        await producer.disconnect();
      }
    },
  listTopics: (): Operation => async (broker) => {
    const admin = kafkaOf(broker, 'matrix-admin').admin();
    try {
      await admin.connect();
      return (await admin.listTopics())
        .filter((t) => !t.startsWith('__'))
        .toSorted()
        .join(',');
    } finally {
      await admin.disconnect();
    }
  },
  admin:
    (call: (admin: ReturnType<Kafka['admin']>) => Promise<unknown>): Operation =>
    async (broker) => {
      const admin = kafkaOf(broker, 'matrix-admin').admin();
      try {
        return await verdictOf(async () => {
          await admin.connect();
          await call(admin);
        });
      } finally {
        await admin.disconnect();
      }
    },
  /** Joins `groupId`, reads `topic` from the start: "ok" once a record arrives. */
  consume:
    (topic: string, groupId: string): Operation =>
    async (broker) => {
      const consumer = kafkaOf(broker, 'matrix-consumer').consumer({
        groupId,
        retry: { retries: 0 },
      });
      try {
        return await verdictOf(async () => {
          await consumer.connect();
          await consumer.subscribe({ topic, fromBeginning: true });
          await new Promise<void>((resolve, reject) => {
            consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
            consumer.run({ eachMessage: () => Promise.resolve(resolve()) }).catch(reject);
          });
        });
      } finally {
        await consumer.disconnect();
      }
    },
};

async function withPlatformatic(
  broker: RunningBroker,
  use: (admin: PlatformaticAdmin) => Promise<Verdict>,
): Promise<Verdict> {
  const admin = new PlatformaticAdmin({
    clientId: 'matrix-platformatic',
    bootstrapBrokers: [broker.bootstrap],
    retries: 0,
  });
  try {
    return await use(admin);
  } finally {
    await admin.close();
  }
}

const platformatic = {
  listTopics: (): Operation => async (broker) => {
    const admin = new PlatformaticAdmin({
      clientId: 'matrix-platformatic',
      bootstrapBrokers: [broker.bootstrap],
      retries: 0,
    });
    try {
      const listed = await admin.listTopics();
      return listed
        .filter((t) => !t.startsWith('__'))
        .toSorted()
        .join(',');
    } finally {
      await admin.close();
    }
  },
  describeGroup:
    (group: string): Operation =>
    (broker) =>
      withPlatformatic(broker, (admin) =>
        verdictOf(() => admin.describeGroups({ groups: [group] })),
      ),
  listGroups: (): Operation => (broker) =>
    withPlatformatic(broker, async (admin) =>
      [...(await admin.listGroups()).keys()].toSorted().join(','),
    ),
  createTopic:
    (name: string): Operation =>
    async (broker) => {
      const admin = new PlatformaticAdmin({
        clientId: 'matrix-platformatic',
        bootstrapBrokers: [broker.bootstrap],
        retries: 0,
      });
      try {
        return await verdictOf(() => admin.createTopics({ topics: [name], partitions: 1 }));
      } finally {
        await admin.close();
      }
    },
};

/** librdkafka through confluent-kafka Python: a transaction of one record, or the error name. */
const confluentTransactionScript = `
import sys
from confluent_kafka import Producer, KafkaException
bootstrap, transactional_id, topic = sys.argv[1:4]
producer = Producer({'bootstrap.servers': bootstrap, 'transactional.id': transactional_id})
try:
    producer.init_transactions(15)
    producer.begin_transaction()
    producer.produce(topic, b'in a transaction')
    producer.commit_transaction(15)
    print('ok')
except KafkaException as error:
    print(error.args[0].name())
`;

const confluent = {
  transaction:
    (transactionalId: string, topic: string): Operation =>
    async (broker) => {
      const args = ['-c', confluentTransactionScript, broker.bootstrap, transactionalId, topic];
      const run = await runCommand(systemPython, args, { timeoutMs: commandTimeoutMs });
      return run.stdout.trim() === '' ? run.stderr.trim() : run.stdout.trim();
    },
};

const javaExceptions: readonly (readonly [RegExp, string])[] = [
  [/ClusterAuthorizationException/, 'CLUSTER_AUTHORIZATION_FAILED'],
  [/TopicAuthorizationException/, 'TOPIC_AUTHORIZATION_FAILED'],
  [/GroupAuthorizationException/, 'GROUP_AUTHORIZATION_FAILED'],
  [/TransactionalIdAuthorizationException/, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'],
];

/** Kafka's own tools (kafka-tools 4.4 on the Java client), run from their classes. */
const javaTool =
  (mainClass: string, args: readonly string[], show: (stdout: string) => string): Operation =>
  async (broker) => {
    const java = javaCommand(mainClass, ['--bootstrap-server', broker.bootstrap, ...args]);
    const run = await runCommand(java.command, java.args, { timeoutMs: 2 * commandTimeoutMs });
    const output = run.stdout + run.stderr;
    const refused = javaExceptions.find(([pattern]) => pattern.test(output));
    if (refused !== undefined) return refused[1];
    return run.code === 0 ? show(run.stdout) : `exit ${run.code}: ${output}`;
  };

const java = {
  listTopics: (): Operation =>
    javaTool('org.apache.kafka.tools.TopicCommand', ['--list'], (stdout) =>
      stdout
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('__'))
        .toSorted()
        .join(','),
    ),
  listAcls: (): Operation => javaTool('org.apache.kafka.tools.AclCommand', ['--list'], () => 'ok'),
  addAcl: (): Operation =>
    javaTool(
      'org.apache.kafka.tools.AclCommand',
      ['--add', '--allow-principal', 'User:bob', '--operation', 'Read', '--topic', 'orders.in'],
      () => 'ok',
    ),
};

const kcat = {
  /** Topics librdkafka's metadata request lists (-L -J), internal ones left out. */
  listTopics: (): Operation => async (broker) => {
    const run = await runCommand(kcatPath, ['-b', broker.bootstrap, '-L', '-J'], {
      timeoutMs: commandTimeoutMs,
    });
    const listed = JSON.parse(run.stdout) as { topics: { topic: string; error?: string }[] };
    return listed.topics
      .filter((t) => !t.topic.startsWith('__') && t.error === undefined)
      .map((t) => t.topic)
      .toSorted()
      .join(',');
  },
  /** Reads partition 0 from the start (no group), or with `-G group`: "ok" when a record came. */
  consume:
    (topic: string, group?: string): Operation =>
    async (broker) => {
      const args =
        group === undefined
          ? ['-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-c', '1']
          : ['-G', group, '-o', 'beginning', '-e', '-c', '1', topic];
      const run = await runCommand(kcatPath, ['-b', broker.bootstrap, '-q', ...args], {
        timeoutMs: commandTimeoutMs,
      });
      if (run.stdout.trim() === 'seed') return 'ok';
      if (/authoriz/i.test(run.stderr)) {
        if (/group/i.test(run.stderr)) return 'GROUP_AUTHORIZATION_FAILED';
        return 'TOPIC_AUTHORIZATION_FAILED';
      }
      return `stdout=${run.stdout.trim()} stderr=${run.stderr.trim()}`;
    },
};

/** tributary_authorizer_denials_total on /metrics: "counted" once it is above 0. */
const deniedOnMetrics = (): Operation => async (broker) => {
  assert.ok(broker.metrics !== undefined, 'metrics.listen is set');
  const url = `http://${broker.metrics.host}:${broker.metrics.port}/metrics`;
  const count = await scrapeMetric(url, 'tributary_authorizer_denials_total');
  return count !== undefined && count > 0 ? 'counted' : `not counted: ${count}`;
};

const everyTopic = topics.join(',');
const on = { 'authorizer.class.name': standardAuthorizer };

const scenarios: readonly Scenario[] = [
  {
    name: 'authorizer on, no ACL: nothing is allowed',
    settings: { ...on, 'metrics.listen': '127.0.0.1:0' },
    acls: [],
    rows: [
      ['kafkajs listTopics', kafkajs.listTopics(), ''],
      ['platformatic listTopics', platformatic.listTopics(), ''],
      ['kcat -L', kcat.listTopics(), ''],
      ['kafkajs produce', kafkajs.produce('orders.in'), 'TOPIC_AUTHORIZATION_FAILED'],
      ['kcat consume', kcat.consume('orders.in'), 'TOPIC_AUTHORIZATION_FAILED'],
      // Metadata for the subscription is refused before the group is joined, as by Kafka.
      ['kafkajs consume', kafkajs.consume('orders.in', 'g.ok'), 'TOPIC_AUTHORIZATION_FAILED'],
      // librdkafka looks for the group's coordinator first.
      ['kcat consume in a group', kcat.consume('orders.in', 'g.ok'), 'GROUP_AUTHORIZATION_FAILED'],
      [
        'kafkajs idempotent produce',
        kafkajs.produce('orders.in', { idempotent: true }),
        'CLUSTER_AUTHORIZATION_FAILED',
      ],
      // kafkajs asks for an idempotent producer id first, without the transactional id.
      [
        'kafkajs transaction',
        kafkajs.transaction('tx.ok', 'orders.in'),
        'CLUSTER_AUTHORIZATION_FAILED',
      ],
      [
        'confluent-kafka transaction',
        confluent.transaction('tx.ok', 'orders.in'),
        'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
      ],
      ['platformatic createTopics', platformatic.createTopic('new'), 'TOPIC_AUTHORIZATION_FAILED'],
      ['kafka-topics --list', java.listTopics(), ''],
      ['kafka-acls --list', java.listAcls(), 'CLUSTER_AUTHORIZATION_FAILED'],
      ['GET /metrics', deniedOnMetrics(), 'counted'],
      [
        'kafkajs describeAcls',
        kafkajs.admin((admin) =>
          admin.describeAcls({
            resourceType: 1,
            resourcePatternType: 1,
            operation: 1,
            permissionType: 1,
          }),
        ),
        'CLUSTER_AUTHORIZATION_FAILED',
      ],
      [
        'kafkajs createAcls',
        kafkajs.admin((admin) => admin.createAcls({ acl: [kafkajsAcl('orders.in')] })),
        'CLUSTER_AUTHORIZATION_FAILED',
      ],
    ],
  },
  {
    name: 'super.users: User:ANONYMOUS may do anything',
    settings: { ...on, 'super.users': 'User:admin;User:ANONYMOUS' },
    acls: [binding({ permissionType: DENY })],
    rows: [
      ['kafkajs listTopics', kafkajs.listTopics(), everyTopic],
      ['kafkajs produce', kafkajs.produce('secret'), 'ok'],
      ['kcat consume', kcat.consume('secret'), 'ok'],
      ['kafkajs consume', kafkajs.consume('secret', 'g.any'), 'ok'],
      ['kafkajs transaction', kafkajs.transaction('tx.any', 'secret'), 'ok'],
      ['confluent-kafka transaction', confluent.transaction('tx.any', 'secret'), 'ok'],
      [
        'kafkajs createAcls',
        kafkajs.admin((admin) => admin.createAcls({ acl: [kafkajsAcl('unused')] })),
        'ok',
      ],
    ],
  },
  {
    name: 'allow.everyone.if.no.acl.found: only resources with ACLs are guarded',
    settings: { ...on, 'allow.everyone.if.no.acl.found': 'true' },
    acls: [binding({ resourceName: 'secret', principal: 'User:*', permissionType: DENY })],
    rows: [
      ['kafkajs listTopics', kafkajs.listTopics(), 'orders.in,orders.out'],
      ['kcat -L', kcat.listTopics(), 'orders.in,orders.out'],
      ['kafkajs produce orders.in', kafkajs.produce('orders.in'), 'ok'],
      ['kafkajs produce secret', kafkajs.produce('secret'), 'TOPIC_AUTHORIZATION_FAILED'],
      ['kcat consume orders.out', kcat.consume('orders.out'), 'ok'],
      ['kcat consume secret', kcat.consume('secret'), 'TOPIC_AUTHORIZATION_FAILED'],
    ],
  },
  {
    name: 'prefixed, literal and implied permissions per resource type',
    settings: on,
    acls: [
      binding({ resourceName: 'orders.', patternType: PREFIXED, operation: READ }),
      binding({ resourceName: 'orders.in', operation: WRITE }),
      binding({ resourceType: GROUP, resourceName: 'g.ok', operation: READ }),
      binding({ resourceType: TRANSACTIONAL_ID, resourceName: 'tx.ok', operation: WRITE }),
    ],
    rows: [
      ['kafkajs listTopics (READ implies DESCRIBE)', kafkajs.listTopics(), 'orders.in,orders.out'],
      ['platformatic listTopics', platformatic.listTopics(), 'orders.in,orders.out'],
      ['kcat -L', kcat.listTopics(), 'orders.in,orders.out'],
      ['kafka-topics --list', java.listTopics(), 'orders.in,orders.out'],
      ['kafkajs produce orders.in', kafkajs.produce('orders.in'), 'ok'],
      ['kafkajs produce orders.out', kafkajs.produce('orders.out'), 'TOPIC_AUTHORIZATION_FAILED'],
      [
        'kafkajs produce auto-creating orders.auto (DESCRIBE but no CREATE)',
        kafkajs.produce('orders.auto', { autoCreate: true }),
        'TOPIC_AUTHORIZATION_FAILED',
      ],
      ['kafkajs produce secret', kafkajs.produce('secret'), 'TOPIC_AUTHORIZATION_FAILED'],
      ['kcat consume orders.out', kcat.consume('orders.out'), 'ok'],
      ['kcat consume secret', kcat.consume('secret'), 'TOPIC_AUTHORIZATION_FAILED'],
      ['kcat consume in group g.ok', kcat.consume('orders.out', 'g.ok'), 'ok'],
      ['kafkajs consume in group g.ok', kafkajs.consume('orders.in', 'g.ok'), 'ok'],
      [
        'kcat consume in group g.no',
        kcat.consume('orders.in', 'g.no'),
        'GROUP_AUTHORIZATION_FAILED',
      ],
      // kafkajs drops FindCoordinator's error code and reports that it found no coordinator.
      [
        'kafkajs consume in group g.no',
        kafkajs.consume('orders.in', 'g.no'),
        'KafkaJSGroupCoordinatorNotFound: Failed to find group coordinator',
      ],
      [
        'kafkajs idempotent produce (WRITE on some topic)',
        kafkajs.produce('orders.in', { idempotent: true }),
        'ok',
      ],
      ['kafkajs transaction tx.ok', kafkajs.transaction('tx.ok', 'orders.in'), 'ok'],
      ['confluent-kafka transaction tx.ok', confluent.transaction('tx.ok', 'orders.in'), 'ok'],
      [
        'confluent-kafka transaction tx.no',
        confluent.transaction('tx.no', 'orders.in'),
        'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
      ],
      [
        'kafkajs deleteTopics',
        kafkajs.admin((admin) => admin.deleteTopics({ topics: ['orders.in'] })),
        'TOPIC_AUTHORIZATION_FAILED',
      ],
      [
        'platformatic createTopics',
        platformatic.createTopic('orders.new'),
        'TOPIC_AUTHORIZATION_FAILED',
      ],
      [
        'kafkajs describeConfigs',
        kafkajs.admin((admin) =>
          admin.describeConfigs({
            resources: [{ type: 2, name: 'orders.in' }],
            includeSynonyms: false,
          }),
        ),
        'TOPIC_AUTHORIZATION_FAILED',
      ],
      [
        'kafkajs createPartitions (needs ALTER)',
        kafkajs.admin((admin) =>
          admin.createPartitions({ topicPartitions: [{ topic: 'orders.in', count: 2 }] }),
        ),
        'TOPIC_AUTHORIZATION_FAILED',
      ],
      [
        'kafkajs deleteTopicRecords (needs DELETE)',
        // kafkajs needs the topic's metadata loaded first.
        kafkajs.admin(async (admin) => {
          await admin.fetchTopicMetadata({ topics: ['orders.out'] });
          await admin.deleteTopicRecords({
            topic: 'orders.out',
            partitions: [{ partition: 0, offset: '-1' }],
          });
        }),
        'TOPIC_AUTHORIZATION_FAILED',
      ],
      [
        'kafkajs alterConfigs (needs ALTER_CONFIGS)',
        kafkajs.admin((admin) =>
          admin.alterConfigs({
            resources: [
              {
                type: 2,
                name: 'orders.in',
                configEntries: [{ name: 'retention.ms', value: '60000' }],
              },
            ],
            validateOnly: false,
          }),
        ),
        'TOPIC_AUTHORIZATION_FAILED',
      ],
      [
        'kafkajs describeConfigs of the broker (needs DESCRIBE_CONFIGS on the cluster)',
        kafkajs.admin((admin) =>
          admin.describeConfigs({ resources: [{ type: 4, name: '0' }], includeSynonyms: false }),
        ),
        'CLUSTER_AUTHORIZATION_FAILED',
      ],
      [
        'kafkajs fetchTopicOffsets orders.out (ListOffsets, READ implies DESCRIBE)',
        kafkajs.admin((admin) => admin.fetchTopicOffsets('orders.out')),
        'ok',
      ],
      [
        'kafkajs deleteGroups g.ok (READ is not DELETE)',
        kafkajs.admin((admin) => admin.deleteGroups(['g.ok'])),
        'GROUP_AUTHORIZATION_FAILED',
      ],
      [
        'kafkajs fetchOffsets of g.ok',
        kafkajs.admin((admin) => admin.fetchOffsets({ groupId: 'g.ok', topics: ['orders.in'] })),
        'ok',
      ],
      [
        'kafkajs fetchOffsets of g.no',
        kafkajs.admin((admin) => admin.fetchOffsets({ groupId: 'g.no', topics: ['orders.in'] })),
        'KafkaJSGroupCoordinatorNotFound: Failed to find group coordinator',
      ],
      ['platformatic describeGroups g.ok', platformatic.describeGroup('g.ok'), 'ok'],
      [
        'platformatic describeGroups g.no',
        platformatic.describeGroup('g.no'),
        'GROUP_AUTHORIZATION_FAILED',
      ],
      ['platformatic listGroups (only those one may DESCRIBE)', platformatic.listGroups(), 'g.ok'],
    ],
  },
  {
    name: 'DENY wins; DENY READ leaves DESCRIBE; ACLs for another host do not apply',
    settings: on,
    acls: [
      binding({ host: '127.0.0.1' }),
      binding({
        resourceName: 'orders.in',
        principal: 'User:*',
        operation: READ,
        permissionType: DENY,
      }),
      binding({ resourceName: 'secret', host: '10.1.2.3', permissionType: DENY }),
      binding({ resourceType: GROUP, host: '10.1.2.3', operation: READ }),
    ],
    rows: [
      ['kafkajs listTopics', kafkajs.listTopics(), everyTopic],
      ['kcat consume orders.in', kcat.consume('orders.in'), 'TOPIC_AUTHORIZATION_FAILED'],
      ['kcat consume orders.out', kcat.consume('orders.out'), 'ok'],
      ['kafkajs produce orders.in', kafkajs.produce('orders.in'), 'ok'],
      ['kafkajs produce secret', kafkajs.produce('secret'), 'ok'],
      [
        'kcat consume in a group (its ACL is for 10.1.2.3)',
        kcat.consume('orders.out', 'g.ok'),
        'GROUP_AUTHORIZATION_FAILED',
      ],
    ],
  },
  {
    name: 'cluster ACLs: ALTER manages ACLs, DESCRIBE lists them, DELETE deletes any topic',
    settings: on,
    acls: [
      binding({ resourceType: CLUSTER, resourceName: 'kafka-cluster', operation: 7 }),
      binding({ resourceType: CLUSTER, resourceName: 'kafka-cluster', operation: 6 }),
      binding({ resourceName: 'auto.', patternType: PREFIXED, operation: 5 }),
      binding({ resourceName: 'auto.', patternType: PREFIXED, operation: WRITE }),
    ],
    rows: [
      [
        'kafkajs createAcls',
        kafkajs.admin((admin) => admin.createAcls({ acl: [kafkajsAcl('orders.in')] })),
        'ok',
      ],
      [
        'kafkajs describeAcls (ALTER implies DESCRIBE)',
        kafkajs.admin((admin) =>
          admin.describeAcls({
            resourceType: 1,
            resourcePatternType: 1,
            operation: 1,
            permissionType: 1,
          }),
        ),
        'ok',
      ],
      ['kcat consume', kcat.consume('orders.in'), 'TOPIC_AUTHORIZATION_FAILED'],
      ['kafka-acls --add', java.addAcl(), 'ok'],
      [
        'kafkajs produce auto-creating auto.new (CREATE on the topic)',
        kafkajs.produce('auto.new', { autoCreate: true }),
        'ok',
      ],
      [
        'kafkajs deleteTopics (DELETE on the cluster covers every topic)',
        kafkajs.admin((admin) => admin.deleteTopics({ topics: ['auto.new'] })),
        'ok',
      ],
      ['kafka-acls --list', java.listAcls(), 'ok'],
    ],
  },
];

/** A kafkajs ACL entry (READ on a topic for someone else: it changes no verdict here). */
function kafkajsAcl(topic: string) {
  return {
    resourceType: TOPIC,
    resourceName: topic,
    resourcePatternType: LITERAL,
    principal: 'User:someone-else',
    host: '*',
    operation: READ,
    permissionType: ALLOW,
  };
}

/** Stores `acls` as the only ACLs, with the broker open (no authorizer). */
async function storeAcls(acls: readonly Partial<AclBinding>[]): Promise<void> {
  const broker = await start({});
  try {
    await broker.storage.deleteAcls(await broker.storage.listAcls());
    await broker.storage.createAcls(acls.map(binding));
  } finally {
    await broker.close();
  }
}

before(async () => {
  dataDir = await tempDir('authorization-matrix');
  const broker = await start({});
  const kafka = kafkaOf(broker, 'matrix-seed');
  const admin = kafka.admin();
  const producer = kafka.producer();
  try {
    await admin.connect();
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 1 })) });
    await producer.connect();
    for (const topic of topics) await producer.send({ topic, messages: [{ value: 'seed' }] });
  } finally {
    await producer.disconnect();
    await admin.disconnect();
    await broker.close();
  }
});

after(async () => {
  await dataDir.remove();
});

for (const scenario of scenarios) {
  describe(scenario.name, () => {
    let broker: RunningBroker;
    before(async () => {
      await storeAcls(scenario.acls);
      broker = await start(scenario.settings);
    });
    after(async () => {
      await broker.close();
    });
    for (const [name, operation, expected] of scenario.rows) {
      test(`${name} -> ${expected === '' ? '(nothing listed)' : expected}`, async () => {
        assert.equal(await operation(broker), expected);
      });
    }
  });
}

test('denials are logged with principal, operation, resource and peer', () => {
  const denial = logged.find(
    ({ message, fields }) =>
      message === 'authorization denied' &&
      fields.operation === 'WRITE' &&
      fields.resourceType === 'TOPIC' &&
      fields.resource === 'orders.out',
  );
  assert.ok(denial !== undefined, 'a denied produce to orders.out was logged');
  assert.equal(denial.fields.principal, 'User:ANONYMOUS');
  assert.match(String(denial.fields.peer), /^127\.0\.0\.1:\d+$/);
});
