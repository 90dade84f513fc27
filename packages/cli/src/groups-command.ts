/**
 * `tributary groups list | describe GROUP | reset-offsets GROUP ...`: the operator's view of
 * consumer groups, printed as aligned tables like kafka-consumer-groups. Connects to
 * --bootstrap HOST:PORT (or TRIBUTARY_BOOTSTRAP, default localhost:9092). Returns the exit
 * code: 0 done, 1 an error from the broker or the connection, 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { isParseArgsError, UsageError, type CommandIo } from './command-io.ts';
import { bootstrapEndpoints, connectToFirst } from './bootstrap.ts';
import {
  connectToCoordinator,
  coordinatorKeyType,
  onEveryBroker,
  type Connect,
} from './cluster-routing.ts';
import { listGroups } from './group-admin.ts';
import { KafkaAdminError } from './kafka-admin-error.ts';
import { describeGroupCommand } from './group-description.ts';
import { KafkaConnection, KafkaConnectionError } from './kafka-connection.ts';
import { resetOffsetsCommand, resetOffsetsOptions } from './offset-reset-command.ts';
import { formatTable } from './text-table.ts';

export const groupsUsage = `usage:
  tributary groups list [--bootstrap HOST:PORT[,HOST:PORT...]]
  tributary groups describe GROUP [--bootstrap HOST:PORT[,HOST:PORT...]]
  tributary groups reset-offsets GROUP --topic TOPIC[:P,P...] [--bootstrap HOST:PORT[,HOST:PORT...]]
      (--to-earliest | --to-latest | --to-datetime ISO | --by-duration PnDTnHnMnS
       | --to-offset N | --shift-by N) [--execute]
--bootstrap defaults to TRIBUTARY_BOOTSTRAP, then localhost:9092. reset-offsets only previews
unless --execute is given, and refuses while the group has active members.`;

const commonOptions = {
  bootstrap: { type: 'string' },
  'timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function runGroupsCommand(args: readonly string[], io: CommandIo): Promise<number> {
  try {
    return await dispatch(args, io);
  } catch (error: unknown) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.err(`tributary groups: ${(error as Error).message}\n${groupsUsage}\n`);
      return 2;
    }
    if (error instanceof KafkaAdminError || error instanceof KafkaConnectionError) {
      io.err(`tributary groups: ${error.message}\n`);
      return 1;
    }
    io.err(`tributary groups: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

/** `--shift-by -5` as Kafka's tool takes it: parseArgs alone reads -5 as an option. */
function joinNegativeValues(args: readonly string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const next = args[i + 1];
    if (
      (arg === '--shift-by' || arg === '--to-offset') &&
      next !== undefined &&
      /^-\d+$/.test(next)
    ) {
      joined.push(`${arg}=${next}`);
      i++;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

async function dispatch(args: readonly string[], io: CommandIo): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === undefined || subcommand === 'help' || subcommand === '--help') {
    io.out(`${groupsUsage}\n`);
    return 0;
  }
  const { values, positionals } = parseArgs({
    args: joinNegativeValues(rest),
    options: { ...commonOptions, ...resetOffsetsOptions },
    allowPositionals: true,
  });
  const resetFlag = Object.keys(resetOffsetsOptions).find((flag) => flag in values);
  if (subcommand !== 'reset-offsets' && resetFlag !== undefined) {
    throw new UsageError(`--${resetFlag} belongs to reset-offsets`);
  }
  if (values.help === true) {
    io.out(`${groupsUsage}\n`);
    return 0;
  }
  const wantedPositionals = subcommand === 'list' ? 0 : 1;
  if (!['list', 'describe', 'reset-offsets'].includes(subcommand)) {
    throw new UsageError(`unknown subcommand '${subcommand}'`);
  }
  if (positionals.length !== wantedPositionals) {
    throw new UsageError(
      wantedPositionals === 0 ? `'list' takes no arguments` : `'${subcommand}' needs one GROUP`,
    );
  }
  const timeoutText = values['timeout-ms'];
  const requestTimeoutMs = timeoutText === undefined ? undefined : Number(timeoutText);
  if (
    requestTimeoutMs !== undefined &&
    !(Number.isInteger(requestTimeoutMs) && requestTimeoutMs > 0)
  ) {
    throw new UsageError(`--timeout-ms needs a positive integer, not '${timeoutText}'`);
  }
  const connect: Connect = (endpoint) =>
    KafkaConnection.connect(
      endpoint,
      requestTimeoutMs === undefined
        ? {}
        : { requestTimeoutMs, connectTimeoutMs: requestTimeoutMs },
    );
  const connection = await connectToFirst(bootstrapEndpoints(values.bootstrap, io.env), connect);
  try {
    const groupId = positionals[0] ?? '';
    if (subcommand === 'list') return await listCommand(connection, connect, io);
    const coordinator = await connectToCoordinator(
      connection,
      groupId,
      coordinatorKeyType.group,
      connect,
    );
    try {
      if (subcommand === 'describe') return await describeGroupCommand(coordinator, groupId, io);
      return await resetOffsetsCommand(coordinator, groupId, values, io);
    } finally {
      coordinator.close();
    }
  } finally {
    connection.close();
  }
}

/** Every broker's groups: each lists those it coordinates (one broker when embedded). */
async function listCommand(
  connection: KafkaConnection,
  connect: Connect,
  io: CommandIo,
): Promise<number> {
  const perBroker = await onEveryBroker(connection, connect, listGroups);
  const byId = new Map(perBroker.flat().map((group) => [group.groupId, group]));
  const groups = [...byId.values()].toSorted((a, b) => a.groupId.localeCompare(b.groupId));
  const rows = groups.map((group) => [
    group.groupId,
    group.type || '-',
    group.state || '-',
    group.protocolType || '-',
  ]);
  io.out(formatTable(['GROUP', 'TYPE', 'STATE', 'PROTOCOL-TYPE'], rows));
  return 0;
}
