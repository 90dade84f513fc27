/**
 * What every shop service process shares: its configuration from the environment, a pool
 * confined to the service's own PostgreSQL schema (search_path), an event producer that
 * registers schemas, the outbox and its relay, a health endpoint, and a graceful shutdown on
 * SIGTERM. A service adds its tables, its consumer's handlers and, for the cart, its HTTP API.
 *
 * Environment: SHOP_BOOTSTRAP (host:port[,host:port]), SHOP_REGISTRY_URL, SHOP_DATABASE_URL,
 * SHOP_HTTP_LISTEN (host:port, default 127.0.0.1:0). Its schema is `shop_<service>`. The
 * process prints one line `<service> ready <http address>` once it consumes and serves: the
 * launcher waits for it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import {
  createOutboxTable,
  ensureTopics,
  EventConsumer,
  EventProducer,
  Outbox,
  OutboxRelay,
  type EventConsumerOptions,
} from '@tributary/sdk';
import { topicPartitions, topics } from './contracts.ts';

export type RouteHandler = (
  request: IncomingMessage,
  response: ServerResponse,
) => Promise<boolean> | boolean;

/** Retry tiers of every shop consumer: a quick one (a timed-out call) and a slower one. */
export const shopRetryDelaysMs = [500, 3_000];
/** A killed service's partitions move to its next instance after this long. */
const sessionTimeoutMs = 6_000;
const poolMaxConnections = 8;
/** How often, and how far apart, a start tries to reach the cluster. */
const startAttempts = 30;
const startRetryMs = 1_000;

export class ServiceRuntime {
  readonly name: string;
  /** `shop_<name>`: the service's tables, outbox and processed events live here only. */
  readonly schema: string;
  readonly pool: pg.Pool;
  readonly producer: EventProducer;
  readonly outbox: Outbox;
  readonly bootstrap: string[];
  readonly registryUrl: string;
  #relay: OutboxRelay | undefined;
  #consumer: EventConsumer | undefined;
  #server: Server | undefined;
  readonly #routes: RouteHandler[] = [];

  constructor(name: string) {
    this.name = name;
    this.bootstrap = requiredEnv('SHOP_BOOTSTRAP').split(',');
    this.registryUrl = requiredEnv('SHOP_REGISTRY_URL');
    this.schema = `shop_${name.replaceAll('-', '_')}`;
    this.pool = new pg.Pool({
      connectionString: requiredEnv('SHOP_DATABASE_URL'),
      max: poolMaxConnections,
      // The service sees only its own schema: its tables, its outbox, its processed events.
      options: `-c search_path=${this.schema}`,
    });
    this.pool.on('error', (error) => this.log(`database: ${error.message}`));
    this.producer = new EventProducer({
      bootstrap: this.bootstrap,
      clientId: `shop-${name}`,
      source: `urn:shop:${name}`,
      schemaRegistryUrl: this.registryUrl,
    });
    this.outbox = new Outbox(this.producer);
  }

  /** Creates the schema, the outbox table and every shop topic (idempotent, any order). */
  async prepare(tablesSql: readonly string[]): Promise<void> {
    await this.pool.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
    await createOutboxTable(this.pool);
    for (const sql of tablesSql) await this.pool.query(sql);
    // A service may start before its cluster can answer (brokers still starting, leases being
    // taken): it waits for it, as a deployment's services do, rather than exit.
    for (let attempt = 1; ; attempt++) {
      try {
        await ensureTopics({ bootstrap: this.bootstrap }, Object.values(topics), {
          partitions: topicPartitions,
        });
        return;
      } catch (error: unknown) {
        if (attempt >= startAttempts) throw error;
        this.log(`topics not ready (${describe(error)}); trying again`);
        await sleep(startRetryMs);
      }
    }
  }

  /** The service's consumer: idempotent (its pool), retry tiers, dead letters. */
  consumer(options: Partial<EventConsumerOptions> = {}): EventConsumer {
    this.#consumer = new EventConsumer({
      bootstrap: this.bootstrap,
      clientId: `shop-${this.name}`,
      groupId: `shop-${this.name}`,
      schemaRegistryUrl: this.registryUrl,
      pool: this.pool,
      retryDelaysMs: shopRetryDelaysMs,
      sessionTimeoutMs,
      onError: (error) => this.log(`consumer: ${describe(error)}`),
      ...options,
    });
    return this.#consumer;
  }

  /** Adds HTTP routes before `run`; a route returns false when the request is not its. */
  route(handler: RouteHandler): void {
    this.#routes.push(handler);
  }

  /** Starts the relay, the consumer and the HTTP server, then prints the ready line. */
  async run(options: { relay?: boolean } = {}): Promise<void> {
    if (options.relay !== false) {
      this.#relay = new OutboxRelay({
        pool: this.pool,
        producer: this.producer,
        pollIntervalMs: 50,
        onError: (error) => this.log(`outbox relay: ${describe(error)}`),
      });
      this.#relay.start();
    }
    await this.#consumer?.start();
    this.#server = createServer((request, response) => void this.#serve(request, response));
    const listen = process.env['SHOP_HTTP_LISTEN'] ?? '127.0.0.1:0';
    const [host, port] = splitHostPort(listen);
    await new Promise<void>((resolve) => this.#server?.listen(port, host, resolve));
    const address = this.#server.address() as AddressInfo;
    process.once('SIGTERM', () => void this.shutdown());
    process.once('SIGINT', () => void this.shutdown());
    process.stdout.write(`${this.name} ready http://${address.address}:${address.port}\n`);
  }

  async #serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      if (request.method === 'GET' && request.url === '/healthz') {
        const health = (await this.#consumer?.health()) ?? { healthy: true };
        sendJson(response, health.healthy ? 200 : 503, health);
        return;
      }
      for (const handler of this.#routes) if (await handler(request, response)) return;
      sendJson(response, 404, { error: 'not found' });
    } catch (error: unknown) {
      this.log(`http ${request.method} ${request.url}: ${describe(error)}`);
      if (!response.headersSent) sendJson(response, 500, { error: describe(error) });
    }
  }

  /** Finishes in-flight handlers, commits, leaves the group, stops relaying, exits. */
  async shutdown(): Promise<void> {
    this.#server?.close();
    await this.#consumer?.close();
    await this.#relay?.stop();
    await this.producer.close();
    await this.pool.end();
    process.exit(0);
  }

  log(line: string): void {
    process.stderr.write(`${this.name}: ${line}\n`);
  }
}

/** Runs `work` in a transaction of `pool` (for HTTP handlers; consumers get theirs). */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (db: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const db = await pool.connect();
  let broken = false;
  try {
    await db.query('BEGIN');
    const result = await work(db);
    await db.query('COMMIT');
    return result;
  } catch (error: unknown) {
    await db.query('ROLLBACK').catch(() => (broken = true));
    throw error;
  } finally {
    db.release(broken);
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

export async function readJson(request: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of request) text += String(chunk);
  return text === '' ? {} : JSON.parse(text);
}

/** A logged error is cut to this many characters. */
const describedMaxChars = 1_000;

/** The message, with the Kafka error code and the distinct causes a client error carries. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { apiId } = error as { apiId?: unknown };
  const head = typeof apiId === 'string' ? `${error.message} (${apiId})` : error.message;
  const causes =
    error instanceof AggregateError ? error.errors.map((inner) => describe(inner)) : [];
  const text = causes.length === 0 ? head : `${head} [${[...new Set(causes)].join('; ')}]`;
  return text.length > describedMaxChars ? `${text.slice(0, describedMaxChars)}...` : text;
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

function splitHostPort(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}
