/**
 * `tributary start`: the embedded broker. Settings come, by precedence, from --override KEY=VALUE
 * (and the named flags --data-dir, --listen, --advertised-listener), then TRIBUTARY_* variables,
 * then a --config file in Kafka's server.properties format, then the catalogue's defaults; every
 * one of them is a Kafka setting name (@tributary/broker's settingCatalogue, which also writes
 * the --help text). A setting it does not know or cannot parse stops the start with exit code 2
 * before the data directory is opened.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  envNamesOf,
  expectedOf,
  parseListenerList,
  parseOverride,
  resolveStaticSettings,
  securitySettingCatalogue,
  settingCatalogue,
  SettingsError,
  startBroker,
  type RunningBroker,
  type SettingAssignment,
  type SettingDefinition,
  type StaticSettings,
} from '@tributary/broker';
import { isParseArgsError, UsageError } from './command-io.ts';
import { parseEndpoint, type Endpoint } from './endpoint.ts';

export const startUsage =
  'usage: tributary start [--config FILE] [--override KEY=VALUE]... [--data-dir DIR]\n' +
  '                       [--listen HOST:PORT] [--advertised-listener HOST:PORT]\n' +
  '                       [--metadata-url postgres://... --object-store-url s3://...]\n' +
  '                       [--schema-registry-listen HOST:PORT]';

const startOptions = {
  config: { type: 'string' },
  override: { type: 'string', multiple: true },
  'data-dir': { type: 'string' },
  listen: { type: 'string' },
  'advertised-listener': { type: 'string' },
  'metadata-url': { type: 'string' },
  'object-store-url': { type: 'string' },
  'metrics-listen': { type: 'string' },
  'schema-registry-listen': { type: 'string' },
  'console-listen': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The named flags, each the same as --override of one setting. */
const namedFlags = new Map(
  settingCatalogue.flatMap((definition) =>
    definition.flag === undefined ? [] : [[definition.flag.slice(2), definition.name] as const],
  ),
);

export interface StartIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** A started broker, or the exit code to end with (0 after --help, 2 for bad input). */
export async function runStartCommand(
  args: readonly string[],
  io: StartIo,
): Promise<RunningBroker | number> {
  let settings: StaticSettings;
  try {
    const { values } = parseArgs({ args: [...args], options: startOptions, strict: true });
    if (values.help === true) {
      io.out(`${startHelp()}\n`);
      return 0;
    }
    settings = await readSettings(values, io.env);
  } catch (error: unknown) {
    if (error instanceof SettingsError) {
      io.err(`tributary start: ${error.message}\n`);
      return 2;
    }
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.err(`tributary start: ${(error as Error).message}\n${startUsage}\n`);
      return 2;
    }
    throw error;
  }
  const dataDir = resolve(settings.get('log.dirs')?.value ?? 'data');
  const listen = listenerOf(settings.get('listeners')?.value ?? 'localhost:9092');
  const broker = await startBroker({ host: listen.host, port: listen.port, dataDir, settings });
  if (broker.listeners.length > 1 || broker.listeners[0]?.securityProtocol !== 'PLAINTEXT') {
    for (const listener of broker.listeners) {
      const host = listener.host.includes(':') ? `[${listener.host}]` : listener.host;
      io.out(
        `listener ${listener.name} (${listener.securityProtocol}) on ${host}:${listener.port}\n`,
      );
    }
  }
  if (broker.metrics !== undefined) {
    io.out(`metrics on http://${broker.metrics.host}:${broker.metrics.port}/metrics\n`);
  }
  if (broker.schemaRegistry !== undefined) {
    const { host, port } = broker.schemaRegistry;
    io.out(`schema registry on http://${host.includes(':') ? `[${host}]` : host}:${port}\n`);
  }
  if (broker.console !== undefined) {
    const { host, port } = broker.console;
    io.out(`console on http://${host.includes(':') ? `[${host}]` : host}:${port}/\n`);
  }
  io.out(
    `tributary ready: listening on ${broker.bootstrap} (cluster ${broker.clusterId}, ` +
      `node ${broker.nodeId}, data ${dataDir})\n`,
  );
  return broker;
}

async function readSettings(
  values: { config?: string; override?: string[] } & Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
): Promise<StaticSettings> {
  const overrides: SettingAssignment[] = (values.override ?? []).map((text) => parseOverride(text));
  for (const [flag, key] of namedFlags) {
    const value = values[flag];
    if (typeof value === 'string') overrides.push({ key, value, origin: `--${flag}` });
  }
  let file: { path: string; text: string } | undefined;
  if (values.config !== undefined) {
    try {
      file = { path: values.config, text: await readFile(values.config, 'utf8') };
    } catch (error: unknown) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new UsageError(`cannot read --config ${values.config}: ${reason}`);
    }
  }
  return resolveStaticSettings({ ...(file === undefined ? {} : { file }), env, overrides });
}

/** The first of `NAME://host:port,...` (already checked by the catalogue). */
function listenerOf(text: string): Endpoint {
  const parsed = parseListenerList(text);
  const first = 'listeners' in parsed ? parsed.listeners[0] : undefined;
  const host = first?.host ?? 'localhost';
  return parseEndpoint(`${host.includes(':') ? `[${host}]` : host}:${first?.port ?? 9092}`);
}

/** `tributary start --help`: the flags, then every setting of the catalogue. */
export function startHelp(): string {
  const lines = [
    startUsage,
    '',
    '  --config FILE          settings in Kafka server.properties format (key=value, # comments)',
    '  --override KEY=VALUE   one setting (repeatable), as kafka-server-start.sh --override',
    '  --data-dir DIR         the same as --override log.dirs=DIR',
    '  --listen HOST:PORT     the same as --override listeners=HOST:PORT',
    '  --advertised-listener HOST:PORT',
    '                         the same as --override advertised.listeners=HOST:PORT',
    '  --metadata-url URL     cluster mode: the same as --override metadata.url=URL',
    '  --object-store-url URL cluster mode: the same as --override object.store.url=URL',
    '  --metrics-listen HOST:PORT',
    '                         Prometheus endpoint: the same as --override metrics.listen=...',
    '  --schema-registry-listen HOST:PORT',
    '                         Confluent-compatible schema registry REST API: the same as',
    '                         --override schema.registry.listeners=HOST:PORT',
    '  --console-listen HOST:PORT',
    '                         the web console (docs/console.md): the same as',
    '                         --override console.listeners=HOST:PORT',
    '  -h, --help             this text',
    '',
    'Settings, by Kafka name. Each may come from --override (first), the environment variable',
    'TRIBUTARY_<NAME> (dots as underscores, upper case: TRIBUTARY_NUM_PARTITIONS), then the',
    '--config file, else the default. An unknown name or a bad value stops the start (exit 2).',
    '"dynamic" settings can also be changed at runtime on the broker resource (kafka-configs',
    '--entity-type brokers, AlterConfigs); those changes are kept in the data directory.',
    '',
  ];
  for (const definition of settingCatalogue) lines.push(...settingHelp(definition));
  lines.push(
    '',
    'Security settings (docs/security.md). Each may also be given per listener as',
    'listener.name.<listener>.<setting> (sasl.jaas.config per mechanism too:',
    'listener.name.<listener>.plain.sasl.jaas.config). Secrets are never reported.',
    '',
  );
  for (const definition of securitySettingCatalogue) lines.push(...settingHelp(definition));
  return lines.join('\n').trimEnd();
}

function settingHelp(definition: SettingDefinition): string[] {
  const facts = [
    expectedOf(definition),
    `default ${definition.defaultValue ?? '(unset)'}${unitOf(definition)}`,
    ...(definition.dynamic ? ['dynamic'] : []),
  ];
  const env = envNamesOf(definition);
  return [
    `  ${definition.name}`,
    `      ${definition.doc}`,
    `      ${facts.join('; ')}`,
    `      env ${env.join(' or ')}${definition.flag === undefined ? '' : `; ${definition.flag}`}`,
  ];
}

function unitOf(definition: SettingDefinition): string {
  return definition.unit === undefined ? '' : ` (${definition.unit})`;
}
