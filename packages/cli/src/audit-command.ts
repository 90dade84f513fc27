/**
 * `tributary audit`: prints the broker's audit log (the internal topic `__tributary_audit`:
 * every admin and security action, who, what, when, from where, and its result), oldest first,
 * read with Fetch v4 over a KafkaConnection. Filters: --principal, --action (a Kafka API name),
 * --since (an ISO time). --json prints the entries as stored, one per line. --bootstrap
 * HOST:PORT (or TRIBUTARY_BOOTSTRAP, default localhost:9092). Exit codes: 0 done, 1 an error
 * from the broker or the connection, 2 usage.
 */
import { parseArgs } from 'node:util';
import { ErrorCode, decodeRecords, errorName, fetchApi, splitBatches } from '@tributary/protocol';
import { isParseArgsError, UsageError, type CommandIo } from './command-io.ts';
import { bootstrapEndpoints, connectToFirst } from './bootstrap.ts';
import { KafkaConnection, KafkaConnectionError } from './kafka-connection.ts';
import { formatTable } from './text-table.ts';

export const auditUsage = `usage:
  tributary audit [--principal User:NAME] [--action API] [--since ISO-TIME] [--json]
                  [--bootstrap HOST:PORT[,HOST:PORT...]]
Prints the audit log (topic __tributary_audit): time, principal, client, action, resources and
result of every admin and security action, oldest first. --json prints one stored entry per
line. --bootstrap defaults to TRIBUTARY_BOOTSTRAP, then localhost:9092.`;

const auditTopic = '__tributary_audit';
/** Bytes asked for per Fetch while reading the log. */
const fetchMaxBytes = 4 * 1024 * 1024;
/** Records decompressed per batch at most (the broker writes them uncompressed). */
const decompressedMaxBytes = 64 * 1024 * 1024;

const options = {
  bootstrap: { type: 'string' },
  principal: { type: 'string' },
  action: { type: 'string' },
  since: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface Entry {
  time: string;
  principal: string;
  clientId: string | null;
  peer: string;
  action: string;
  resources: string[];
  result: string;
}

export async function runAuditCommand(args: readonly string[], io: CommandIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options, allowPositionals: true });
    if (values.help === true) {
      io.out(`${auditUsage}\n`);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected ${positionals.join(' ')}`);
    const since = values.since === undefined ? undefined : Date.parse(values.since);
    if (since !== undefined && Number.isNaN(since)) {
      throw new UsageError(`--since: not a time: ${values.since}`);
    }
    const endpoints = bootstrapEndpoints(values.bootstrap, io.env);
    const connection = await connectToFirst(endpoints, (endpoint) =>
      KafkaConnection.connect(endpoint),
    );
    let entries: Entry[];
    try {
      entries = await readAll(connection);
    } finally {
      connection.close();
    }
    const shown = entries.filter(
      (entry) =>
        (values.principal === undefined || entry.principal === values.principal) &&
        (values.action === undefined || entry.action === values.action) &&
        (since === undefined || Date.parse(entry.time) >= since),
    );
    if (values.json === true) {
      for (const entry of shown) io.out(`${JSON.stringify(entry)}\n`);
      return 0;
    }
    const rows = shown.map((entry) => [
      entry.time,
      entry.principal,
      `${entry.clientId ?? ''}@${entry.peer}`,
      entry.action,
      entry.resources.join(' '),
      entry.result,
    ]);
    io.out(formatTable(['TIME', 'PRINCIPAL', 'CLIENT', 'ACTION', 'RESOURCES', 'RESULT'], rows));
    return 0;
  } catch (error: unknown) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.err(`tributary audit: ${(error as Error).message}\n${auditUsage}\n`);
      return 2;
    }
    const known = error instanceof KafkaConnectionError || error instanceof Error;
    io.err(`tributary audit: ${known ? error.message : String(error)}\n`);
    return 1;
  }
}

/** Every entry of the audit topic, from its start to its high watermark. */
async function readAll(connection: KafkaConnection): Promise<Entry[]> {
  const entries: Entry[] = [];
  let offset = 0n;
  for (;;) {
    const response = await connection.request(fetchApi, 4, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: fetchMaxBytes,
      isolationLevel: 0,
      topics: [
        {
          topic: auditTopic,
          partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: fetchMaxBytes }],
        },
      ],
    });
    const partition = response.responses[0]?.partitions[0];
    if (partition === undefined) throw new Error('the broker answered no audit partition');
    if (partition.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE && offset === 0n) {
      offset = partition.logStartOffset;
      continue;
    }
    if (partition.errorCode !== ErrorCode.NONE) {
      throw new Error(`reading ${auditTopic}: ${errorName(partition.errorCode)}`);
    }
    const split = partition.records === null ? { batches: [] } : splitBatches(partition.records);
    if ('error' in split) throw new Error(`reading ${auditTopic}: ${split.error.message}`);
    let moved = false;
    for (const batch of split.batches) {
      for (const record of decodeRecords(batch, { maxDecompressedBytes: decompressedMaxBytes })) {
        if (record.offset < offset) continue;
        offset = record.offset + 1n;
        moved = true;
        if (record.value !== null) entries.push(JSON.parse(record.value.toString('utf8')) as Entry);
      }
    }
    if (!moved || offset >= partition.highWatermark) return entries;
  }
}
