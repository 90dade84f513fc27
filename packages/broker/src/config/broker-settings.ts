/**
 * BrokerSettings: the settings in force on this broker, as four layers of the catalogue's names,
 * in Kafka's order of precedence: dynamic for this broker (DYNAMIC_BROKER_CONFIG) > dynamic
 * cluster-wide default (DYNAMIC_DEFAULT_BROKER_CONFIG) > static, from the command line, file or
 * environment (STATIC_BROKER_CONFIG) > the catalogue's default (DEFAULT_CONFIG).
 *
 * It derives the typed views the broker runs on (BrokerConfig, GroupSettings,
 * TransactionSettings, the topic config defaults storage applies) and answers DescribeConfigs.
 * The dynamic layers change at runtime (broker-config-changes.ts); every view is recomputed
 * then, so readers always see one consistent set.
 */
import { defaultBrokerConfig, type BrokerConfig } from '../broker-config.ts';
import { ConfigSource } from '../config-resources.ts';
import type { GroupSettings } from '../groups/group-runtime.ts';
import type { TransactionSettings } from '../transactions/transaction-runtime.ts';
import {
  settingCatalogue,
  settingDefinitions,
  type SettingDefinition,
} from './setting-catalogue.ts';
import type { StaticSettings } from './static-settings.ts';

export type DynamicScope = 'cluster-default' | 'broker';

export interface SettingSynonym {
  readonly name: string;
  readonly value: string | null;
  readonly source: number;
}

/** A setting as DescribeConfigs reports it. */
export interface DescribedSetting {
  readonly definition: SettingDefinition;
  readonly value: string | null;
  readonly source: number;
  /** Every layer that sets it (and its fallbacks), highest precedence first. */
  readonly synonyms: readonly SettingSynonym[];
}

export interface BrokerSettingsOptions {
  readonly staticSettings: StaticSettings;
  /** Values known only once the broker runs: the bound listener, the data dir. */
  readonly startupValues?: Readonly<Record<string, string | null>>;
  /**
   * In-process settings (startBroker's `config`, tests): fields the catalogue maps become static
   * settings (reported, and dynamic ones may be altered over them); the rest (fetchMaxWaitMs ...)
   * have no Kafka name and are used as given.
   */
  readonly config?: Partial<BrokerConfig>;
}

type Layer = Readonly<Record<string, string>>;

const retentionMsName = 'log.retention.ms';

/** The settings log.retention.ms falls back to, in the catalogue's order, with ms per unit. */
const retentionFallbacks: readonly (readonly [string, bigint])[] = settingCatalogue.flatMap(
  (definition) =>
    definition.target.kind === 'retention'
      ? [[definition.name, BigInt(definition.target.msPerUnit)] as const]
      : [],
);

export class BrokerSettings {
  readonly #static: StaticSettings;
  #startupValues: Readonly<Record<string, string | null>>;
  readonly #configOverrides: Partial<BrokerConfig>;
  #clusterDefault: Layer = {};
  #broker: Layer = {};
  #config: BrokerConfig;
  #topicDefaults: Layer;
  #changes: Promise<unknown> = Promise.resolve();

  constructor(options: BrokerSettingsOptions) {
    const split = splitConfig(options.config ?? {}, options.staticSettings);
    this.#static = split.staticSettings;
    this.#startupValues = options.startupValues ?? {};
    this.#configOverrides = split.rest;
    this.#config = this.#deriveConfig();
    this.#topicDefaults = this.#deriveTopicDefaults();
  }

  /** The broker's settings now; a new object after each dynamic change. */
  get config(): BrokerConfig {
    return this.#config;
  }

  /** Topic config defaults (retention.ms, max.message.bytes ...) for storage and produce. */
  get topicDefaults(): Layer {
    return this.#topicDefaults;
  }

  /** Runs `work` after every earlier one settled: dynamic changes read-modify-write a layer. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#changes.then(work, work);
    this.#changes = result.catch(() => undefined);
    return result;
  }

  /** Values only known once the broker runs (bound listener, data dir), shown by describe. */
  setStartupValues(values: Readonly<Record<string, string | null>>): void {
    this.#startupValues = { ...this.#startupValues, ...values };
  }

  dynamic(scope: DynamicScope): Layer {
    return scope === 'broker' ? this.#broker : this.#clusterDefault;
  }

  /** Replaces one dynamic layer (already validated) and recomputes every view. */
  setDynamic(scope: DynamicScope, configs: Layer): void {
    const copy = Object.freeze({ ...configs });
    if (scope === 'broker') this.#broker = copy;
    else this.#clusterDefault = copy;
    this.#config = this.#deriveConfig();
    this.#topicDefaults = this.#deriveTopicDefaults();
  }

  /** The effective value of a catalogue setting (null: unset, as Kafka leaves some). */
  value(name: string): string | null {
    return this.#layers(name)[0]?.value ?? null;
  }

  groupSettings(base: GroupSettings): GroupSettings {
    const derived: Record<string, number> = {};
    for (const definition of settingCatalogue) {
      const target = definition.target;
      if (target.kind !== 'groups') continue;
      derived[target.field] = this.#number(definition.name) * (target.scale ?? 1);
    }
    return { ...base, ...derived };
  }

  transactionSettings(base: TransactionSettings): TransactionSettings {
    const derived: Record<string, number> = {};
    for (const definition of settingCatalogue) {
      const target = definition.target;
      if (target.kind === 'transactions') derived[target.field] = this.#number(definition.name);
    }
    return { ...base, ...derived };
  }

  /** Every setting of the catalogue with its value, source and synonyms. */
  describe(): DescribedSetting[] {
    return settingCatalogue.map((definition) => this.describeOne(definition));
  }

  describeOne(definition: SettingDefinition): DescribedSetting {
    const layers = this.#layers(definition.name);
    const synonyms = [...layers];
    if (definition.name === retentionMsName) {
      for (const [name] of retentionFallbacks) synonyms.push(...this.#layers(name));
    }
    const head = layers[0];
    const startup = this.#startupValues[definition.name];
    return {
      definition,
      value: startup !== undefined ? startup : (head?.value ?? null),
      source: head?.source ?? ConfigSource.DEFAULT_CONFIG,
      synonyms,
    };
  }

  /**
   * Where the default of a topic config comes from: the source of the broker setting behind it
   * (STATIC_BROKER_CONFIG for log.retention.hours in server.properties ...) or DEFAULT_CONFIG.
   */
  topicDefaultSource(topicConfig: string): number {
    for (const definition of settingCatalogue) {
      const target = definition.target;
      if (target.kind !== 'topic' || target.config !== topicConfig) continue;
      const described = this.describeOne(definition);
      const set = described.synonyms.find((s) => s.source !== ConfigSource.DEFAULT_CONFIG);
      return set?.source ?? ConfigSource.DEFAULT_CONFIG;
    }
    return ConfigSource.DEFAULT_CONFIG;
  }

  /** The layers that hold `name`, highest precedence first; the default last (if not null). */
  #layers(name: string): SettingSynonym[] {
    const layers: SettingSynonym[] = [];
    const broker = this.#broker[name];
    if (broker !== undefined) {
      layers.push({ name, value: broker, source: ConfigSource.DYNAMIC_BROKER_CONFIG });
    }
    const clusterDefault = this.#clusterDefault[name];
    if (clusterDefault !== undefined) {
      layers.push({
        name,
        value: clusterDefault,
        source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
      });
    }
    const fixed = this.#static.get(name);
    if (fixed !== undefined) {
      layers.push({ name, value: fixed.value, source: ConfigSource.STATIC_BROKER_CONFIG });
    }
    const fallback = settingDefinitions.get(name)?.defaultValue ?? null;
    if (fallback !== null) {
      layers.push({ name, value: fallback, source: ConfigSource.DEFAULT_CONFIG });
    }
    return layers;
  }

  #number(name: string): number {
    return Number(this.value(name));
  }

  #deriveConfig(): BrokerConfig {
    const derived: Record<string, number | boolean> = {};
    for (const definition of settingCatalogue) {
      const target = definition.target;
      if (target.kind === 'broker') derived[target.field] = this.#number(definition.name);
      if (target.kind === 'broker-flag')
        derived[target.field] = this.value(definition.name) === 'true';
    }
    return Object.freeze({ ...defaultBrokerConfig, ...derived, ...this.#configOverrides });
  }

  #deriveTopicDefaults(): Layer {
    const defaults: Record<string, string> = {};
    for (const definition of settingCatalogue) {
      const target = definition.target;
      const value = this.value(definition.name);
      if (target.kind === 'topic' && value !== null) defaults[target.config] = value;
    }
    defaults['retention.ms'] = this.#retentionMs();
    return Object.freeze(defaults);
  }

  /** Kafka's resolution: log.retention.ms, else .minutes, else .hours; negative means -1. */
  #retentionMs(): string {
    for (const [name, scale] of [[retentionMsName, 1n] as const, ...retentionFallbacks]) {
      const value = this.value(name);
      if (value === null) continue;
      const ms = BigInt(value) * scale;
      return ms < 0n ? '-1' : String(ms);
    }
    return '-1';
  }
}

/** Moves the fields of `config` that the catalogue maps into the static settings. */
function splitConfig(
  config: Partial<BrokerConfig>,
  staticSettings: StaticSettings,
): { staticSettings: StaticSettings; rest: Partial<BrokerConfig> } {
  const rest: Record<string, unknown> = { ...config };
  const merged = new Map(staticSettings);
  for (const definition of settingCatalogue) {
    const target = definition.target;
    if (target.kind !== 'broker' && target.kind !== 'broker-flag') continue;
    const value = config[target.field];
    if (value === undefined) continue;
    delete rest[target.field];
    if (!merged.has(definition.name)) {
      merged.set(definition.name, { value: String(value), origin: 'startBroker config' });
    }
  }
  return { staticSettings: merged, rest: rest as Partial<BrokerConfig> };
}
