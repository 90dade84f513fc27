/**
 * `tributary schemas list | get | register | check`: the schema registry from the command line,
 * over its Confluent REST API (--registry URL, or TRIBUTARY_SCHEMA_REGISTRY, default
 * http://localhost:8081). `register` and `check` read the schema from a file; its type comes
 * from --type or the file's extension (.avsc Avro, .json JSON Schema, .proto Protobuf).
 * Returns the exit code: 0 done (and compatible, for check), 1 an error from the registry or an
 * incompatible schema, 2 bad usage.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { isParseArgsError, UsageError, type CommandIo } from './command-io.ts';
import { RegistryClient, RegistryClientError } from './registry-client.ts';
import { formatTable } from './text-table.ts';

export const schemasUsage = `usage:
  tributary schemas list [--prefix PREFIX] [--deleted] [--registry URL]
  tributary schemas get SUBJECT [--version N|latest] [--registry URL]
  tributary schemas get --id ID [--registry URL]
  tributary schemas register SUBJECT FILE [--type AVRO|JSON|PROTOBUF]
      [--reference NAME=SUBJECT:VERSION]... [--registry URL]
  tributary schemas check SUBJECT FILE [--type AVRO|JSON|PROTOBUF] [--version N|latest]
      [--reference NAME=SUBJECT:VERSION]... [--registry URL]
--registry defaults to TRIBUTARY_SCHEMA_REGISTRY, then http://localhost:8081 (a broker started
with --schema-registry-listen). FILE's type comes from --type, else its extension: .avsc Avro,
.json JSON Schema, .proto Protobuf. check exits 1 when the schema is incompatible, printing why.`;

const options = {
  registry: { type: 'string' },
  prefix: { type: 'string' },
  deleted: { type: 'boolean' },
  version: { type: 'string' },
  id: { type: 'string' },
  type: { type: 'string' },
  reference: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options }>>['values'];

const extensionTypes: Record<string, string> = {
  '.avsc': 'AVRO',
  '.json': 'JSON',
  '.proto': 'PROTOBUF',
};

export async function runSchemasCommand(args: readonly string[], io: CommandIo): Promise<number> {
  try {
    return await dispatch(args, io);
  } catch (error: unknown) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.err(`tributary schemas: ${(error as Error).message}\n${schemasUsage}\n`);
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.err(`tributary schemas: ${message}\n`);
    if (!(error instanceof RegistryClientError)) throw error;
    return 1;
  }
}

async function dispatch(args: readonly string[], io: CommandIo): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === undefined || subcommand === 'help' || subcommand === '--help') {
    io.out(`${schemasUsage}\n`);
    return 0;
  }
  const { values, positionals } = parseArgs({ args: rest, options, allowPositionals: true });
  if (values.help === true) {
    io.out(`${schemasUsage}\n`);
    return 0;
  }
  const client = new RegistryClient(
    values.registry ?? io.env['TRIBUTARY_SCHEMA_REGISTRY'] ?? 'http://localhost:8081',
  );
  switch (subcommand) {
    case 'list':
      if (positionals.length !== 0) throw new UsageError(`'list' takes no arguments`);
      return listCommand(client, values, io);
    case 'get':
      return getCommand(client, values, positionals, io);
    case 'register':
    case 'check': {
      const [subject, file, ...extra] = positionals;
      if (subject === undefined || file === undefined || extra.length > 0) {
        throw new UsageError(`'${subcommand}' needs SUBJECT and FILE`);
      }
      const request = await schemaRequest(file, values);
      return subcommand === 'register'
        ? registerCommand(client, subject, request, io)
        : checkCommand(client, { subject, request, version: values.version ?? 'latest' }, io);
    }
    default:
      throw new UsageError(`unknown subcommand '${subcommand}'`);
  }
}

const path = (...parts: string[]): string =>
  parts.map((part) => `/${encodeURIComponent(part)}`).join('');

async function listCommand(client: RegistryClient, values: Values, io: CommandIo): Promise<number> {
  const query = new URLSearchParams({
    subjectPrefix: values.prefix ?? '',
    deleted: String(values.deleted === true),
  });
  const subjects = (await client.get(`/subjects?${query.toString()}`)) as string[];
  const rows: string[][] = [];
  for (const subject of subjects) {
    const latest = (await client.get(
      `${path('subjects', subject, 'versions', 'latest')}?deleted=${values.deleted === true}`,
    )) as { version: number; id: number; schemaType?: string };
    rows.push([subject, String(latest.version), String(latest.id), latest.schemaType ?? 'AVRO']);
  }
  io.out(formatTable(['SUBJECT', 'LATEST-VERSION', 'SCHEMA-ID', 'TYPE'], rows));
  return 0;
}

async function getCommand(
  client: RegistryClient,
  values: Values,
  positionals: readonly string[],
  io: CommandIo,
): Promise<number> {
  if (values.id !== undefined) {
    if (positionals.length !== 0) throw new UsageError('--id takes no SUBJECT');
    if (!/^\d+$/.test(values.id)) throw new UsageError('--id needs a schema id');
    const schema = (await client.get(path('schemas', 'ids', values.id))) as Record<string, unknown>;
    const subjects = await client.get(path('schemas', 'ids', values.id, 'versions'));
    io.out(
      `${JSON.stringify({ id: Number(values.id), ...schema, versions: subjects }, null, 2)}\n`,
    );
    return 0;
  }
  const [subject, ...extra] = positionals;
  if (subject === undefined || extra.length > 0) throw new UsageError(`'get' needs one SUBJECT`);
  const version = values.version ?? 'latest';
  const found = await client.get(path('subjects', subject, 'versions', version));
  io.out(`${JSON.stringify(found, null, 2)}\n`);
  return 0;
}

interface SchemaRequestBody {
  readonly schema: string;
  readonly schemaType: string;
  readonly references: readonly { name: string; subject: string; version: number }[];
}

async function schemaRequest(file: string, values: Values): Promise<SchemaRequestBody> {
  const schemaType = (
    values.type ??
    extensionTypes[extname(file).toLowerCase()] ??
    ''
  ).toUpperCase();
  if (!['AVRO', 'JSON', 'PROTOBUF'].includes(schemaType)) {
    throw new UsageError(`cannot tell the schema type of ${file}: give --type`);
  }
  let schema: string;
  try {
    schema = await readFile(file, 'utf8');
  } catch (error: unknown) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const references = (values.reference ?? []).map((text) => {
    const match = /^([^=]+)=(.+):(\d+)$/.exec(text);
    if (match === null) throw new UsageError(`--reference ${text}: expected NAME=SUBJECT:VERSION`);
    return { name: match[1] ?? '', subject: match[2] ?? '', version: Number(match[3]) };
  });
  return { schema, schemaType, references };
}

async function registerCommand(
  client: RegistryClient,
  subject: string,
  request: SchemaRequestBody,
  io: CommandIo,
): Promise<number> {
  const registered = (await client.post(path('subjects', subject, 'versions'), request)) as {
    id: number;
    version?: number;
  };
  const version = registered.version === undefined ? '' : ` version ${registered.version}`;
  io.out(`registered ${subject}${version} as schema id ${registered.id}\n`);
  return 0;
}

async function checkCommand(
  client: RegistryClient,
  check: { subject: string; request: SchemaRequestBody; version: string },
  io: CommandIo,
): Promise<number> {
  const result = (await client.post(
    `${path('compatibility', 'subjects', check.subject, 'versions', check.version)}?verbose=true`,
    check.request,
  )) as { is_compatible: boolean; messages?: string[] };
  if (result.is_compatible) {
    io.out(`compatible with ${check.subject} version ${check.version}\n`);
    return 0;
  }
  io.out(`incompatible with ${check.subject} version ${check.version}:\n`);
  for (const message of result.messages ?? []) io.out(`  ${message}\n`);
  return 1;
}
