/**
 * The sales report: a read model of completed and cancelled orders and the revenue, built only
 * from `shop.order.events`. It can join at any time: a new group starts from the earliest
 * record, replays history, and prints `sales-report caught up` with its totals once it has
 * reached the end of the log as it was at start (then it follows live events).
 *
 *   GET /report    orders completed and cancelled, revenue in cents
 */
import assert from 'node:assert/strict';
import { OrderCancelled, OrderCompleted } from '../contracts.ts';
import { sendJson, ServiceRuntime } from '../service-runtime.ts';

const service = new ServiceRuntime('sales-report');
await service.prepare([
  `CREATE TABLE IF NOT EXISTS sales (
    order_id text PRIMARY KEY,
    outcome text NOT NULL CHECK (outcome IN ('completed', 'cancelled')),
    total_cents bigint NOT NULL
  )`,
]);

const consumer = service.consumer({
  groupId: process.env['SHOP_REPORT_GROUP'] ?? 'shop-sales-report',
  startFrom: 'earliest',
});

consumer.on(OrderCompleted, async ({ data }, { db }) => {
  assert.ok(db, 'a shop consumer runs with its pool');
  await db.query(
    `INSERT INTO sales (order_id, outcome, total_cents) VALUES ($1, 'completed', $2)
     ON CONFLICT (order_id) DO NOTHING`,
    [data.orderId, data.totalCents],
  );
});

consumer.on(OrderCancelled, async ({ data }, { db }) => {
  assert.ok(db, 'a shop consumer runs with its pool');
  await db.query(
    `INSERT INTO sales (order_id, outcome, total_cents) VALUES ($1, 'cancelled', 0)
     ON CONFLICT (order_id) DO NOTHING`,
    [data.orderId],
  );
});

async function report(): Promise<{ completed: number; cancelled: number; revenueCents: number }> {
  const result = await service.pool.query<{
    completed: number;
    cancelled: number;
    revenue: string;
  }>(
    `SELECT count(*) FILTER (WHERE outcome = 'completed')::int AS completed,
            count(*) FILTER (WHERE outcome = 'cancelled')::int AS cancelled,
            coalesce(sum(total_cents), 0) AS revenue FROM sales`,
  );
  const row = result.rows[0];
  return {
    completed: row?.completed ?? 0,
    cancelled: row?.cancelled ?? 0,
    revenueCents: Number(row?.revenue ?? 0),
  };
}

service.route(async (request, response) => {
  if (request.method !== 'GET' || request.url !== '/report') return false;
  sendJson(response, 200, await report());
  return true;
});

await service.run({ relay: false });
await consumer.caughtUp({
  onProgress: ({ handled, total }) => service.log(`replay ${handled}/${total}`),
  intervalMs: 2_000,
});
process.stdout.write(`sales-report caught up ${JSON.stringify(await report())}\n`);
