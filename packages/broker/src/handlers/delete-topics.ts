/**
 * DeleteTopics (key 20), v1-6. v0-5 name topics; v6 names them or gives their ids. The topic
 * disappears at once; storage collects its bytes in the background. Internal topics are refused
 * (INVALID_TOPIC_EXCEPTION).
 */
import { ErrorCode, deleteTopicsApi, type DeleteTopicsRequest } from '@tributary/protocol';
import type { TopicId, TopicRecord } from '@tributary/storage';
import type { BrokerRuntime } from '../broker-runtime.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, topicResource } from '../security/request-authorization.ts';
import { defineHandler, type RequestContext } from '../handler.ts';
import { isInternalTopic } from '../internal-topics.ts';
import { toKafkaError } from '../kafka-errors.ts';

interface Target {
  readonly name: string | null;
  readonly topicId: string;
}

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export const deleteTopicsHandler = defineHandler(deleteTopicsApi, async (context, request) => {
  const responses = [];
  for (const target of targets(request, context.apiVersion)) {
    const refused = deleteRefusal(context, target);
    responses.push(refused ?? (await deleteOne(context.runtime, target)));
  }
  return { throttleTimeMs: 0, responses };
});

function targets(request: DeleteTopicsRequest, apiVersion: number): Target[] {
  if (apiVersion >= 6) return request.topics.map(({ name, topicId }) => ({ name, topicId }));
  return request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
}

/**
 * Kafka: DELETE on the topic, checked before it is looked up when named; a topic named by an id
 * that exists is refused without its name.
 */
function deleteRefusal(context: RequestContext, target: Target) {
  const byName = target.name !== null && target.name !== '';
  const name = byName
    ? target.name
    : context.runtime.storage.getTopicById(target.topicId as TopicId)?.name;
  if (name === undefined || name === null) return undefined;
  if (authorized(context, AclOperation.DELETE, topicResource(name))) return undefined;
  return {
    name: byName ? name : null,
    topicId: target.topicId,
    errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    errorMessage: null,
  };
}

async function deleteOne(runtime: BrokerRuntime, target: Target) {
  let topic: TopicRecord | undefined;
  if (target.name !== null && target.name !== '') topic = runtime.storage.getTopic(target.name);
  else topic = runtime.storage.getTopicById(target.topicId as TopicId);
  if (topic === undefined) {
    const byId = target.name === null || target.name === '';
    return {
      name: target.name,
      topicId: target.topicId,
      errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      errorMessage: 'topic does not exist',
    };
  }
  if (isInternalTopic(topic.name)) {
    return {
      name: topic.name,
      topicId: topic.topicId,
      errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
      errorMessage: 'internal topics cannot be deleted',
    };
  }
  try {
    await runtime.storage.deleteTopic(topic.name);
    runtime.log.info('deleted topic', { topic: topic.name });
    return {
      name: topic.name,
      topicId: topic.topicId,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
    };
  } catch (error: unknown) {
    return { name: topic.name, topicId: topic.topicId, ...toKafkaError(error) };
  }
}
