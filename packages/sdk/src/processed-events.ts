/**
 * Idempotent consumption in the service's own PostgreSQL: the event id is inserted into
 * `tributary_processed_events` in the same transaction as the handler's side effects. A
 * redelivered event (a crash before the offset commit, a redrive, the outbox's at-least-once)
 * finds its id there and is skipped; two deliveries racing each other serialize on the primary
 * key, and the second sees the first's row once it commits.
 */
import type pg from 'pg';

export const processedEventsTable = 'tributary_processed_events';

export async function createProcessedEventsTable(pool: pg.Pool): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS ${processedEventsTable} (
    consumer_group text NOT NULL,
    event_id text NOT NULL,
    event_type text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, event_id)
  )`);
}

/**
 * Runs `work` in a transaction that records (`group`, `eventId`) first; returns false without
 * running it when the event was already processed. `work` throwing rolls everything back, the
 * id included, so a retry runs it again.
 */
export async function processOnce(
  pool: pg.Pool,
  event: { group: string; id: string; type: string },
  work: (client: pg.PoolClient) => Promise<void>,
): Promise<boolean> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const inserted = await client.query(
      `INSERT INTO ${processedEventsTable} (consumer_group, event_id, event_type)
       VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      [event.group, event.id, event.type],
    );
    if (inserted.rowCount === 0) {
      await client.query('ROLLBACK');
      return false;
    }
    await work(client);
    await client.query('COMMIT');
    return true;
  } catch (error: unknown) {
    await client.query('ROLLBACK').catch(() => (broken = true));
    throw error;
  } finally {
    client.release(broken);
  }
}
