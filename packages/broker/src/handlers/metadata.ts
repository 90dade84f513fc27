/**
 * Metadata (key 3), v0-12. Embedded, this broker leads every partition at epoch 0; in cluster
 * mode each partition names its lease holder and epoch, and every live broker as a replica in
 * sync (any of them serves reads from shared storage: cluster/partition-routing.ts). A client
 * that names its zone (`zone=<rack>` in client.id) is shown, for a partition led in another
 * zone, a broker of its own zone as leader: that broker takes its produce and forwards only the
 * batches' locations (zone routing), and serves its fetches.
 *
 * Topics requested by name that do not exist are created when the request allows it (v4+ flag,
 * always before v4) and `autoCreateTopicsEnable` is on, with `numPartitions` partitions, as Kafka
 * does. v10+ may ask by topic id.
 *
 * Authorization, as Kafka's KafkaApis: a listing of every topic leaves out those the principal
 * may not DESCRIBE; a topic asked for by name or id that it may not DESCRIBE answers
 * TOPIC_AUTHORIZATION_FAILED (whether it exists or not, for names); auto-creation needs CREATE on
 * the cluster or on the topic. Authorized operations are computed when asked for.
 */
import { ErrorCode, metadataApi, type MetadataRequest } from '@tributary/protocol';
import type { TopicId, TopicRecord } from '@tributary/storage';
import type { BrokerRuntime } from '../broker-runtime.ts';
import { clientZoneOf, liveBrokersOf, shownLeadershipOf } from '../cluster/partition-routing.ts';
import { defineHandler, type RequestContext } from '../handler.ts';
import { AclOperation } from '../security/acl-codes.ts';
import {
  authorized,
  authorizedOperations,
  clusterOperations,
  clusterResource,
  topicOperations,
  topicResource,
  type AuthorizeOptions,
} from '../security/request-authorization.ts';
import { toKafkaError } from '../kafka-errors.ts';
import { isInternalTopic } from '../internal-topics.ts';
import { topicNameError } from '../topic-names.ts';

const OPERATIONS_NOT_REQUESTED = -2147483648;
const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

type TopicAnswer = {
  errorCode: number;
  name: string | null;
  topicId: string;
  isInternal: boolean;
  partitions: {
    errorCode: number;
    partitionIndex: number;
    leaderId: number;
    leaderEpoch: number;
    replicaNodes: number[];
    isrNodes: number[];
    offlineReplicas: number[];
  }[];
  topicAuthorizedOperations: number;
};

export const metadataHandler = defineHandler(metadataApi, async (context, request) => {
  const { runtime } = context;
  const operationsOf = (topic: TopicAnswer): number =>
    request.includeTopicAuthorizedOperations && topic.errorCode === ErrorCode.NONE
      ? authorizedOperations(context, topicResource(topic.name ?? ''), topicOperations)
      : OPERATIONS_NOT_REQUESTED;
  const zone = clientZoneOf(context.clientId);
  const topics = await answerTopics(context, request, zone);
  const brokers = liveBrokersOf(runtime);
  return {
    throttleTimeMs: 0,
    brokers,
    clusterId: runtime.clusterId,
    controllerId: brokers[0]?.nodeId ?? runtime.nodeId,
    topics: topics.map((topic) => ({ ...topic, topicAuthorizedOperations: operationsOf(topic) })),
    clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
      ? clusterOperationsOf(context)
      : OPERATIONS_NOT_REQUESTED,
    errorCode: ErrorCode.NONE,
  };
});

/** Kafka lists every cluster operation to a principal that may DESCRIBE the cluster, else 0. */
function clusterOperationsOf(context: RequestContext): number {
  if (!authorized(context, AclOperation.DESCRIBE, clusterResource)) return 0;
  return authorizedOperations(context, clusterResource, clusterOperations);
}

async function answerTopics(
  context: RequestContext,
  request: MetadataRequest,
  zone: string | undefined,
): Promise<TopicAnswer[]> {
  const { runtime, apiVersion } = context;
  const { storage } = runtime;
  const describable = (name: string, options?: AuthorizeOptions): boolean =>
    authorized(context, AclOperation.DESCRIBE, topicResource(name), options);
  // v0: an empty list means every topic; v1+: null means every topic.
  if (request.topics === null || (apiVersion === 0 && request.topics.length === 0)) {
    return storage
      .listTopics()
      .filter((topic) => describable(topic.name, { logIfDenied: false }))
      .map((topic) => describeTopic(runtime, topic, zone));
  }
  const autoCreate =
    runtime.config.autoCreateTopicsEnable && (apiVersion < 4 || request.allowAutoTopicCreation);
  const answers: TopicAnswer[] = [];
  for (const wanted of request.topics) {
    if (wanted.name === null || wanted.name === '') {
      const topic = storage.getTopicById(wanted.topicId as TopicId);
      answers.push(
        topic === undefined
          ? missing(ErrorCode.UNKNOWN_TOPIC_ID, null, wanted.topicId)
          : describable(topic.name)
            ? describeTopic(runtime, topic, zone)
            : missing(ErrorCode.TOPIC_AUTHORIZATION_FAILED, null, topic.topicId),
      );
      continue;
    }
    if (!describable(wanted.name)) {
      answers.push(missing(ErrorCode.TOPIC_AUTHORIZATION_FAILED, wanted.name));
      continue;
    }
    const creatable = autoCreate && mayCreateTopic(context, wanted.name);
    answers.push(await answerNamedTopic(runtime, wanted.name, creatable, zone));
  }
  return answers;
}

/** Kafka's auto-creation check: CREATE on the cluster, else on the topic. */
function mayCreateTopic(context: RequestContext, name: string): boolean | 'denied' {
  if (context.runtime.storage.getTopic(name) !== undefined) return true;
  if (authorized(context, AclOperation.CREATE, clusterResource, { logIfDenied: false })) {
    return true;
  }
  return authorized(context, AclOperation.CREATE, topicResource(name)) ? true : 'denied';
}

async function answerNamedTopic(
  runtime: BrokerRuntime,
  name: string,
  autoCreate: boolean | 'denied',
  zone: string | undefined,
): Promise<TopicAnswer> {
  const existing = runtime.storage.getTopic(name);
  if (existing !== undefined) return describeTopic(runtime, existing, zone);
  if (autoCreate === 'denied') {
    const answer = missing(ErrorCode.TOPIC_AUTHORIZATION_FAILED, name);
    return { ...answer, isInternal: isInternalTopic(name) };
  }
  if (topicNameError(name) !== undefined) return missing(ErrorCode.INVALID_TOPIC_EXCEPTION, name);
  if (!autoCreate) return missing(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name);
  try {
    const created = await runtime.storage.createTopic({
      name,
      partitionCount: runtime.config.numPartitions,
    });
    runtime.log.info('auto-created topic', { topic: name });
    return describeTopic(runtime, created, zone);
  } catch (error: unknown) {
    const again = runtime.storage.getTopic(name); // created concurrently by another request
    if (again !== undefined) return describeTopic(runtime, again, zone);
    return missing(toKafkaError(error).errorCode, name);
  }
}

function missing(errorCode: number, name: string | null, topicId = ZERO_UUID): TopicAnswer {
  return {
    errorCode,
    name,
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
  };
}

/** A topic as a client in `zone` sees it: leaders in its zone where zone routing applies. */
function describeTopic(
  runtime: BrokerRuntime,
  topic: TopicRecord,
  zone: string | undefined,
): TopicAnswer {
  const nodes = liveBrokersOf(runtime).map((broker) => broker.nodeId);
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: isInternalTopic(topic.name),
    partitions: Array.from({ length: topic.partitionCount }, (_, partitionIndex) => {
      const shown = shownLeadershipOf(runtime, zone, topic.topicId, partitionIndex);
      const { leaderId, leaderEpoch } = shown;
      const replicas = leaderId < 0 ? nodes : [leaderId, ...nodes.filter((n) => n !== leaderId)];
      return {
        errorCode: leaderId < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
        partitionIndex,
        leaderId,
        leaderEpoch,
        replicaNodes: replicas,
        isrNodes: replicas,
        offlineReplicas: [],
      };
    }),
    topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
  };
}
