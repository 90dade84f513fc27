/**
 * The static broker settings of one start: a server.properties file, TRIBUTARY_* environment
 * variables and --override key=value (plus the named flags), merged by precedence
 * override > env > file (> the catalogue's default, applied later by BrokerSettings).
 *
 * Every value is checked against the catalogue here, so a start with a setting it does not know
 * or cannot parse fails before anything opens, with a SettingsError naming the key, where it came
 * from (file:line, --override, the variable) and what was expected.
 */
import {
  checkSettingValue,
  envNamesOf,
  expectedOf,
  settingCatalogue,
  settingDefinitions,
} from './setting-catalogue.ts';
import { parseProperties, PropertiesSyntaxError } from './properties-file.ts';
import {
  isSecretSetting,
  securitySettingCatalogue,
  securitySettingDefinition,
} from '../security/security-setting-catalogue.ts';

export interface StaticSetting {
  /** Normalised text value (checkSettingValue). */
  readonly value: string;
  /** Where it came from: `server.properties:12`, `--override`, `TRIBUTARY_NUM_PARTITIONS`. */
  readonly origin: string;
}

/** Static settings by Kafka name; only names of the catalogue. */
export type StaticSettings = ReadonlyMap<string, StaticSetting>;

/** A setting the start cannot accept; the CLI prints `message` and exits with code 2. */
export class SettingsError extends Error {
  readonly key: string;
  readonly origin: string;

  constructor(key: string, origin: string, message: string) {
    super(message);
    this.name = 'SettingsError';
    this.key = key;
    this.origin = origin;
  }
}

export interface SettingAssignment {
  readonly key: string;
  readonly value: string;
  readonly origin: string;
}

export interface StaticSettingsInput {
  /** The --config file's path (for messages) and text. */
  readonly file?: { readonly path: string; readonly text: string };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** --override assignments and named flags, in the order they apply (the last one wins). */
  readonly overrides: readonly SettingAssignment[];
}

/** Variables of the prefix that belong to other commands (`tributary groups` ...). */
const otherCommandsEnv = new Set(['TRIBUTARY_BOOTSTRAP']);

/** `key=value` as --override takes it (the first '=' splits; the value may hold more). */
export function parseOverride(text: string, origin = '--override'): SettingAssignment {
  const at = text.indexOf('=');
  if (at <= 0) {
    throw new SettingsError(text, origin, `${origin} '${text}': expected key=value`);
  }
  return { key: text.slice(0, at).trim(), value: text.slice(at + 1), origin };
}

/**
 * Merges the three sources; throws SettingsError for the first unknown key, bad value or
 * TRIBUTARY_* variable that names no setting (a typo must not pass silently).
 */
export function resolveStaticSettings(input: StaticSettingsInput): StaticSettings {
  const settings = new Map<string, StaticSetting>();
  const assign = (assignment: SettingAssignment): void => {
    settings.set(assignment.key, checkAssignment(assignment));
  };
  if (input.file !== undefined) for (const entry of fileAssignments(input.file)) assign(entry);
  for (const entry of envAssignments(input.env)) assign(entry);
  for (const entry of input.overrides) assign(entry);
  return settings;
}

function checkAssignment(assignment: SettingAssignment): StaticSetting {
  const { key, value, origin } = assignment;
  const definition = settingDefinitions.get(key) ?? securitySettingDefinition(key);
  if (definition === undefined) {
    throw new SettingsError(
      key,
      origin,
      `unknown setting '${key}' (from ${origin}); \`tributary start --help\` lists them`,
    );
  }
  const checked = checkSettingValue(definition, value);
  if ('problem' in checked) {
    throw new SettingsError(
      key,
      origin,
      `invalid value ${isSecretSetting(key) ? '(secret, not shown)' : `'${value}'`} for ${key} ` +
        `(from ${origin}): ${checked.problem}; ` +
        `expected ${expectedOf(definition)}`,
    );
  }
  return { value: checked.value, origin };
}

function fileAssignments(file: { path: string; text: string }): SettingAssignment[] {
  try {
    return parseProperties(file.text).map((entry) => ({
      key: entry.key,
      value: entry.value,
      origin: `${file.path}:${entry.line}`,
    }));
  } catch (error: unknown) {
    if (error instanceof PropertiesSyntaxError) {
      const origin = `${file.path}:${error.line}`;
      throw new SettingsError('', origin, `${origin}: ${error.message}`);
    }
    throw error;
  }
}

function envAssignments(env: Readonly<Record<string, string | undefined>>): SettingAssignment[] {
  const assignments: SettingAssignment[] = [];
  const known = new Set<string>(otherCommandsEnv);
  for (const definition of [...settingCatalogue, ...securitySettingCatalogue]) {
    const names = envNamesOf(definition);
    const set = names.filter((name) => env[name] !== undefined);
    for (const name of names) known.add(name);
    const [first, second] = set;
    if (first === undefined) continue;
    if (second !== undefined && env[first] !== env[second]) {
      throw new SettingsError(
        definition.name,
        `${first} and ${second}`,
        `${first} and ${second} both set ${definition.name}, to different values; unset one`,
      );
    }
    assignments.push({ key: definition.name, value: env[first] ?? '', origin: first });
  }
  const unknown = Object.keys(env)
    .filter((name) => name.startsWith('TRIBUTARY_') && !known.has(name))
    .toSorted()[0];
  if (unknown !== undefined) {
    const key = unknown.slice('TRIBUTARY_'.length).toLowerCase().replaceAll('_', '.');
    throw new SettingsError(
      key,
      unknown,
      `unknown setting '${key}' (from environment variable ${unknown}); ` +
        '`tributary start --help` lists them',
    );
  }
  return assignments;
}
