/**
 * The shipping service: one shipment per order (the order id is its key), with a tracking id,
 * recorded with the `OrderShipped` event in the handler's transaction.
 */
import assert from 'node:assert/strict';
import { OrderShipped, ShipmentRequested } from '../contracts.ts';
import { ServiceRuntime } from '../service-runtime.ts';

const service = new ServiceRuntime('shipping');
await service.prepare([
  `CREATE TABLE IF NOT EXISTS shipments (
    order_id text PRIMARY KEY,
    tracking_id text NOT NULL UNIQUE,
    customer_id text NOT NULL,
    items jsonb NOT NULL,
    shipped_at timestamptz NOT NULL DEFAULT now()
  )`,
]);

const consumer = service.consumer();

consumer.on(ShipmentRequested, async ({ data }, { db }) => {
  assert.ok(db, 'a shop consumer runs with its pool');
  const trackingId = `TRK-${data.orderId}`;
  const inserted = await db.query(
    `INSERT INTO shipments (order_id, tracking_id, customer_id, items) VALUES ($1, $2, $3, $4)
     ON CONFLICT (order_id) DO NOTHING`,
    [data.orderId, trackingId, data.customerId, JSON.stringify(data.items)],
  );
  if (inserted.rowCount === 0) return;
  await service.outbox.add(db, OrderShipped, { orderId: data.orderId, trackingId });
});

await service.run();
