/**
 * `tributary users list | add USER | delete USER`: SCRAM users, as `kafka-configs --alter
 * --add-config 'SCRAM-SHA-256=[password=...]' --entity-type users` manages them, over the Kafka
 * admin API (DescribeUserScramCredentials v0, AlterUserScramCredentials v0). `add` derives what
 * the broker stores on this side, as Kafka's tools do: a random salt and the PBKDF2 salted
 * password; the password itself never leaves this process. The password comes from
 * --password-file FILE (first line) or the TRIBUTARY_USER_PASSWORD variable, never from an
 * argument (which `ps` would show). Exit codes: 0 done, 1 an error from the broker or the
 * connection, 2 bad usage.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  alterUserScramCredentialsApi,
  describeUserScramCredentialsApi,
  ErrorCode,
  errorName,
} from '@tributary/protocol';
import { isParseArgsError, UsageError, type CommandIo } from './command-io.ts';
import { bootstrapEndpoints, connectToFirst } from './bootstrap.ts';
import { connectSecurely, readClientSecurity } from './client-security.ts';
import { type KafkaConnection, KafkaConnectionError } from './kafka-connection.ts';
import { formatTable } from './text-table.ts';

export const usersUsage = `usage:
  tributary users list [--bootstrap HOST:PORT[,HOST:PORT...]] [--command-config FILE]
  tributary users add USER (--password-file FILE | env TRIBUTARY_USER_PASSWORD)
      [--mechanism SCRAM-SHA-256|SCRAM-SHA-512]... [--iterations N]
      [--bootstrap HOST:PORT[,HOST:PORT...]]
  tributary users delete USER [--mechanism SCRAM-SHA-256|SCRAM-SHA-512]...
      [--bootstrap HOST:PORT[,HOST:PORT...]]
add stores both mechanisms unless --mechanism names some; iterations 4096 to 16384 (default
8192). delete removes every mechanism the user has unless --mechanism names some.
--bootstrap (the first server that answers) defaults to TRIBUTARY_BOOTSTRAP, then
localhost:9092. --command-config FILE is a
Kafka client config for a secured listener: security.protocol, ssl.truststore.location and
ssl.keystore.location (PEM), sasl.mechanism (PLAIN, SCRAM-SHA-256/512) and sasl.jaas.config.`;

const mechanisms = [
  { name: 'SCRAM-SHA-256', code: 1, hash: 'sha256', bytes: 32 },
  { name: 'SCRAM-SHA-512', code: 2, hash: 'sha512', bytes: 64 },
] as const;
const defaultIterations = 8192;
const saltBytes = 32;

const options = {
  bootstrap: { type: 'string' },
  mechanism: { type: 'string', multiple: true },
  iterations: { type: 'string' },
  'password-file': { type: 'string' },
  'command-config': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options }>>['values'];

export async function runUsersCommand(args: readonly string[], io: CommandIo): Promise<number> {
  try {
    return await dispatch(args, io);
  } catch (error: unknown) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.err(`tributary users: ${(error as Error).message}\n${usersUsage}\n`);
      return 2;
    }
    const known = error instanceof KafkaConnectionError || error instanceof Error;
    io.err(`tributary users: ${known ? error.message : String(error)}\n`);
    return 1;
  }
}

async function dispatch(args: readonly string[], io: CommandIo): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === undefined || subcommand === 'help' || subcommand === '--help') {
    io.out(`${usersUsage}\n`);
    return 0;
  }
  const { values, positionals } = parseArgs({ args: rest, options, allowPositionals: true });
  if (values.help === true) {
    io.out(`${usersUsage}\n`);
    return 0;
  }
  if (subcommand === 'list') {
    if (positionals.length !== 0) throw new UsageError(`'list' takes no arguments`);
    return withConnection(values, io, (connection) => listUsers(connection, io));
  }
  if (subcommand !== 'add' && subcommand !== 'delete') {
    throw new UsageError(`unknown subcommand '${subcommand}'`);
  }
  const [user, extra] = positionals;
  if (user === undefined || user === '' || extra !== undefined) {
    throw new UsageError(`'${subcommand}' needs one USER`);
  }
  const chosen = chosenMechanisms(values);
  if (subcommand === 'add') {
    const iterations = iterationsOf(values);
    const password = await passwordOf(values, io);
    return withConnection(values, io, (connection) =>
      addUser(connection, { user, password, iterations, chosen }, io),
    );
  }
  return withConnection(values, io, (connection) => deleteUser(connection, user, chosen, io));
}

function chosenMechanisms(values: Values): (typeof mechanisms)[number][] | undefined {
  if (values.mechanism === undefined) return undefined;
  return values.mechanism.map((name) => {
    const found = mechanisms.find((mechanism) => mechanism.name === name.toUpperCase());
    if (found === undefined) throw new UsageError(`unknown mechanism '${name}'`);
    return found;
  });
}

function iterationsOf(values: Values): number {
  const text = values.iterations ?? String(defaultIterations);
  if (!/^\d+$/.test(text) || Number(text) < 4096 || Number(text) > 16384) {
    throw new UsageError('--iterations must be 4096 to 16384');
  }
  return Number(text);
}

async function passwordOf(values: Values, io: CommandIo): Promise<string> {
  const file = values['password-file'];
  const password =
    file === undefined
      ? io.env['TRIBUTARY_USER_PASSWORD']
      : ((await readFile(file, 'utf8')).split(/\r?\n/)[0] ?? '');
  if (password === undefined || password === '') {
    throw new UsageError('add needs a password: --password-file FILE or TRIBUTARY_USER_PASSWORD');
  }
  return password;
}

async function withConnection(
  values: Values,
  io: CommandIo,
  work: (connection: KafkaConnection) => Promise<number>,
): Promise<number> {
  const endpoints = bootstrapEndpoints(values.bootstrap, io.env);
  const config = values['command-config'];
  const security = config === undefined ? {} : await readClientSecurity(config);
  const connection = await connectToFirst(endpoints, (endpoint) =>
    connectSecurely(endpoint, security),
  );
  try {
    return await work(connection);
  } finally {
    connection.close();
  }
}

async function describeAll(connection: KafkaConnection) {
  const response = await connection.request(describeUserScramCredentialsApi, 0, { users: null });
  if (response.errorCode !== ErrorCode.NONE) {
    throw new Error(`DescribeUserScramCredentials: ${errorName(response.errorCode)}`);
  }
  return response.results;
}

async function listUsers(connection: KafkaConnection, io: CommandIo): Promise<number> {
  const results = await describeAll(connection);
  const rows = results
    .toSorted((a, b) => a.user.localeCompare(b.user))
    .flatMap((result) =>
      result.credentialInfos.map((info) => [
        result.user,
        mechanisms.find((mechanism) => mechanism.code === info.mechanism)?.name ?? '?',
        String(info.iterations),
      ]),
    );
  io.out(formatTable(['USER', 'MECHANISM', 'ITERATIONS'], rows));
  return 0;
}

async function addUser(
  connection: KafkaConnection,
  request: {
    user: string;
    password: string;
    iterations: number;
    chosen: (typeof mechanisms)[number][] | undefined;
  },
  io: CommandIo,
): Promise<number> {
  const { user, password, iterations } = request;
  const upsertions = (request.chosen ?? [...mechanisms]).map((mechanism) => {
    const salt = randomBytes(saltBytes);
    const saltedPassword = pbkdf2Sync(
      password.normalize('NFKC'),
      salt,
      iterations,
      mechanism.bytes,
      mechanism.hash,
    );
    return { name: user, mechanism: mechanism.code, iterations, salt, saltedPassword };
  });
  // One request per mechanism: Kafka refuses a user altered twice in one request
  // (DUPLICATE_RESOURCE), even for two mechanisms.
  for (const upsertion of upsertions) {
    const response = await connection.request(alterUserScramCredentialsApi, 0, {
      deletions: [],
      upsertions: [upsertion],
    });
    if (report(response.results, io, undefined) !== 0) return 1;
  }
  io.out(`stored ${upsertions.length} credential(s) for ${user}\n`);
  return 0;
}

async function deleteUser(
  connection: KafkaConnection,
  user: string,
  chosen: (typeof mechanisms)[number][] | undefined,
  io: CommandIo,
): Promise<number> {
  const existing = (await describeAll(connection)).find((result) => result.user === user);
  const codes =
    chosen?.map((mechanism) => mechanism.code) ??
    existing?.credentialInfos.map((info) => info.mechanism) ??
    [];
  if (codes.length === 0) {
    io.err(`tributary users: no SCRAM credential for ${user}\n`);
    return 1;
  }
  for (const mechanism of codes) {
    const response = await connection.request(alterUserScramCredentialsApi, 0, {
      deletions: [{ name: user, mechanism }],
      upsertions: [],
    });
    if (report(response.results, io, undefined) !== 0) return 1;
  }
  io.out(`deleted ${codes.length} credential(s) of ${user}\n`);
  return 0;
}

function report(
  results: readonly { user: string; errorCode: number; errorMessage: string | null }[],
  io: CommandIo,
  done: string | undefined,
): number {
  const failure = results.find((result) => result.errorCode !== ErrorCode.NONE);
  if (failure !== undefined) {
    const message = failure.errorMessage === null ? '' : ` (${failure.errorMessage})`;
    io.err(`tributary users: ${failure.user}: ${errorName(failure.errorCode)}${message}\n`);
    return 1;
  }
  if (done !== undefined) io.out(`${done}\n`);
  return 0;
}
