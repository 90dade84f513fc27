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
 * does. v10+ may ask by topic id. Authorized operations are not computed yet (no ACLs): the
 * "not requested" sentinel is returned unless asked, and then every operation.
 */
import { ErrorCode, metadataApi, type MetadataRequest } from '@tributary/protocol';
import type { TopicId, TopicRecord } from '@tributary/storage';
import type { BrokerRuntime } from '../broker-runtime.ts';
import { clientZoneOf, liveBrokersOf, shownLeadershipOf } from '../cluster/partition-routing.ts';
import { defineHandler } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';
import { isInternalTopic } from '../internal-topics.ts';
import { topicNameError } from '../topic-names.ts';

const OPERATIONS_NOT_REQUESTED = -2147483648;
/** Bits for READ..IDEMPOTENT_WRITE minus UNKNOWN/ANY: every operation Kafka defines on topics. */
const ALL_TOPIC_OPERATIONS = 0b1111_1111_1000;
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
  const { runtime, apiVersion } = context;
  const operations = request.includeTopicAuthorizedOperations
    ? ALL_TOPIC_OPERATIONS
    : OPERATIONS_NOT_REQUESTED;
  const zone = clientZoneOf(context.clientId);
  const topics = await answerTopics(runtime, request, apiVersion, zone);
  const brokers = liveBrokersOf(runtime);
  return {
    throttleTimeMs: 0,
    brokers,
    clusterId: runtime.clusterId,
    controllerId: brokers[0]?.nodeId ?? runtime.nodeId,
    topics: topics.map((topic) => ({ ...topic, topicAuthorizedOperations: operations })),
    clusterAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
    errorCode: ErrorCode.NONE,
  };
});

async function answerTopics(
  runtime: BrokerRuntime,
  request: MetadataRequest,
  apiVersion: number,
  zone: string | undefined,
): Promise<TopicAnswer[]> {
  const { storage } = runtime;
  // v0: an empty list means every topic; v1+: null means every topic.
  if (request.topics === null || (apiVersion === 0 && request.topics.length === 0)) {
    return storage.listTopics().map((topic) => describeTopic(runtime, topic, zone));
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
          : describeTopic(runtime, topic, zone),
      );
      continue;
    }
    answers.push(await answerNamedTopic(runtime, wanted.name, autoCreate, zone));
  }
  return answers;
}

async function answerNamedTopic(
  runtime: BrokerRuntime,
  name: string,
  autoCreate: boolean,
  zone: string | undefined,
): Promise<TopicAnswer> {
  const existing = runtime.storage.getTopic(name);
  if (existing !== undefined) return describeTopic(runtime, existing, zone);
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
