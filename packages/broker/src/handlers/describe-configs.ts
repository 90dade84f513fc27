/**
 * DescribeConfigs (key 32), v1-4. Topics: every Kafka topic config with its effective value;
 * overrides have source DYNAMIC_TOPIC_CONFIG, the rest DEFAULT_CONFIG. Brokers: the broker
 * settings that clients commonly read, as STATIC_BROKER_CONFIG. Synonyms are not listed yet.
 */
import { ErrorCode, describeConfigsApi } from '@tributary/protocol';
import { effectiveTopicConfig, topicConfigDefinitions } from '@tributary/storage';
import type { BrokerRuntime } from '../broker-runtime.ts';
import { defineHandler } from '../handler.ts';
import { ConfigResourceType, ConfigSource, configTypeCode } from '../config-resources.ts';

interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: never[];
  configType: number;
  documentation: string | null;
}

export const describeConfigsHandler = defineHandler(describeConfigsApi, (context, request) => ({
  throttleTimeMs: 0,
  results: request.resources.map((resource) => {
    const base = {
      resourceType: resource.resourceType,
      resourceName: resource.resourceName,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
    };
    const entries = describeResource(context.runtime, resource.resourceType, resource.resourceName);
    if (typeof entries === 'number') {
      return { ...base, errorCode: entries, errorMessage: 'no such resource', configs: [] };
    }
    const keys = resource.configurationKeys;
    const configs =
      keys === null || keys.length === 0 ? entries : entries.filter((e) => keys.includes(e.name));
    if (!request.includeDocumentation) for (const config of configs) config.documentation = null;
    return { ...base, configs };
  }),
}));

/** The entries of one resource, or an error code. */
function describeResource(
  runtime: BrokerRuntime,
  type: number,
  name: string,
): ConfigEntry[] | number {
  if (type === ConfigResourceType.TOPIC) {
    const topic = runtime.storage.getTopic(name);
    if (topic === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    return Object.entries(effectiveTopicConfig(topic)).map(([configName, value]) => {
      const definition = topicConfigDefinitions.get(configName);
      return entry(configName, value, {
        source:
          configName in topic.configs
            ? ConfigSource.DYNAMIC_TOPIC_CONFIG
            : ConfigSource.DEFAULT_CONFIG,
        type: definition?.type,
        documentation: definition?.doc,
      });
    });
  }
  if (type === ConfigResourceType.BROKER) {
    if (name !== '' && name !== String(runtime.nodeId)) return ErrorCode.INVALID_REQUEST;
    return brokerEntries(runtime);
  }
  return ErrorCode.INVALID_REQUEST;
}

function brokerEntries(runtime: BrokerRuntime): ConfigEntry[] {
  const { config } = runtime;
  const values: [string, string, string][] = [
    ['broker.id', String(runtime.nodeId), 'int'],
    ['node.id', String(runtime.nodeId), 'int'],
    ['auto.create.topics.enable', String(config.autoCreateTopicsEnable), 'boolean'],
    ['num.partitions', String(config.numPartitions), 'int'],
    ['default.replication.factor', '1', 'short'],
    ['socket.request.max.bytes', String(config.socketRequestMaxBytes), 'int'],
    ['queued.max.requests', String(config.connectionInFlightMaxRequests), 'int'],
    ['connections.max.idle.ms', String(config.connectionsMaxIdleMs), 'long'],
    ['fetch.max.bytes', String(config.fetchMaxBytes), 'int'],
    ['message.max.bytes', '1048588', 'int'],
  ];
  return values.map(([name, value, type]) =>
    entry(name, value, {
      source: ConfigSource.STATIC_BROKER_CONFIG,
      type,
      documentation: undefined,
    }),
  );
}

function entry(
  name: string,
  value: string,
  meta: { source: number; type: string | undefined; documentation: string | undefined },
): ConfigEntry {
  return {
    name,
    value,
    readOnly: meta.source === ConfigSource.STATIC_BROKER_CONFIG,
    configSource: meta.source,
    isSensitive: false,
    synonyms: [],
    configType: configTypeCode(meta.type),
    documentation: meta.documentation ?? null,
  };
}
