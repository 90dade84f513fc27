#!/usr/bin/env node
/**
 * The `tributary` command. `start` runs the embedded broker (start-command.ts: --config FILE,
 * --override KEY=VALUE, TRIBUTARY_* variables, all by Kafka's setting names; --help lists them).
 * Prints one ready line on stdout once it accepts connections; SIGTERM/SIGINT close it cleanly.
 * `groups` is the consumer-group admin view (groups-command.ts): list, describe, reset-offsets.
 * `transactions` is the transaction admin view (transactions-command.ts): list, describe.
 * `users` manages SCRAM credentials (users-command.ts): list, add, delete.
 * `cluster up` runs PostgreSQL, an S3 server and N brokers as one local cluster
 * (cluster-command.ts) until SIGTERM/SIGINT, then stops them in order.
 * `doctor` verifies a stopped broker's data directory (doctor-command.ts).
 * `schemas` talks to the schema registry's REST API (schemas-command.ts): list, get, register,
 * check.
 * `dlq` lists, shows and redrives dead-letter topics through @tributary/sdk (dlq-command.ts).
 * `audit` prints the audit log of admin and security actions (audit-command.ts).
 */
import { clusterUsage, runClusterCommand } from './cluster-command.ts';
import { dlqUsage, runDlqCommand } from './dlq-command.ts';
import { auditUsage, runAuditCommand } from './audit-command.ts';
import { doctorUsage, runDoctorCommand } from './doctor-command.ts';
import { groupsUsage, runGroupsCommand } from './groups-command.ts';
import { tuneHeapForBroker } from './heap-tuning.ts';
import { runSchemasCommand, schemasUsage } from './schemas-command.ts';
import { runStartCommand, startHelp } from './start-command.ts';
import { runTransactionsCommand, transactionsUsage } from './transactions-command.ts';
import { runUsersCommand, usersUsage } from './users-command.ts';

const usage = `usage: tributary COMMAND ...
commands:
  start          run the embedded broker (tributary start --help lists every setting)
  groups         consumer groups: list, describe, reset-offsets
  transactions   transactions: list, describe
  users          SCRAM users: list, add, delete
  schemas        the schema registry: list, get, register, check
  dlq            dead-letter topics: list, show, redrive
  audit          the audit log of admin and security actions
  cluster        cluster up: PostgreSQL, an S3 server and N brokers on this machine
  doctor         verify a stopped broker's data directory; --skip-damaged to move past damage`;

async function start(args: string[]): Promise<void> {
  tuneHeapForBroker();
  const started = await runStartCommand(args, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
  });
  if (typeof started === 'number') {
    process.exitCode = started;
    return;
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`tributary: ${signal} received, closing\n`);
    started.close().then(
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

async function cluster(args: string[]): Promise<void> {
  const io = {
    out: (text: string) => process.stdout.write(text),
    err: (text: string) => process.stderr.write(text),
  };
  const started = await runClusterCommand(args, io);
  if (typeof started === 'number') {
    process.exitCode = started;
    return;
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    io.err(`cluster: ${signal} received, stopping the brokers, the S3 server and PostgreSQL\n`);
    started.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        io.err(`cluster: stop failed: ${String(error)}\n`);
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
    case 'cluster':
      return cluster(rest);
    case 'doctor':
      process.exitCode = await runDoctorCommand(rest, {
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
        env: process.env,
        nowMs: () => Date.now(),
      });
      return;
    case 'dlq':
      process.exitCode = await runDlqCommand(rest, {
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
        env: process.env,
        nowMs: () => Date.now(),
      });
      return;
    case 'audit':
      process.exitCode = await runAuditCommand(rest, {
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
        env: process.env,
        nowMs: () => Date.now(),
      });
      return;
    case 'schemas':
      process.exitCode = await runSchemasCommand(rest, {
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
        env: process.env,
        nowMs: () => Date.now(),
      });
      return;
    case 'users':
      process.exitCode = await runUsersCommand(rest, {
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
    case '-h':
    case 'help':
      process.stdout.write(
        `${usage}\n\n${startHelp()}\n\n${groupsUsage}\n\n${transactionsUsage}\n\n` +
          `${usersUsage}\n\n${schemasUsage}\n\n${dlqUsage}\n\n${auditUsage}\n\n${clusterUsage}\n\n` +
          `${doctorUsage}\n`,
      );
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
