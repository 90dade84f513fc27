/**
 * `tributary transactions list | describe TRANSACTIONAL_ID`: the operator's view of
 * transactions, printed as aligned tables like kafka-transactions. `list` may be narrowed by
 * --state (repeatable, Kafka's state names), --producer-id and --duration-ms (only transactions
 * open longer). `describe` prints the coordinator's state of one transactional id and, when a
 * transaction is open, its producer's state on each of its partitions. Connects to
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
import { KafkaConnection, KafkaConnectionError } from './kafka-connection.ts';
import { formatTable } from './text-table.ts';
import { describeProducersOf, describeTransaction, listTransactions } from './transaction-admin.ts';
import { KafkaAdminError } from './kafka-admin-error.ts';

export const transactionsUsage = `usage:
  tributary transactions list [--state STATE]... [--producer-id ID] [--duration-ms MS]
      [--bootstrap HOST:PORT[,HOST:PORT...]]
  tributary transactions describe TRANSACTIONAL_ID [--bootstrap HOST:PORT[,HOST:PORT...]]
STATE is one of Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort.
--bootstrap defaults to TRIBUTARY_BOOTSTRAP, then localhost:9092.`;

const knownStates = [
  'Empty',
  'Ongoing',
  'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit',
  'CompleteAbort',
  'PrepareEpochFence',
  'Dead',
];

const options = {
  bootstrap: { type: 'string' },
  'timeout-ms': { type: 'string' },
  state: { type: 'string', multiple: true },
  'producer-id': { type: 'string' },
  'duration-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options }>>['values'];

export async function runTransactionsCommand(
  args: readonly string[],
  io: CommandIo,
): Promise<number> {
  try {
    return await dispatch(args, io);
  } catch (error: unknown) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.err(`tributary transactions: ${(error as Error).message}\n${transactionsUsage}\n`);
      return 2;
    }
    const known = error instanceof KafkaAdminError || error instanceof KafkaConnectionError;
    const message = known || error instanceof Error ? error.message : String(error);
    io.err(`tributary transactions: ${message}\n`);
    return 1;
  }
}

async function dispatch(args: readonly string[], io: CommandIo): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === undefined || subcommand === 'help' || subcommand === '--help') {
    io.out(`${transactionsUsage}\n`);
    return 0;
  }
  const { values, positionals } = parseArgs({ args: rest, options, allowPositionals: true });
  if (values.help === true) {
    io.out(`${transactionsUsage}\n`);
    return 0;
  }
  if (subcommand !== 'list' && subcommand !== 'describe') {
    throw new UsageError(`unknown subcommand '${subcommand}'`);
  }
  if (subcommand === 'list' && positionals.length !== 0) {
    throw new UsageError(`'list' takes no arguments`);
  }
  if (subcommand === 'describe') {
    if (positionals.length !== 1) throw new UsageError(`'describe' needs one TRANSACTIONAL_ID`);
    const listFlag = ['state', 'producer-id', 'duration-ms'].find((flag) => flag in values);
    if (listFlag !== undefined) throw new UsageError(`--${listFlag} belongs to list`);
  }
  const filters = subcommand === 'list' ? listFilters(values) : undefined;
  const connect = connectorFrom(values);
  const connection = await connectToFirst(bootstrapEndpoints(values.bootstrap, io.env), connect);
  try {
    if (filters !== undefined) return await listCommand(connection, connect, filters, io);
    const transactionalId = positionals[0] ?? '';
    const coordinator = await connectToCoordinator(
      connection,
      transactionalId,
      coordinatorKeyType.transaction,
      connect,
    );
    try {
      return await describeCommand(coordinator, transactionalId, io);
    } finally {
      coordinator.close();
    }
  } finally {
    connection.close();
  }
}

function listFilters(values: Values) {
  const states = values.state ?? [];
  const unknown = states.find((state) => !knownStates.includes(state));
  if (unknown !== undefined) throw new UsageError(`unknown transaction state '${unknown}'`);
  const producerIds = values['producer-id'] === undefined ? [] : [integer(values, 'producer-id')];
  const durationMs = values['duration-ms'] === undefined ? -1n : integer(values, 'duration-ms');
  return { states, producerIds, durationMs };
}

function integer(values: Values, flag: 'producer-id' | 'duration-ms' | 'timeout-ms'): bigint {
  const text = values[flag] ?? '';
  if (!/^\d+$/.test(text)) throw new UsageError(`--${flag} needs a non-negative integer`);
  return BigInt(text);
}

/** Connections with the command's timeouts (--timeout-ms for both connect and requests). */
function connectorFrom(values: Values): Connect {
  const requestTimeoutMs =
    values['timeout-ms'] === undefined ? undefined : Number(integer(values, 'timeout-ms'));
  return (endpoint) =>
    KafkaConnection.connect(
      endpoint,
      requestTimeoutMs === undefined
        ? {}
        : { requestTimeoutMs, connectTimeoutMs: requestTimeoutMs },
    );
}

/** Every broker's transactions: each lists those it coordinates (one broker when embedded). */
async function listCommand(
  connection: KafkaConnection,
  connect: Connect,
  filters: ReturnType<typeof listFilters>,
  io: CommandIo,
): Promise<number> {
  const perBroker = await onEveryBroker(connection, connect, (broker) =>
    listTransactions(broker, filters),
  );
  const byId = new Map(perBroker.flat().map((txn) => [txn.transactionalId, txn]));
  const transactions = [...byId.values()].toSorted((a, b) =>
    a.transactionalId.localeCompare(b.transactionalId),
  );
  const rows = transactions.map((txn) => [
    txn.transactionalId,
    txn.producerId.toString(),
    txn.transactionState,
  ]);
  io.out(formatTable(['TRANSACTIONAL-ID', 'PRODUCER-ID', 'STATE'], rows));
  return 0;
}

async function describeCommand(
  connection: KafkaConnection,
  transactionalId: string,
  io: CommandIo,
): Promise<number> {
  const txn = await describeTransaction(connection, transactionalId);
  const started = txn.transactionStartTimeMs >= 0n;
  const partitions = txn.topics.flatMap(({ topic, partitions: indexes }) =>
    indexes.map((partition) => `${topic}-${partition}`),
  );
  const headers = ['TRANSACTIONAL-ID', 'PRODUCER-ID', 'EPOCH', 'STATE', 'TIMEOUT-MS'];
  headers.push('START-TIME', 'DURATION-MS', 'PARTITIONS');
  const row = [
    txn.transactionalId,
    txn.producerId.toString(),
    String(txn.producerEpoch),
    txn.transactionState,
    String(txn.transactionTimeoutMs),
    started ? new Date(Number(txn.transactionStartTimeMs)).toISOString() : '-',
    started ? String(BigInt(io.nowMs()) - txn.transactionStartTimeMs) : '-',
    partitions.length === 0 ? '-' : partitions.join(','),
  ];
  io.out(formatTable(headers, [row]));
  const producers = await describeProducersOf(connection, txn.topics, txn.producerId);
  if (producers.length === 0) return 0;
  const producerRows = producers.map((p) => [
    p.topic,
    String(p.partition),
    String(p.producerEpoch),
    String(p.lastSequence),
    p.lastTimestamp >= 0n ? new Date(Number(p.lastTimestamp)).toISOString() : '-',
    String(p.coordinatorEpoch),
    p.currentTxnStartOffset >= 0n ? p.currentTxnStartOffset.toString() : '-',
  ]);
  io.out('\n');
  const producerHeaders = ['TOPIC', 'PARTITION', 'EPOCH', 'LAST-SEQUENCE', 'LAST-TIMESTAMP'];
  producerHeaders.push('COORDINATOR-EPOCH', 'TXN-START-OFFSET');
  io.out(formatTable(producerHeaders, producerRows));
  return 0;
}
