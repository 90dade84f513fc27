/**
 * The schema registry inside the broker process (`schema.registry.listeners`,
 * `--schema-registry-listen HOST:PORT`): the Confluent REST API on a port of its own, its
 * schemas in the broker's metadata store — the SQLite file in the data directory when
 * embedded (a second connection), the PostgreSQL database of `metadata.url` in cluster mode, so
 * every broker of a cluster serves the same registry. Unset, no registry is opened.
 */
import { join } from 'node:path';
import {
  PostgresSchemaStore,
  SchemaRegistry,
  SqliteSchemaStore,
  startRegistryServer,
  type RunningRegistryServer,
  type SchemaStore,
} from '@tributary/schema-registry';
import { listenerPattern } from './config/setting-catalogue.ts';
import type { StaticSettings } from './config/static-settings.ts';
import type { Endpoint } from './endpoint.ts';
import type { Logger } from './logger.ts';

export interface SchemaRegistryHost {
  readonly registry: SchemaRegistry;
  /** Where the REST API listens. */
  readonly endpoint: Endpoint;
  close(): Promise<void>;
}

export async function hostSchemaRegistry(context: {
  readonly settings: StaticSettings | undefined;
  /** The embedded data directory; undefined in memory (tests) or cluster mode. */
  readonly dataDir: string | undefined;
  readonly log: Logger;
}): Promise<SchemaRegistryHost | undefined> {
  const listen = context.settings?.get('schema.registry.listeners')?.value;
  if (listen === undefined) return undefined;
  const metadataUrl = context.settings?.get('metadata.url')?.value;
  const store: SchemaStore =
    metadataUrl !== undefined
      ? await PostgresSchemaStore.open({ url: metadataUrl })
      : SqliteSchemaStore.open(
          context.dataDir === undefined ? ':memory:' : join(context.dataDir, 'metadata.sqlite'),
        );
  const registry = new SchemaRegistry(store);
  let server: RunningRegistryServer;
  try {
    server = await startRegistryServer(registry, {
      ...listenerOf(listen),
      onError: (message, error) =>
        context.log.error(message, {
          error: error instanceof Error ? error.message : String(error),
        }),
    });
  } catch (error: unknown) {
    await registry.close();
    throw error;
  }
  context.log.info('schema registry listening', { host: server.host, port: server.port });
  return {
    registry,
    endpoint: { host: server.host, port: server.port },
    async close() {
      await server.close();
      await registry.close();
    },
  };
}

/** `HOST:PORT` or `http://HOST:PORT`; an empty host listens on every interface. */
function listenerOf(text: string): Endpoint {
  const match = listenerPattern.exec(text.trim().replace(/^https?:\/\//i, ''));
  const host = (match?.[1] ?? '').replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(match?.[2] ?? 0) };
}
