/**
 * Dynamic broker configs (KIP-226): AlterConfigs and IncrementalAlterConfigs on the BROKER
 * resource, named "" (the cluster-wide default) or this broker's node id. Only settings the
 * catalogue marks dynamic (Kafka's "cluster-wide" update mode) change; the whole resource is
 * refused otherwise, as Kafka does: unknown names INVALID_CONFIG, static ones INVALID_REQUEST with
 * Kafka's "Cannot update these configs dynamically: Set(...)", bad values INVALID_REQUEST.
 *
 * Order of a change: validate everything, write the scope's new set to the metadata store
 * (durable when the promise resolves), then apply it live (BrokerSettings and the topic defaults
 * storage uses). A failed write changes nothing live. Changes run one at a time.
 */
import { ErrorCode } from '@tributary/protocol';
import type { BrokerStorage } from '@tributary/storage';
import type { BrokerRuntime } from '../broker-runtime.ts';
import { resolveConfigValue, type ChangeRequest, type ConfigChange } from '../config-resources.ts';
import { toKafkaError, type KafkaError } from '../kafka-errors.ts';
import type { Logger } from '../logger.ts';
import type { BrokerSettings, DynamicScope } from './broker-settings.ts';
import { checkSettingValue, expectedOf, settingDefinitions } from './setting-catalogue.ts';

const ok: KafkaError = { errorCode: ErrorCode.NONE, errorMessage: '' };

/** Store scope key of a dynamic layer: '' for the cluster default, else the node id. */
function storeScopeOf(scope: DynamicScope, nodeId: number): string {
  return scope === 'cluster-default' ? '' : String(nodeId);
}

/**
 * Loads the dynamic layers of this broker from the metadata store at start. Names that are no
 * longer dynamic settings (a newer data dir, a hand edit) are skipped with a warning rather than
 * failing the start.
 */
export async function loadDynamicBrokerConfigs(
  storage: BrokerStorage,
  settings: BrokerSettings,
  log: Logger,
): Promise<void> {
  for (const { scope, configs } of await storage.listBrokerConfigs()) {
    let layer: DynamicScope;
    if (scope === '') layer = 'cluster-default';
    else if (scope === String(storage.nodeId)) layer = 'broker';
    else continue;
    const accepted: Record<string, string> = {};
    for (const [name, value] of Object.entries(configs)) {
      const definition = settingDefinitions.get(name);
      const checked =
        definition?.dynamic === true ? checkSettingValue(definition, value) : undefined;
      if (checked === undefined || 'problem' in checked) {
        log.warn('ignoring a stored dynamic broker config', { scope, name, value });
        continue;
      }
      accepted[name] = checked.value;
    }
    settings.setDynamic(layer, accepted);
  }
  storage.setTopicConfigDefaults(settings.topicDefaults);
}

/** Applies one BROKER resource's changes (or only validates them), one change at a time. */
export function applyBrokerConfigChanges(
  runtime: BrokerRuntime,
  request: ChangeRequest,
): Promise<KafkaError> {
  return runtime.settings.exclusive(() => applyNow(runtime, request));
}

async function applyNow(runtime: BrokerRuntime, request: ChangeRequest): Promise<KafkaError> {
  const { settings } = runtime;
  const name = request.resourceName;
  if (name !== '' && name !== String(runtime.nodeId)) {
    return {
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage:
        `Unexpected broker id, expected ${runtime.nodeId} or empty string, ` +
        `but received ${name}`,
    };
  }
  const scope: DynamicScope = name === '' ? 'cluster-default' : 'broker';
  const refused = refusal(request.changes, name);
  if (refused !== undefined) return refused;
  const next = request.replaceAll ? {} : { ...settings.dynamic(scope) };
  for (const change of request.changes) {
    const current = next[change.name] ?? settings.value(change.name) ?? undefined;
    const value = resolveConfigValue(change, current);
    if (typeof value === 'object' && value !== null) return value;
    if (value === null) {
      delete next[change.name];
      continue;
    }
    const checked = checkChange(change, value, name);
    if ('errorCode' in checked) return checked;
    next[change.name] = checked.value;
  }
  if (request.validateOnly) return ok;
  try {
    await runtime.storage.setBrokerConfigs(storeScopeOf(scope, runtime.nodeId), next);
    settings.setDynamic(scope, next);
    runtime.storage.setTopicConfigDefaults(settings.topicDefaults);
  } catch (error: unknown) {
    return toKafkaError(error);
  }
  runtime.log.info('altered dynamic broker configs', {
    resource: name === '' ? '<default>' : name,
    configs: Object.keys(next).join(',') || '(none)',
  });
  return ok;
}

/** The whole resource's refusal for unknown or static names, checked before any value. */
function refusal(changes: readonly ConfigChange[], resource: string): KafkaError | undefined {
  const unknown = changes.filter((change) => !settingDefinitions.has(change.name));
  if (unknown.length > 0) {
    return {
      errorCode: ErrorCode.INVALID_CONFIG,
      errorMessage: `Unknown broker configs: ${unknown.map((change) => change.name).join(', ')}`,
    };
  }
  const fixed = changes.filter((change) => settingDefinitions.get(change.name)?.dynamic !== true);
  if (fixed.length > 0) {
    const names = [...new Set(fixed.map((change) => change.name))].join(', ');
    return {
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage:
        `Invalid config value for resource ConfigResource(type=BROKER, name='${resource}'): ` +
        `Cannot update these configs dynamically: Set(${names})`,
    };
  }
  return undefined;
}

function checkChange(
  change: ConfigChange,
  value: string,
  resource: string,
): { value: string } | KafkaError {
  const definition = settingDefinitions.get(change.name);
  if (definition === undefined) return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: '' };
  const checked = checkSettingValue(definition, value);
  if ('value' in checked) return checked;
  return {
    errorCode: ErrorCode.INVALID_REQUEST,
    errorMessage:
      `Invalid config value for resource ConfigResource(type=BROKER, name='${resource}'): ` +
      `Invalid value ${value} for configuration ${change.name}: ${checked.problem} ` +
      `(expected ${expectedOf(definition)})`,
  };
}
