/**
 * CreateTopics (key 19), v2-7. Partition count -1 means `numPartitions`; manual assignments give
 * the count by their length. Replication factor is accepted and reported as 1: durability comes
 * from the WAL and the object store, not from copies on brokers (docs/adr/0002).
 * Config values are checked against Kafka's topic configs; `validateOnly` checks and creates nothing.
 * The partition limits (max.partitions.per.topic, max.partitions) are checked before creating,
 * then the creation policy (create.topic.policy.*, security/topic-policy.ts), which also names
 * the creating principal as the owner (tributary.owner) when none is given.
 */
import { ErrorCode, createTopicsApi, type CreateTopicsRequest } from '@tributary/protocol';
import { effectiveTopicConfig, validateTopicConfig, type TopicRecord } from '@tributary/storage';
import type { BrokerRuntime } from '../broker-runtime.ts';
import { ConfigSource } from '../config-resources.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, clusterResource, topicResource } from '../security/request-authorization.ts';
import { defineHandler, type RequestContext } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';
import { partitionLimitRefusal } from '../partition-limits.ts';
import { TopicPolicy } from '../security/topic-policy.ts';
import { collidingTopic, topicNameError } from '../topic-names.ts';

type CreatableTopic = CreateTopicsRequest['topics'][number];

interface CreateAnswer {
  name: string;
  topicId?: string;
  errorCode: number;
  errorMessage: string | null;
  numPartitions?: number;
  replicationFactor?: number;
  configs?: {
    name: string;
    value: string | null;
    readOnly: boolean;
    configSource: number;
    isSensitive: boolean;
  }[];
  /** v5+: why `configs` is left out. */
  topicConfigErrorCode?: number;
}

export const createTopicsHandler = defineHandler(createTopicsApi, async (context, request) => {
  const topics: CreateAnswer[] = [];
  const seen = new Set<string>();
  for (const wanted of request.topics) {
    if (seen.has(wanted.name)) {
      topics.push(
        refuse(wanted.name, ErrorCode.INVALID_REQUEST, 'topic named twice in one request'),
      );
      continue;
    }
    seen.add(wanted.name);
    if (!mayCreate(context, wanted.name)) {
      topics.push(
        refuse(wanted.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.'),
      );
      continue;
    }
    const created = await createOne(context, wanted, request.validateOnly);
    topics.push(withConfigsIfDescribable(context, created));
  }
  return { throttleTimeMs: 0, topics };
});

async function createOne(
  context: RequestContext,
  wanted: CreatableTopic,
  validateOnly: boolean,
): Promise<CreateAnswer> {
  const { runtime } = context;
  const nameError = topicNameError(wanted.name);
  if (nameError !== undefined)
    return refuse(wanted.name, ErrorCode.INVALID_TOPIC_EXCEPTION, nameError);
  if (runtime.storage.getTopic(wanted.name) !== undefined) {
    return refuse(
      wanted.name,
      ErrorCode.TOPIC_ALREADY_EXISTS,
      `topic '${wanted.name}' already exists`,
    );
  }
  const collision = collidingTopic(runtime.storage, wanted.name);
  if (collision !== undefined) {
    return refuse(
      wanted.name,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      `collides with topic '${collision}'`,
    );
  }
  const partitionCount = partitionCountOf(runtime, wanted);
  if (partitionCount <= 0) {
    return refuse(
      wanted.name,
      ErrorCode.INVALID_PARTITIONS,
      'number of partitions must be positive',
    );
  }
  const overLimit = partitionLimitRefusal(runtime, partitionCount, 0);
  if (overLimit !== undefined) {
    return refuse(wanted.name, overLimit.errorCode, overLimit.errorMessage);
  }
  if (wanted.replicationFactor === 0 || wanted.replicationFactor < -1) {
    return refuse(
      wanted.name,
      ErrorCode.INVALID_REPLICATION_FACTOR,
      'replication factor must be positive',
    );
  }
  const requested: Record<string, string> = {};
  for (const config of wanted.configs) {
    if (config.value === null) continue;
    const problem = validateTopicConfig(config.name, config.value);
    if (problem !== undefined) return refuse(wanted.name, ErrorCode.INVALID_CONFIG, problem);
    requested[config.name] = config.value;
  }
  const policy = (runtime.topicPolicy ?? TopicPolicy.none).checkCreate(
    { name: wanted.name, partitionCount, configs: requested },
    context.principal,
  );
  if ('errorCode' in policy) return refuse(wanted.name, policy.errorCode, policy.errorMessage);
  const { configs } = policy;
  if (validateOnly) {
    return describeCreated(runtime, wanted.name, undefined, { partitionCount, configs });
  }
  try {
    const topic = await runtime.storage.createTopic({ name: wanted.name, partitionCount, configs });
    runtime.log.info('created topic', { topic: topic.name, partitions: partitionCount });
    return describeCreated(runtime, topic.name, topic, { partitionCount, configs });
  } catch (error: unknown) {
    const { errorCode, errorMessage } = toKafkaError(error);
    return refuse(wanted.name, errorCode, errorMessage);
  }
}

function partitionCountOf(runtime: BrokerRuntime, wanted: CreatableTopic): number {
  if (wanted.assignments.length > 0) return wanted.assignments.length;
  return wanted.numPartitions === -1 ? runtime.config.numPartitions : wanted.numPartitions;
}

function describeCreated(
  runtime: BrokerRuntime,
  name: string,
  topic: TopicRecord | undefined,
  created: { partitionCount: number; configs: Readonly<Record<string, string>> },
): CreateAnswer {
  const { partitionCount, configs: overrides } = created;
  const effective = effectiveTopicConfig(
    topic ?? { name, topicId: '' as TopicRecord['topicId'], partitionCount, configs: overrides },
    runtime.storage.topicConfigDefaults,
  );
  return {
    name,
    ...(topic === undefined ? {} : { topicId: topic.topicId }),
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    numPartitions: partitionCount,
    replicationFactor: 1,
    configs: Object.entries(effective).map(([configName, value]) => ({
      name: configName,
      value,
      readOnly: false,
      configSource:
        configName in overrides
          ? ConfigSource.DYNAMIC_TOPIC_CONFIG
          : runtime.settings.topicDefaultSource(configName),
      isSensitive: false,
    })),
  };
}

/** Kafka: CREATE on the cluster, else on the topic. */
function mayCreate(context: RequestContext, name: string): boolean {
  const options = { logIfDenied: false };
  if (authorized(context, AclOperation.CREATE, clusterResource, options)) return true;
  return authorized(context, AclOperation.CREATE, topicResource(name));
}

/** Kafka shows a created topic's configs only to DESCRIBE_CONFIGS on it (v5+). */
function withConfigsIfDescribable(context: RequestContext, answer: CreateAnswer): CreateAnswer {
  if (answer.errorCode !== ErrorCode.NONE) return answer;
  if (authorized(context, AclOperation.DESCRIBE_CONFIGS, topicResource(answer.name))) return answer;
  const { configs: _hidden, ...rest } = answer;
  return { ...rest, topicConfigErrorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
}

function refuse(name: string, errorCode: number, errorMessage: string): CreateAnswer {
  return { name, errorCode, errorMessage, numPartitions: -1, replicationFactor: -1 };
}
