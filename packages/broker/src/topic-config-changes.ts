/**
 * Applies AlterConfigs and IncrementalAlterConfigs to one resource. Broker resources go to
 * config/broker-config-changes.ts (dynamic broker configs); topics are handled here. Every value
 * is validated against Kafka's topic config definitions before anything is written; unknown
 * names (including any SASL/JAAS setting, see CVE-2025-27819) are INVALID_CONFIG.
 */
import { ErrorCode } from '@tributary/protocol';
import {
  effectiveTopicConfig,
  topicConfigDefinitions,
  validateTopicConfig,
} from '@tributary/storage';
import type { BrokerRuntime } from './broker-runtime.ts';
import { applyBrokerConfigChanges } from './config/broker-config-changes.ts';
import { ConfigResourceType, resolveConfigValue, type ChangeRequest } from './config-resources.ts';
import { toKafkaError, type KafkaError } from './kafka-errors.ts';

const ok: KafkaError = { errorCode: ErrorCode.NONE, errorMessage: '' };

export interface ConfigResourceAnswer {
  resourceType: number;
  resourceName: string;
  errorCode: number;
  errorMessage: string | null;
}

/** Applies each resource's changes in turn and answers per resource, as both alter APIs do. */
export async function alterConfigResources(
  runtime: BrokerRuntime,
  requests: readonly ChangeRequest[],
): Promise<ConfigResourceAnswer[]> {
  const answers: ConfigResourceAnswer[] = [];
  for (const request of requests) {
    const result = await applyConfigChanges(runtime, request);
    answers.push({
      resourceType: request.resourceType,
      resourceName: request.resourceName,
      errorCode: result.errorCode,
      errorMessage: result.errorMessage === '' ? null : result.errorMessage,
    });
  }
  return answers;
}

export async function applyConfigChanges(
  runtime: BrokerRuntime,
  request: ChangeRequest,
): Promise<KafkaError> {
  if (request.resourceType === ConfigResourceType.BROKER) {
    return applyBrokerConfigChanges(runtime, request);
  }
  if (request.resourceType !== ConfigResourceType.TOPIC) {
    return {
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: 'only topic and broker configs can be altered',
    };
  }
  const topic = runtime.storage.getTopic(request.resourceName);
  if (topic === undefined) {
    return {
      errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      errorMessage: 'topic does not exist',
    };
  }
  const effective = effectiveTopicConfig(topic, runtime.storage.topicConfigDefaults);
  const updates: Record<string, string | null> = {};
  if (request.replaceAll) for (const name of Object.keys(topic.configs)) updates[name] = null;
  for (const change of request.changes) {
    if (!topicConfigDefinitions.has(change.name)) {
      return {
        errorCode: ErrorCode.INVALID_CONFIG,
        errorMessage: `unknown config '${change.name}'`,
      };
    }
    const value = resolveConfigValue(change, effective[change.name]);
    if (typeof value === 'object' && value !== null) return value;
    if (value !== null) {
      const problem = validateTopicConfig(change.name, value);
      if (problem !== undefined)
        return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: problem };
    }
    updates[change.name] = value;
  }
  if (request.validateOnly) return ok;
  try {
    await runtime.storage.alterTopicConfigs(topic.name, updates);
    runtime.log.info('altered topic configs', {
      topic: topic.name,
      changed: Object.keys(updates).length,
    });
    return ok;
  } catch (error: unknown) {
    return toKafkaError(error);
  }
}
