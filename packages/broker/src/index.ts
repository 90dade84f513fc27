// Public surface of @tributary/broker.
export {
  startBroker,
  type BoundListenerInfo,
  type RunningBroker,
  type StartBrokerOptions,
} from './broker.ts';
export { defaultBrokerConfig, type BrokerConfig } from './broker-config.ts';
export {
  envNameOf,
  envNamesOf,
  expectedOf,
  listenerPattern,
  settingCatalogue,
  type SettingDefinition,
} from './config/setting-catalogue.ts';
export {
  parseOverride,
  resolveStaticSettings,
  SettingsError,
  type SettingAssignment,
  type StaticSetting,
  type StaticSettings,
} from './config/static-settings.ts';
export { advertisedApiVersions, type ApiVersionRange } from './api-version-ranges.ts';
export { securitySettingCatalogue } from './security/security-setting-catalogue.ts';
export { parseListenerList } from './security/listener-specs.ts';
export { parseProperties } from './config/properties-file.ts';
export { parseJaasConfig } from './security/sasl/jaas-config.ts';
export {
  connectSecurely,
  scramHashes,
  type ClientSecurity,
} from './cluster/authenticated-connection.ts';
export { createLogger, type Logger } from './logger.ts';
export {
  KafkaConnection,
  KafkaConnectionError,
  type KafkaConnectionOptions,
} from './cluster/kafka-connection.ts';
