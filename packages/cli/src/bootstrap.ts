/**
 * `--bootstrap` of the admin commands, read as Kafka's tools read `bootstrap.servers`: one or
 * more `HOST:PORT` separated by commas (or TRIBUTARY_BOOTSTRAP, then localhost:9092). A command
 * connects to the first that answers, so a list copied from a client's configuration works when
 * one broker of a cluster is down.
 */
import { UsageError } from './command-io.ts';
import { parseEndpoint, type Endpoint } from './endpoint.ts';
import type { KafkaConnection } from './kafka-connection.ts';

export const defaultBootstrap = 'localhost:9092';

/** The endpoints `--bootstrap` names; a malformed one is a usage error. */
export function bootstrapEndpoints(
  option: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Endpoint[] {
  const text = option ?? env['TRIBUTARY_BOOTSTRAP'] ?? defaultBootstrap;
  const parts = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length === 0) throw new UsageError('--bootstrap: no HOST:PORT given');
  try {
    return parts.map(parseEndpoint);
  } catch (error: unknown) {
    throw new UsageError(`--bootstrap: ${error instanceof Error ? error.message : ''}`);
  }
}

/** Connects to the first endpoint that accepts; the error of the last one otherwise. */
export async function connectToFirst(
  endpoints: readonly Endpoint[],
  connect: (endpoint: Endpoint) => Promise<KafkaConnection>,
): Promise<KafkaConnection> {
  const failures: string[] = [];
  for (const endpoint of endpoints) {
    try {
      return await connect(endpoint);
    } catch (error: unknown) {
      if (endpoints.length === 1) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      failures.push(`${endpoint.host}:${endpoint.port}: ${reason}`);
    }
  }
  throw new Error(`no bootstrap server answered (${failures.join('; ')})`);
}
