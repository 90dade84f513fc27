#!/usr/bin/env node
/**
 * The `tributary` command. `start` runs the embedded broker:
 *   tributary start [--data-dir DIR] [--listen HOST:PORT] [--advertised-listener HOST:PORT]
 * Each flag may come from TRIBUTARY_DATA_DIR, TRIBUTARY_LISTEN, TRIBUTARY_ADVERTISED_LISTENER.
 * Prints one ready line on stdout once it accepts connections; SIGTERM/SIGINT close it cleanly.
 * `groups` is the consumer-group admin view (groups-command.ts): list, describe, reset-offsets.
 * `transactions` is the transaction admin view (transactions-command.ts): list, describe.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { startBroker } from '@tributary/broker';
import { parseEndpoint } from './endpoint.ts';
import { groupsUsage, runGroupsCommand } from './groups-command.ts';
import { runTransactionsCommand, transactionsUsage } from './transactions-command.ts';

const usage = `usage: tributary start [--data-dir DIR] [--listen HOST:PORT] [--advertised-listener HOST:PORT]`;

async function start(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'data-dir': { type: 'string' },
      listen: { type: 'string' },
      'advertised-listener': { type: 'string' },
    },
  });
  const dataDir = resolve(values['data-dir'] ?? process.env['TRIBUTARY_DATA_DIR'] ?? 'data');
  const listen = parseEndpoint(
    values.listen ?? process.env['TRIBUTARY_LISTEN'] ?? 'localhost:9092',
  );
  const advertisedText =
    values['advertised-listener'] ?? process.env['TRIBUTARY_ADVERTISED_LISTENER'];
  const broker = await startBroker({
    host: listen.host,
    port: listen.port,
    dataDir,
    ...(advertisedText === undefined ? {} : { advertisedListener: parseEndpoint(advertisedText) }),
  });
  process.stdout.write(
    `tributary ready: listening on ${broker.bootstrap} (cluster ${broker.clusterId}, ` +
      `node ${broker.nodeId}, data ${dataDir})\n`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`tributary: ${signal} received, closing\n`);
    broker.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`tributary: close failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case 'groups':
      process.exitCode = await runGroupsCommand(rest, {
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
        env: process.env,
        nowMs: () => Date.now(),
      });
      return;
    case 'transactions':
      process.exitCode = await runTransactionsCommand(rest, {
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
        env: process.env,
        nowMs: () => Date.now(),
      });
      return;
    case undefined:
    case '--help':
    case 'help':
      process.stdout.write(`${usage}\n${groupsUsage}\n${transactionsUsage}\n`);
      return;
    default:
      process.stderr.write(`tributary: unknown command '${command}'\n${usage}\n`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`tributary: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
