/**
 * `tributary dlq list | show | redrive`: dead-letter topics (`<topic>.dlq`) from the command
 * line, through @tributary/sdk (so it reads what the SDK's consumers and the broker's record
 * validation both write: `tributary.dlq.*` headers). `list` prints one line per dead letter,
 * `show` one in full (headers, key, value), `redrive` sends dead letters back to their original
 * topic: the ones named with --offset, or every one not redriven before (the progress is the
 * committed offset of group `tributary.dlq.redrive`). --bootstrap HOST:PORT (or
 * TRIBUTARY_BOOTSTRAP, default localhost:9092). Exit codes: 0 done, 1 error, 2 usage.
 */
import { parseArgs } from 'node:util';
import { readDeadLetters, redriveDeadLetters, type DeadLetter } from '@tributary/sdk';
import { isParseArgsError, UsageError, type CommandIo } from './command-io.ts';
import { formatTable } from './text-table.ts';

export const dlqUsage = `usage:
  tributary dlq list TOPIC [--bootstrap HOST:PORT]
  tributary dlq show TOPIC PARTITION:OFFSET [--bootstrap HOST:PORT]
  tributary dlq redrive TOPIC [--offset PARTITION:OFFSET]... [--bootstrap HOST:PORT]
TOPIC is the dead-letter topic (orders.dlq) or the topic it belongs to (orders). redrive sends
dead letters back to their original topic with the same key, value and CloudEvents headers;
without --offset it sends every one not redriven before. --bootstrap defaults to
TRIBUTARY_BOOTSTRAP, then localhost:9092.`;

const options = {
  bootstrap: { type: 'string' },
  offset: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function runDlqCommand(args: readonly string[], io: CommandIo): Promise<number> {
  try {
    return await dispatch(args, io);
  } catch (error: unknown) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.err(`tributary dlq: ${(error as Error).message}\n${dlqUsage}\n`);
      return 2;
    }
    io.err(`tributary dlq: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

async function dispatch(args: readonly string[], io: CommandIo): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === undefined || subcommand === 'help' || subcommand === '--help') {
    io.out(`${dlqUsage}\n`);
    return 0;
  }
  const { values, positionals } = parseArgs({ args: rest, options, allowPositionals: true });
  if (values.help === true) {
    io.out(`${dlqUsage}\n`);
    return 0;
  }
  const [named, place, ...extra] = positionals;
  if (named === undefined) throw new UsageError(`'${subcommand}' needs a TOPIC`);
  const topic = named.endsWith('.dlq') ? named : `${named}.dlq`;
  const connection = {
    bootstrap: values.bootstrap ?? io.env['TRIBUTARY_BOOTSTRAP'] ?? 'localhost:9092',
    clientId: 'tributary-dlq',
  };
  switch (subcommand) {
    case 'list':
      if (place !== undefined) throw new UsageError(`'list' takes one TOPIC`);
      io.out(listing(await readDeadLetters(connection, topic)));
      return 0;
    case 'show': {
      if (place === undefined || extra.length > 0 || !/^\d+:\d+$/.test(place)) {
        throw new UsageError(`'show' needs TOPIC and PARTITION:OFFSET`);
      }
      const letters = await readDeadLetters(connection, topic);
      const found = letters.find((letter) => `${letter.partition}:${letter.offset}` === place);
      if (found === undefined) {
        io.err(`tributary dlq: no dead letter at ${topic} ${place}\n`);
        return 1;
      }
      io.out(`${JSON.stringify(describe(found), null, 2)}\n`);
      return 0;
    }
    case 'redrive': {
      if (place !== undefined) throw new UsageError(`'redrive' takes one TOPIC (--offset P:O)`);
      for (const offset of values.offset ?? []) {
        if (!/^\d+:\d+$/.test(offset)) throw new UsageError(`--offset ${offset}: use P:O`);
      }
      const sent = await redriveDeadLetters(
        connection,
        topic,
        values.offset === undefined ? {} : { only: values.offset },
      );
      for (const letter of sent) {
        const target = letter.originalTopic ?? topic.replace(/\.dlq$/, '');
        io.out(`redriven ${letter.partition}:${letter.offset} -> ${target}\n`);
      }
      io.out(`${sent.length} dead letter(s) redriven\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown subcommand '${subcommand}'`);
  }
}

function listing(letters: readonly DeadLetter[]): string {
  const rows = letters.map((letter) => [
    `${letter.partition}:${letter.offset}`,
    new Date(Number(letter.timestamp)).toISOString(),
    origin(letter),
    letter.eventType ?? '-',
    String(letter.attempts ?? '-'),
    (letter.reason ?? '-').slice(0, 60),
  ]);
  return formatTable(['PARTITION:OFFSET', 'TIME', 'ORIGIN', 'TYPE', 'ATTEMPTS', 'REASON'], rows);
}

function origin(letter: DeadLetter): string {
  if (letter.originalTopic === undefined) return '-';
  const partition = letter.originalPartition ?? '?';
  return `${letter.originalTopic}/${partition}@${letter.originalOffset ?? '?'}`;
}

function describe(letter: DeadLetter): Record<string, unknown> {
  const headers = Object.fromEntries(
    [...letter.headers].map(([name, value]) => [name, value.toString('utf8')]),
  );
  return {
    topic: letter.topic,
    partition: letter.partition,
    offset: String(letter.offset),
    timestamp: new Date(Number(letter.timestamp)).toISOString(),
    reason: letter.reason,
    error: letter.errorName,
    stackDigest: letter.stackDigest,
    attempts: letter.attempts,
    group: letter.group,
    origin: {
      topic: letter.originalTopic,
      partition: letter.originalPartition,
      offset: letter.originalOffset === undefined ? undefined : String(letter.originalOffset),
    },
    headers,
    key: letter.key?.toString('utf8'),
    value: letter.value?.toString('utf8'),
  };
}
