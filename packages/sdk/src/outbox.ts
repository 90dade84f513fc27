/**
 * The transactional outbox for PostgreSQL. `Outbox.add` encodes an event (validated, its
 * schema registered) and inserts it into `tributary_outbox` through the caller's client, inside
 * the caller's transaction: the state change and the event commit together or not at all.
 * `OutboxRelay` publishes unsent rows in id order and marks them sent after the broker has
 * acknowledged them, so a crash of the relay (or of the broker) between the two re-sends at most
 * the batch in flight: at-least-once, never lost. Consumers deduplicate by the CloudEvents id,
 * which the row keeps across re-sends.
 *
 * Order: one relay publishes at a time per outbox table (it holds a session advisory lock keyed
 * by the table's schema, so services sharing a database in schemas of their own each relay;
 * others wait as standbys), and one batch is one ordered send, so rows reach each partition in id order. Ids
 * follow commit order per aggregate when the service updates the aggregate's row before adding
 * its event (the row lock serializes its transactions); rows of other aggregates may commit out
 * of id order and are still published, since the relay reads every unsent row, not "after id N".
 */
import type pg from 'pg';
import type { EventContract } from './event-contract.ts';
import type { EventProducer, PublishOptions, TopicRecord } from './event-producer.ts';
import { setTimeout as sleep } from 'node:timers/promises';

export const outboxTable = 'tributary_outbox';

export async function createOutboxTable(pool: pg.Pool): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS ${outboxTable} (
    id bigserial PRIMARY KEY,
    event_id text NOT NULL,
    event_type text NOT NULL,
    topic text NOT NULL,
    key bytea,
    value bytea,
    headers jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz
  )`);
  await pool.query(
    `CREATE INDEX IF NOT EXISTS ${outboxTable}_unsent ON ${outboxTable} (id) WHERE sent_at IS NULL`,
  );
}

export class Outbox {
  readonly #producer: EventProducer;

  /** `producer` encodes (its source, registry and mode); the relay does the sending. */
  constructor(producer: EventProducer) {
    this.#producer = producer;
  }

  /**
   * Adds `value` to the outbox through `client` (inside the caller's BEGIN/COMMIT). Throws
   * `EventValidationError` before writing when the value does not match its contract.
   */
  async add<T>(
    client: pg.ClientBase,
    contract: EventContract<T>,
    value: T,
    options: PublishOptions = {},
  ): Promise<{ id: string; outboxId: bigint }> {
    const { record, attributes } = await this.#producer.encode(contract, value, options);
    const headers = Object.fromEntries(
      [...record.headers].map(([name, bytes]) => [name, bytes.toString('base64')]),
    );
    const inserted = await client.query<{ id: string }>(
      `INSERT INTO ${outboxTable} (event_id, event_type, topic, key, value, headers)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [attributes.id, attributes.type, contract.topic, record.key, record.value, headers],
    );
    return { id: attributes.id, outboxId: BigInt(inserted.rows[0]?.id ?? -1) };
  }
}

export interface OutboxRelayOptions {
  readonly pool: pg.Pool;
  readonly producer: EventProducer;
  /** Rows per send. Default 100. */
  readonly batchSize?: number;
  /** Wait when the outbox is empty, or for the lock as a standby. Default 200. */
  readonly pollIntervalMs?: number;
  /** Called after each batch is sent and marked (progress, tests). */
  readonly onBatch?: (sent: number) => void;
  readonly onError?: (error: unknown) => void;
}

interface OutboxRow {
  id: string;
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

const relayLockKey = 'tributary_outbox_relay';
const defaultBatchSize = 100;
const defaultPollIntervalMs = 200;

export class OutboxRelay {
  readonly #options: OutboxRelayOptions;
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;
  #sent = 0;

  constructor(options: OutboxRelayOptions) {
    this.#options = options;
  }

  /** Rows published since start. */
  get sent(): number {
    return this.#sent;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** Finishes the batch in flight, releases the lock. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  async #run(): Promise<void> {
    const pollMs = this.#options.pollIntervalMs ?? defaultPollIntervalMs;
    while (!this.#stop.signal.aborted) {
      try {
        await this.#whileLocked(pollMs);
      } catch (error: unknown) {
        if (this.#stop.signal.aborted) break;
        this.#options.onError?.(error);
      }
      await sleep(pollMs, undefined, { signal: this.#stop.signal }).catch(() => undefined);
    }
  }

  /** Takes the relay lock (or returns to wait as a standby) and relays until stopped. */
  async #whileLocked(pollMs: number): Promise<void> {
    const client = await this.#options.pool.connect();
    let broken = false;
    try {
      // Advisory locks are per database: the key names the schema the outbox table is in.
      const locked = await client.query<{ locked: boolean; key: string }>(
        `SELECT pg_try_advisory_lock(hashtext(current_schema() || '.' || $1)) AS locked,
                current_schema() || '.' || $1 AS key`,
        [relayLockKey],
      );
      const lockKey = locked.rows[0]?.key ?? relayLockKey;
      if (locked.rows[0]?.locked !== true) return;
      try {
        while (!this.#stop.signal.aborted) {
          const sent = await this.relayBatch(client);
          if (sent === 0) {
            await sleep(pollMs, undefined, { signal: this.#stop.signal }).catch(() => undefined);
          }
        }
      } finally {
        await client
          .query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey])
          .catch(() => (broken = true));
      }
    } catch (error: unknown) {
      broken = true;
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** Publishes one batch of unsent rows in id order and marks them; returns how many. */
  async relayBatch(client: pg.ClientBase): Promise<number> {
    const rows = await client.query<OutboxRow>(
      `SELECT id, topic, key, value, headers FROM ${outboxTable}
       WHERE sent_at IS NULL ORDER BY id LIMIT $1`,
      [this.#options.batchSize ?? defaultBatchSize],
    );
    if (rows.rows.length === 0) return 0;
    const records: TopicRecord[] = rows.rows.map((row) => ({
      topic: row.topic,
      key: row.key ?? undefined,
      value: row.value ?? undefined,
      headers: new Map(
        Object.entries(row.headers).map(([name, value]) => [name, Buffer.from(value, 'base64')]),
      ),
    }));
    await this.#options.producer.send(records);
    await client.query(`UPDATE ${outboxTable} SET sent_at = now() WHERE id = ANY($1::bigint[])`, [
      rows.rows.map((row) => row.id),
    ]);
    this.#sent += rows.rows.length;
    this.#options.onBatch?.(rows.rows.length);
    return rows.rows.length;
  }
}
