/**
 * `tributary cluster up`: a whole local cluster for trying cluster mode and for tests, as
 * `rpk container start -n 3` does for Redpanda but without Docker (local-cluster.ts starts it).
 * Its stdout is for programs: one line per broker, `broker <node.id> pid <pid> rack <rack>
 * listening <host:port>`, then `cluster ready: bootstrap <host:port,...>`; progress and timings
 * go to stderr. It runs until SIGINT or SIGTERM (main.ts), then stops the brokers, the S3 server
 * and PostgreSQL in that order. Exit codes: 0 after a clean stop, 1 when the cluster cannot
 * start (a missing program is named with how to install it), 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { MissingToolError } from '@tributary/local-services';
import { isParseArgsError, UsageError } from './command-io.ts';
import {
  defaultBasePort,
  defaultS3Port,
  startLocalCluster,
  type LocalCluster,
  type LocalClusterOptions,
} from './local-cluster.ts';

export const clusterUsage = `usage: tributary cluster up [--brokers N] [--data-dir DIR] [--racks a,b,c]
      [--base-port PORT] [--metadata-url URL] [--object-store-url URL]
      [--s3-port PORT] [--pg-port PORT] [--override KEY=VALUE]...
  Starts PostgreSQL, an S3 server and N brokers on this machine; Ctrl-C stops them.`;

export const clusterUpHelp = `${clusterUsage}

  --brokers N              how many brokers, node ids 1..N (default 3)
  --data-dir DIR           where everything keeps its data (default ./cluster-data): PostgreSQL
                           in DIR/postgres, the S3 server in DIR/s3, broker n in DIR/broker-n,
                           logs in DIR/logs; starting again on DIR brings the same cluster back
  --racks a,b,c            broker.rack of each broker, round-robin (default a,b,c)
  --base-port PORT         broker n listens on 127.0.0.1:PORT+n-1 (default ${defaultBasePort})
  --metadata-url URL       use this PostgreSQL database (postgres://...) instead of starting one
  --object-store-url URL   use this bucket (s3://bucket/prefix?endpoint=...&region=...) instead
                           of starting an S3 server; credentials from AWS_ACCESS_KEY_ID and
                           AWS_SECRET_ACCESS_KEY
  --s3-port PORT           the S3 server's port (default ${defaultS3Port}, or a free one when taken)
  --pg-port PORT           PostgreSQL's port (default a free one)
  --override KEY=VALUE     a broker setting for every broker (repeatable; tributary start --help)
  -h, --help               this text

Needs PostgreSQL's server programs (Debian: apt-get install postgresql) unless --metadata-url
is given, and SeaweedFS's weed (bash packages/testing/scripts/build-s3-server.sh, or
TRIBUTARY_WEED_BIN) unless --object-store-url is given.

Prints, once every broker accepts connections:
  broker <node.id> pid <pid> rack <rack> listening <host:port>     (one line per broker)
  cluster ready: bootstrap <host:port,...>`;

const upOptions = {
  brokers: { type: 'string' },
  'data-dir': { type: 'string' },
  racks: { type: 'string' },
  'base-port': { type: 'string' },
  'metadata-url': { type: 'string' },
  'object-store-url': { type: 'string' },
  's3-port': { type: 'string' },
  'pg-port': { type: 'string' },
  override: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

type UpValues = ReturnType<typeof parseArgs<{ options: typeof upOptions }>>['values'];

export interface ClusterIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const defaultBrokers = 3;
const defaultDataDir = 'cluster-data';

/** The running cluster, or the exit code to end with (0 after --help, 1 failed, 2 usage). */
export async function runClusterCommand(
  args: readonly string[],
  io: ClusterIo,
): Promise<LocalCluster | number> {
  const [subcommand, ...rest] = args;
  let options: LocalClusterOptions;
  try {
    if (subcommand === undefined || subcommand === 'help' || subcommand === '--help') {
      io.out(`${clusterUsage}\n`);
      return 0;
    }
    if (subcommand !== 'up') throw new UsageError(`unknown subcommand '${subcommand}'`);
    const { values } = parseArgs({ args: rest, options: upOptions, strict: true });
    if (values.help === true) {
      io.out(`${clusterUpHelp}\n`);
      return 0;
    }
    options = clusterOptions(values, io);
  } catch (error: unknown) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.err(`tributary cluster: ${(error as Error).message}\n${clusterUsage}\n`);
      return 2;
    }
    throw error;
  }
  try {
    const cluster = await startLocalCluster(options);
    for (const broker of cluster.brokers) {
      io.out(
        `broker ${broker.nodeId} pid ${broker.pid} rack ${broker.rack} ` +
          `listening ${broker.host}:${broker.port}\n`,
      );
    }
    io.out(`cluster ready: bootstrap ${cluster.bootstrap}\n`);
    return cluster;
  } catch (error: unknown) {
    // A missing program's message is the whole story; other failures carry their details.
    const message = error instanceof Error ? error.message : String(error);
    const what = error instanceof MissingToolError ? 'cannot start' : 'failed';
    io.err(`tributary cluster up ${what}: ${message}\n`);
    return 1;
  }
}

function clusterOptions(values: UpValues, io: ClusterIo): LocalClusterOptions {
  const racks = values.racks?.split(',').map((rack) => rack.trim());
  if (racks !== undefined && racks.some((rack) => !/^[A-Za-z0-9._-]+$/.test(rack))) {
    throw new UsageError(`--racks wants names separated by commas, not '${values.racks}'`);
  }
  const brokerArgs = (values.override ?? []).flatMap((text) => {
    if (!text.includes('=')) throw new UsageError(`--override wants KEY=VALUE, not '${text}'`);
    return ['--override', text];
  });
  const optional = {
    ...(racks === undefined ? {} : { racks }),
    ...portOf('base-port', values['base-port'], 'basePort'),
    ...portOf('s3-port', values['s3-port'], 's3Port'),
    ...portOf('pg-port', values['pg-port'], 'pgPort'),
    ...urlOf('metadata-url', values['metadata-url'], 'metadataUrl', ['postgres', 'postgresql']),
    ...urlOf('object-store-url', values['object-store-url'], 'objectStoreUrl', ['s3']),
  };
  return {
    brokers: count(values.brokers),
    dataDir: values['data-dir'] ?? defaultDataDir,
    brokerArgs,
    detached: true,
    log: (line) => io.err(`cluster: ${line}\n`),
    onBrokerExit: (broker, exit) => {
      const how = exit.signal === null ? `code ${exit.code}` : `signal ${exit.signal}`;
      io.err(`cluster: broker ${broker.nodeId} (pid ${broker.pid}) exited (${how})\n`);
    },
    ...optional,
  };
}

function count(text: string | undefined): number {
  if (text === undefined) return defaultBrokers;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 100) {
    throw new UsageError(`--brokers wants a whole number from 1 to 100, not '${text}'`);
  }
  return value;
}

function portOf<K extends string>(
  flag: string,
  text: string | undefined,
  key: K,
): { [P in K]: number } | Record<string, never> {
  if (text === undefined) return {};
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 65535) {
    throw new UsageError(`--${flag} wants a port from 1 to 65535, not '${text}'`);
  }
  return { [key]: value } as { [P in K]: number };
}

function urlOf<K extends string>(
  flag: string,
  text: string | undefined,
  key: K,
  schemes: readonly string[],
): { [P in K]: string } | Record<string, never> {
  if (text === undefined) return {};
  if (!schemes.some((scheme) => text.startsWith(`${scheme}://`))) {
    throw new UsageError(`--${flag} wants a ${schemes[0]}:// URL, not '${text}'`);
  }
  return { [key]: text } as { [P in K]: string };
}
