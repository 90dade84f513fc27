/**
 * DescribeConfigs (key 32), v1-4. Topics: every Kafka topic config with its effective value;
 * overrides have source DYNAMIC_TOPIC_CONFIG, the rest the source of the broker setting behind
 * their default (log.retention.ms ...: DYNAMIC_BROKER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG,
 * STATIC_BROKER_CONFIG) or DEFAULT_CONFIG. Brokers: this broker's node id lists every setting of
 * the catalogue (config/setting-catalogue.ts) with its source; "" (the cluster-wide default)
 * lists only the dynamic defaults set there, as Kafka does. Synonyms (v1+, when asked for) list
 * every layer that sets a broker setting, highest precedence first.
 */
import { ErrorCode, describeConfigsApi } from '@tributary/protocol';
import { effectiveTopicConfig, topicConfigDefinitions } from '@tributary/storage';
import type { BrokerRuntime } from '../broker-runtime.ts';
import type { DescribedSetting, SettingSynonym } from '../config/broker-settings.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { configResourceRefusal } from '../security/config-authorization.ts';
import { defineHandler } from '../handler.ts';
import { ConfigResourceType, ConfigSource, configTypeCode } from '../config-resources.ts';

interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: SettingSynonym[];
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
    const refusal = configResourceRefusal(context, AclOperation.DESCRIBE_CONFIGS, resource);
    if (refusal !== undefined) return { ...base, errorCode: refusal, configs: [] };
    const entries = describeResource(context.runtime, resource.resourceType, resource.resourceName);
    if ('errorCode' in entries) return { ...base, ...entries, configs: [] };
    const keys = resource.configurationKeys;
    const configs =
      keys === null || keys.length === 0 ? entries : entries.filter((e) => keys.includes(e.name));
    for (const config of configs) {
      if (!request.includeDocumentation) config.documentation = null;
      if (!request.includeSynonyms) config.synonyms = [];
    }
    return { ...base, configs };
  }),
}));

/** The entries of one resource, or an error. */
function describeResource(
  runtime: BrokerRuntime,
  type: number,
  name: string,
): ConfigEntry[] | { errorCode: number; errorMessage: string } {
  if (type === ConfigResourceType.TOPIC) {
    const topic = runtime.storage.getTopic(name);
    if (topic === undefined) {
      return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'no such topic' };
    }
    const effective = effectiveTopicConfig(topic, runtime.storage.topicConfigDefaults);
    return Object.entries(effective).map(([configName, value]) => {
      const definition = topicConfigDefinitions.get(configName);
      const source =
        configName in topic.configs
          ? ConfigSource.DYNAMIC_TOPIC_CONFIG
          : runtime.settings.topicDefaultSource(configName);
      return {
        name: configName,
        value,
        readOnly: false,
        configSource: source,
        isSensitive: false,
        synonyms: [],
        configType: configTypeCode(definition?.type),
        documentation: definition?.doc ?? null,
      };
    });
  }
  if (type === ConfigResourceType.BROKER) {
    if (name === '') return clusterDefaultEntries(runtime);
    if (name !== String(runtime.nodeId)) {
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `this broker is node ${runtime.nodeId}, not '${name}'`,
      };
    }
    return brokerEntries(runtime);
  }
  return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'unsupported resource type' };
}

function brokerEntries(runtime: BrokerRuntime): ConfigEntry[] {
  const identity = ['node.id', 'broker.id'].map((name) => ({
    name,
    value: String(runtime.nodeId),
    readOnly: true,
    configSource: ConfigSource.STATIC_BROKER_CONFIG,
    isSensitive: false,
    synonyms: [],
    configType: configTypeCode('int'),
    documentation: "This broker's id, stored in the data directory on first start.",
  }));
  return [...identity, ...runtime.settings.describe().map(entryOf)];
}

/** The cluster-wide default resource shows only what is set there. */
function clusterDefaultEntries(runtime: BrokerRuntime): ConfigEntry[] {
  const set = Object.keys(runtime.settings.dynamic('cluster-default'));
  return runtime.settings
    .describe()
    .filter((described) => set.includes(described.definition.name))
    .map((described) => {
      const synonyms = described.synonyms.filter(
        (synonym) => synonym.source !== ConfigSource.DYNAMIC_BROKER_CONFIG,
      );
      const head = synonyms[0];
      return entryOf({
        ...described,
        value: head?.value ?? null,
        source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
        synonyms,
      });
    });
}

function entryOf(described: DescribedSetting): ConfigEntry {
  const { definition } = described;
  return {
    name: definition.name,
    value: described.value,
    readOnly: !definition.dynamic,
    configSource: described.source,
    isSensitive: false,
    synonyms: [...described.synonyms],
    configType: configTypeCode(definition.type),
    documentation: definition.doc,
  };
}
