/**
 * Applies AlterConfigs and IncrementalAlterConfigs to one resource. Only topic configs can change:
 * broker settings are static in Tributary (they come from the command line), so a broker resource
 * gets INVALID_REQUEST with that reason. Every value is validated against Kafka's topic config
 * definitions before anything is written; unknown names (including any SASL/JAAS setting, see
 * CVE-2025-27819) are INVALID_CONFIG.
 */
import { ErrorCode } from '@tributary/protocol';
import {
  effectiveTopicConfig,
  topicConfigDefinitions,
  validateTopicConfig,
} from '@tributary/storage';
import type { BrokerRuntime } from './broker-runtime.ts';
import { ConfigOperation, ConfigResourceType } from './config-resources.ts';
import { toKafkaError, type KafkaError } from './kafka-errors.ts';

export interface ConfigChange {
  readonly name: string;
  readonly operation: number;
  readonly value: string | null;
}

export interface ChangeRequest {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly changes: readonly ConfigChange[];
  /** AlterConfigs semantics: overrides not named are removed. */
  readonly replaceAll: boolean;
  readonly validateOnly: boolean;
}

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
  if (request.resourceType !== ConfigResourceType.TOPIC) {
    return {
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: 'only topic configs can be altered; broker settings are static',
    };
  }
  const topic = runtime.storage.getTopic(request.resourceName);
  if (topic === undefined) {
    return {
      errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      errorMessage: 'topic does not exist',
    };
  }
  const effective = effectiveTopicConfig(topic);
  const updates: Record<string, string | null> = {};
  if (request.replaceAll) for (const name of Object.keys(topic.configs)) updates[name] = null;
  for (const change of request.changes) {
    if (!topicConfigDefinitions.has(change.name)) {
      return {
        errorCode: ErrorCode.INVALID_CONFIG,
        errorMessage: `unknown config '${change.name}'`,
      };
    }
    const value = resolveValue(change, effective[change.name]);
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

/** The new override value (null removes it), or an error. */
function resolveValue(
  change: ConfigChange,
  current: string | undefined,
): string | null | KafkaError {
  switch (change.operation) {
    case ConfigOperation.SET:
      return change.value;
    case ConfigOperation.DELETE:
      return null;
    case ConfigOperation.APPEND:
    case ConfigOperation.SUBTRACT: {
      const items = (current ?? '').split(',').filter((item) => item !== '');
      const given = (change.value ?? '').split(',').filter((item) => item !== '');
      const next =
        change.operation === ConfigOperation.APPEND
          ? [...items, ...given.filter((item) => !items.includes(item))]
          : items.filter((item) => !given.includes(item));
      return next.join(',');
    }
    default:
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `unknown operation ${change.operation}`,
      };
  }
}
