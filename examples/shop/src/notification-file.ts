/**
 * The notification service's mailbox: emails appended to a file, one JSON line each, exactly
 * once. An email is first a row of the `emails` table (written in the handler's transaction);
 * `NotificationFile` then appends unsent rows to the file, fsyncs, and marks them sent. A crash
 * between the append and the mark would send again, so at start the file is the truth: a torn
 * last line (a crash mid-append) is cut off and every email id found in the file is marked sent
 * before anything new is appended. Only one writer runs (the service is one process).
 */
import { open, readFile, truncate } from 'node:fs/promises';
import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';

export const emailsSql = `CREATE TABLE IF NOT EXISTS emails (
  id text PRIMARY KEY,
  order_id text NOT NULL UNIQUE,
  recipient text NOT NULL,
  subject text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
)`;

export interface Email {
  readonly id: string;
  readonly orderId: string;
  readonly to: string;
  readonly subject: string;
  readonly body: string;
}

const batchRows = 200;
const idleWaitMs = 100;

export class NotificationFile {
  readonly #path: string;
  readonly #pool: pg.Pool;
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;

  constructor(options: { path: string; pool: pg.Pool }) {
    this.#path = options.path;
    this.#pool = options.pool;
  }

  /** Reconciles the table with the file, then appends new emails until `stop`. */
  async start(onError: (error: unknown) => void): Promise<void> {
    await this.#reconcile();
    this.#running = (async () => {
      while (!this.#stop.signal.aborted) {
        const written = await this.#appendBatch().catch((error: unknown) => {
          onError(error);
          return 0;
        });
        if (written === 0) await sleep(idleWaitMs, undefined, { signal: this.#stop.signal });
      }
    })().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  async #reconcile(): Promise<void> {
    const text = await readFile(this.#path, 'utf8').catch(() => '');
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) await truncate(this.#path, Buffer.byteLength(text.slice(0, end)));
    const ids = text
      .slice(0, end)
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as Email).id);
    await this.#pool.query(
      'UPDATE emails SET sent_at = now() WHERE id = ANY($1) AND sent_at IS NULL',
      [ids],
    );
  }

  async #appendBatch(): Promise<number> {
    const rows = await this.#pool.query<{
      id: string;
      order_id: string;
      recipient: string;
      subject: string;
      body: string;
    }>(
      `SELECT id, order_id, recipient, subject, body FROM emails
       WHERE sent_at IS NULL ORDER BY created_at, id LIMIT $1`,
      [batchRows],
    );
    if (rows.rows.length === 0) return 0;
    const lines = rows.rows.map((row) => {
      const email: Email = {
        id: row.id,
        orderId: row.order_id,
        to: row.recipient,
        subject: row.subject,
        body: row.body,
      };
      return `${JSON.stringify(email)}\n`;
    });
    const file = await open(this.#path, 'a');
    try {
      await file.write(lines.join(''));
      await file.sync();
    } finally {
      await file.close();
    }
    await this.#pool.query('UPDATE emails SET sent_at = now() WHERE id = ANY($1)', [
      rows.rows.map((row) => row.id),
    ]);
    return rows.rows.length;
  }
}
