/**
 * The cart service: the shop's HTTP API. A cart collects lines (`PUT` sets a line's quantity,
 * so repeating it is harmless) and checking out turns it into an order: the cart is marked
 * checked out and `OrderPlaced` is added to the outbox in the same transaction, so the event is
 * published exactly when the checkout commits. The order id is the cart id: checking out again
 * answers the same order and publishes nothing, which makes a client's retry safe.
 *
 *   PUT  /carts/:cart/items/:sku   {"quantity": 2}
 *   POST /carts/:cart/checkout     {"customerId": "c-1", "card": "4242424242424242"}
 *   GET  /products
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { catalog, OrderPlaced, type OrderLine } from '../contracts.ts';
import { inTransaction, readJson, sendJson, ServiceRuntime } from '../service-runtime.ts';

const service = new ServiceRuntime('cart');
await service.prepare([
  `CREATE TABLE IF NOT EXISTS carts (
    id text PRIMARY KEY,
    customer_id text,
    checked_out_at timestamptz,
    total_cents bigint
  )`,
  `CREATE TABLE IF NOT EXISTS cart_lines (
    cart_id text NOT NULL REFERENCES carts (id),
    sku text NOT NULL,
    quantity int NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (cart_id, sku)
  )`,
]);

const prices = new Map(catalog.map((product) => [product.sku, product.priceCents]));
const linePath = /^\/carts\/([\w-]{1,64})\/items\/([\w-]{1,64})$/;
const checkoutPath = /^\/carts\/([\w-]{1,64})\/checkout$/;

service.route(async (request, response) => {
  const url = request.url ?? '';
  if (request.method === 'GET' && url === '/products') {
    sendJson(response, 200, catalog);
    return true;
  }
  const line = linePath.exec(url);
  if (request.method === 'PUT' && line !== null) {
    await setLine(request, response, line[1] ?? '', line[2] ?? '');
    return true;
  }
  const checkout = checkoutPath.exec(url);
  if (request.method === 'POST' && checkout !== null) {
    await checkOut(request, response, checkout[1] ?? '');
    return true;
  }
  return false;
});

async function setLine(
  request: IncomingMessage,
  response: ServerResponse,
  cartId: string,
  sku: string,
): Promise<void> {
  const { quantity } = (await readJson(request)) as { quantity?: unknown };
  if (!prices.has(sku)) return sendJson(response, 404, { error: `no product ${sku}` });
  if (!Number.isInteger(quantity) || (quantity as number) < 0) {
    return sendJson(response, 400, { error: 'quantity must be an integer >= 0' });
  }
  const status = await inTransaction(service.pool, async (db) => {
    await db.query('INSERT INTO carts (id) VALUES ($1) ON CONFLICT DO NOTHING', [cartId]);
    const cart = await db.query('SELECT checked_out_at FROM carts WHERE id = $1 FOR UPDATE', [
      cartId,
    ]);
    if (cart.rows[0]?.checked_out_at !== null) return 409;
    if (quantity === 0) {
      await db.query('DELETE FROM cart_lines WHERE cart_id = $1 AND sku = $2', [cartId, sku]);
    } else {
      await db.query(
        `INSERT INTO cart_lines (cart_id, sku, quantity) VALUES ($1, $2, $3)
         ON CONFLICT (cart_id, sku) DO UPDATE SET quantity = EXCLUDED.quantity`,
        [cartId, sku, quantity],
      );
    }
    return 200;
  });
  if (status === 409) sendJson(response, 409, { error: 'cart already checked out' });
  else sendJson(response, 200, { cartId, sku, quantity });
}

async function checkOut(
  request: IncomingMessage,
  response: ServerResponse,
  cartId: string,
): Promise<void> {
  const { customerId, card } = (await readJson(request)) as {
    customerId?: unknown;
    card?: unknown;
  };
  if (typeof customerId !== 'string' || typeof card !== 'string' || !/^\d{12,19}$/.test(card)) {
    return sendJson(response, 400, { error: 'customerId and a card number are required' });
  }
  const answer = await inTransaction(service.pool, async (db) => {
    const cart = await db.query<{ checked_out_at: Date | null; total_cents: string | null }>(
      'SELECT checked_out_at, total_cents FROM carts WHERE id = $1 FOR UPDATE',
      [cartId],
    );
    const row = cart.rows[0];
    if (row === undefined) return { status: 404, body: { error: 'no such cart' } };
    // Checked out before (a client retrying): the same order, nothing published again.
    if (row.checked_out_at !== null) {
      return { status: 200, body: { orderId: cartId, totalCents: Number(row.total_cents) } };
    }
    const lines = await db.query<{ sku: string; quantity: number }>(
      'SELECT sku, quantity FROM cart_lines WHERE cart_id = $1 ORDER BY sku',
      [cartId],
    );
    if (lines.rows.length === 0) return { status: 409, body: { error: 'the cart is empty' } };
    const items: OrderLine[] = lines.rows.map(({ sku, quantity }) => ({
      sku,
      quantity,
      priceCents: prices.get(sku) ?? 0,
    }));
    const totalCents = items.reduce((sum, item) => sum + item.quantity * item.priceCents, 0);
    await db.query(
      `UPDATE carts SET checked_out_at = now(), customer_id = $2, total_cents = $3
       WHERE id = $1`,
      [cartId, customerId, totalCents],
    );
    await service.outbox.add(db, OrderPlaced, {
      orderId: cartId,
      customerId,
      card,
      items,
      totalCents,
    });
    return { status: 201, body: { orderId: cartId, totalCents } };
  });
  sendJson(response, answer.status, answer.body);
}

await service.run();
