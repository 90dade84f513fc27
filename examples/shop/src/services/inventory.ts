/**
 * The product/inventory service: the catalog and its stock levels. A reservation takes the
 * stock of every line of an order or of none (rows locked in sku order, so concurrent
 * reservations cannot deadlock) and is recorded under the order id: a second request for the
 * same order (a redelivery, a saga retrying) finds it and changes nothing. A release puts a
 * reserved order's stock back once, however often it is asked.
 *
 * Invariant: for every sku, initial stock = available + reserved and not released.
 *
 *   GET /stock    every sku's available and initial stock
 */
import assert from 'node:assert/strict';
import {
  catalog,
  StockRejected,
  StockReleaseRequested,
  StockReservationRequested,
  StockReserved,
  type OrderLine,
} from '../contracts.ts';
import { sendJson, ServiceRuntime } from '../service-runtime.ts';

/** Units of each sku at first start (SHOP_INITIAL_STOCK overrides, for tests). */
const initialStock = Number(process.env['SHOP_INITIAL_STOCK'] ?? 1_000);

const service = new ServiceRuntime('inventory');
await service.prepare([
  `CREATE TABLE IF NOT EXISTS products (
    sku text PRIMARY KEY,
    name text NOT NULL,
    price_cents bigint NOT NULL,
    initial int NOT NULL,
    available int NOT NULL CHECK (available >= 0)
  )`,
  `CREATE TABLE IF NOT EXISTS reservations (
    order_id text PRIMARY KEY,
    items jsonb NOT NULL,
    status text NOT NULL CHECK (status IN ('reserved', 'rejected', 'released')),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
]);
for (const product of catalog) {
  await service.pool.query(
    `INSERT INTO products (sku, name, price_cents, initial, available)
     VALUES ($1, $2, $3, $4, $4) ON CONFLICT (sku) DO NOTHING`,
    [product.sku, product.name, product.priceCents, initialStock],
  );
}

/** Units per sku of an order's lines (an order may list a sku twice). */
function unitsBySku(items: readonly OrderLine[]): Map<string, number> {
  const units = new Map<string, number>();
  for (const item of items) units.set(item.sku, (units.get(item.sku) ?? 0) + item.quantity);
  return units;
}

const consumer = service.consumer();

consumer.on(StockReservationRequested, async ({ data }, { db }) => {
  assert.ok(db, 'a shop consumer runs with its pool');
  const known = await db.query('SELECT 1 FROM reservations WHERE order_id = $1', [data.orderId]);
  if (known.rows.length > 0) return;
  const units = unitsBySku(data.items);
  const skus = [...units.keys()].toSorted();
  const stock = await db.query<{ sku: string; available: number }>(
    'SELECT sku, available FROM products WHERE sku = ANY($1) ORDER BY sku FOR UPDATE',
    [skus],
  );
  const available = new Map(stock.rows.map((row) => [row.sku, row.available]));
  const short = skus.filter((sku) => (available.get(sku) ?? 0) < (units.get(sku) ?? 0));
  const status = short.length === 0 ? 'reserved' : 'rejected';
  await db.query('INSERT INTO reservations (order_id, items, status) VALUES ($1, $2, $3)', [
    data.orderId,
    JSON.stringify(data.items),
    status,
  ]);
  if (status === 'rejected') {
    const reason = `out of stock: ${short.join(', ')}`;
    await service.outbox.add(db, StockRejected, { orderId: data.orderId, reason });
    return;
  }
  for (const sku of skus) {
    await db.query('UPDATE products SET available = available - $2 WHERE sku = $1', [
      sku,
      units.get(sku),
    ]);
  }
  await service.outbox.add(db, StockReserved, { orderId: data.orderId });
});

consumer.on(StockReleaseRequested, async ({ data }, { db }) => {
  assert.ok(db, 'a shop consumer runs with its pool');
  const released = await db.query<{ items: OrderLine[] }>(
    `UPDATE reservations SET status = 'released', updated_at = now()
     WHERE order_id = $1 AND status = 'reserved' RETURNING items`,
    [data.orderId],
  );
  const items = released.rows[0]?.items;
  if (items === undefined) return;
  const units = unitsBySku(items);
  for (const sku of [...units.keys()].toSorted()) {
    await db.query('UPDATE products SET available = available + $2 WHERE sku = $1', [
      sku,
      units.get(sku),
    ]);
  }
});

service.route(async (request, response) => {
  if (request.method !== 'GET' || request.url !== '/stock') return false;
  const result = await service.pool.query(
    'SELECT sku, name, price_cents AS "priceCents", initial, available FROM products ORDER BY sku',
  );
  sendJson(response, 200, result.rows);
  return true;
});

await service.run();
