/**
 * The notification service tells the customer how the order ended: one email per order, when
 * it completes or is cancelled. The email is a row written in the handler's transaction (so a
 * redelivered event writes none) and `NotificationFile` delivers rows to the mailbox file
 * (SHOP_NOTIFICATION_FILE) exactly once.
 */
import assert from 'node:assert/strict';
import { OrderCancelled, OrderCompleted } from '../contracts.ts';
import { emailsSql, NotificationFile } from '../notification-file.ts';
import { describe, ServiceRuntime } from '../service-runtime.ts';

const service = new ServiceRuntime('notification');
await service.prepare([emailsSql]);

const mailbox = new NotificationFile({
  path: process.env['SHOP_NOTIFICATION_FILE'] ?? 'notifications.jsonl',
  pool: service.pool,
});
await mailbox.start((error) => service.log(`mailbox: ${describe(error)}`));

const consumer = service.consumer();
const insertEmail = `INSERT INTO emails (id, order_id, recipient, subject, body)
  VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id) DO NOTHING`;

consumer.on(OrderCompleted, async (event, { db }) => {
  assert.ok(db, 'a shop consumer runs with its pool');
  const { orderId, customerId, totalCents } = event.data;
  await db.query(insertEmail, [
    `email-${event.id}`,
    orderId,
    `${customerId}@customers.example`,
    `Your order ${orderId} is on its way`,
    `We charged ${(totalCents / 100).toFixed(2)} and shipped your order ${orderId}.`,
  ]);
});

consumer.on(OrderCancelled, async (event, { db }) => {
  assert.ok(db, 'a shop consumer runs with its pool');
  const { orderId, customerId, reason } = event.data;
  await db.query(insertEmail, [
    `email-${event.id}`,
    orderId,
    `${customerId}@customers.example`,
    `Your order ${orderId} was cancelled`,
    `We could not complete your order ${orderId} (${reason}); nothing was charged.`,
  ]);
});

await service.run();
