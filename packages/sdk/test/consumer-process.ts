/**
 * An idempotent EventConsumer as its own process, so a test can kill it with SIGKILL while
 * events flow. Reads SDK_BOOTSTRAP, SDK_DATABASE_URL, SDK_TOPIC and SDK_GROUP; each handled
 * event inserts one row into `effects` in the transaction that records its id.
 */
import pg from 'pg';
import { EventConsumer } from '../src/index.ts';
import { orderPlacedContract } from './contracts.ts';

const pool = new pg.Pool({ connectionString: process.env.SDK_DATABASE_URL, max: 4 });
const consumer = new EventConsumer({
  bootstrap: process.env.SDK_BOOTSTRAP ?? 'localhost:9092',
  groupId: process.env.SDK_GROUP ?? 'effects',
  pool,
  retryDelaysMs: [],
  sessionTimeoutMs: 6_000,
});
consumer.on(orderPlacedContract(process.env.SDK_TOPIC ?? 'orders'), async (event, { db }) => {
  await db?.query('INSERT INTO effects (event_id, order_id, seq) VALUES ($1, $2, $3)', [
    event.id,
    event.data.orderId,
    event.data.totalCents,
  ]);
});
await consumer.start();
process.stdout.write('consuming\n');
