/**
 * The order service runs the saga of each order: reserve stock, then charge, then ship. Every
 * step is a handler that moves the order's state forward only from the state it expects
 * (`UPDATE ... WHERE status = ...`) and adds the next command to the outbox in the same
 * transaction, so a redelivered event or a crash between steps neither repeats nor skips one.
 * Compensation: stock refused -> cancelled; payment refused -> stock released, cancelled.
 *
 *   reserving --StockReserved--> charging --PaymentCharged--> shipping --OrderShipped--> completed
 *       \--StockRejected--> cancelled        \--PaymentRefused--> cancelled (+ release stock)
 *
 *   GET /orders/:id    the order and its state
 */
import assert from 'node:assert/strict';
import type pg from 'pg';
import {
  OrderCancelled,
  OrderCompleted,
  OrderPlaced,
  OrderShipped,
  PaymentCharged,
  PaymentRefused,
  PaymentRequested,
  ShipmentRequested,
  StockRejected,
  StockReleaseRequested,
  StockReservationRequested,
  StockReserved,
  type OrderLine,
} from '../contracts.ts';
import { sendJson, ServiceRuntime } from '../service-runtime.ts';

const service = new ServiceRuntime('order');
await service.prepare([
  `CREATE TABLE IF NOT EXISTS orders (
    id text PRIMARY KEY,
    customer_id text NOT NULL,
    card text NOT NULL,
    items jsonb NOT NULL,
    total_cents bigint NOT NULL,
    status text NOT NULL CHECK (status IN
      ('reserving', 'charging', 'shipping', 'completed', 'cancelled')),
    cancel_reason text,
    charge_id text,
    placed_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
]);

interface OrderRow {
  id: string;
  customer_id: string;
  card: string;
  items: OrderLine[];
  total_cents: string;
}

/** Moves the order from `from` to `to`; the row when it was in `from`, else undefined. */
async function advance(
  db: pg.PoolClient,
  orderId: string,
  from: string,
  to: string,
  extra: { cancelReason?: string; chargeId?: string } = {},
): Promise<OrderRow | undefined> {
  const result = await db.query<OrderRow>(
    `UPDATE orders SET status = $3, updated_at = now(),
       cancel_reason = coalesce($4, cancel_reason), charge_id = coalesce($5, charge_id)
     WHERE id = $1 AND status = $2
     RETURNING id, customer_id, card, items, total_cents`,
    [orderId, from, to, extra.cancelReason ?? null, extra.chargeId ?? null],
  );
  return result.rows[0];
}

const consumer = service.consumer();
const { outbox } = service;

consumer.on(OrderPlaced, async ({ data }, { db }) => {
  assert.ok(db, 'a shop consumer runs with its pool');
  const inserted = await db.query(
    `INSERT INTO orders (id, customer_id, card, items, total_cents, status)
     VALUES ($1, $2, $3, $4, $5, 'reserving') ON CONFLICT (id) DO NOTHING`,
    [data.orderId, data.customerId, data.card, JSON.stringify(data.items), data.totalCents],
  );
  if (inserted.rowCount === 0) return;
  await outbox.add(db, StockReservationRequested, { orderId: data.orderId, items: data.items });
});

consumer.on(StockReserved, async ({ data }, { db }) => {
  assert.ok(db, 'a shop consumer runs with its pool');
  const order = await advance(db, data.orderId, 'reserving', 'charging');
  if (order === undefined) return;
  await outbox.add(db, PaymentRequested, {
    orderId: order.id,
    customerId: order.customer_id,
    card: order.card,
    amountCents: Number(order.total_cents),
  });
});

consumer.on(StockRejected, async ({ data }, { db }) => {
  assert.ok(db, 'a shop consumer runs with its pool');
  const order = await advance(db, data.orderId, 'reserving', 'cancelled', {
    cancelReason: data.reason,
  });
  if (order === undefined) return;
  await outbox.add(db, OrderCancelled, {
    orderId: order.id,
    customerId: order.customer_id,
    reason: data.reason,
  });
});

consumer.on(PaymentCharged, async ({ data }, { db }) => {
  assert.ok(db, 'a shop consumer runs with its pool');
  const order = await advance(db, data.orderId, 'charging', 'shipping', {
    chargeId: data.chargeId,
  });
  if (order === undefined) return;
  await outbox.add(db, ShipmentRequested, {
    orderId: order.id,
    customerId: order.customer_id,
    items: order.items,
  });
});

consumer.on(PaymentRefused, async ({ data }, { db }) => {
  assert.ok(db, 'a shop consumer runs with its pool');
  const order = await advance(db, data.orderId, 'charging', 'cancelled', {
    cancelReason: data.reason,
  });
  if (order === undefined) return;
  // Compensation: the stock reserved for it goes back before the customer hears of it.
  await outbox.add(db, StockReleaseRequested, { orderId: order.id });
  await outbox.add(db, OrderCancelled, {
    orderId: order.id,
    customerId: order.customer_id,
    reason: data.reason,
  });
});

consumer.on(OrderShipped, async ({ data }, { db }) => {
  assert.ok(db, 'a shop consumer runs with its pool');
  const order = await advance(db, data.orderId, 'shipping', 'completed');
  if (order === undefined) return;
  await outbox.add(db, OrderCompleted, {
    orderId: order.id,
    customerId: order.customer_id,
    totalCents: Number(order.total_cents),
  });
});

const orderPath = /^\/orders\/([\w-]{1,64})$/;
service.route(async (request, response) => {
  const match = orderPath.exec(request.url ?? '');
  if (request.method !== 'GET' || match === null) return false;
  const result = await service.pool.query(
    `SELECT id, customer_id AS "customerId", items, total_cents::int AS "totalCents", status,
       cancel_reason AS "cancelReason", charge_id AS "chargeId" FROM orders WHERE id = $1`,
    [match[1]],
  );
  const order: unknown = result.rows[0];
  if (order === undefined) sendJson(response, 404, { error: 'no such order (yet)' });
  else sendJson(response, 200, order);
  return true;
});

await service.run();
