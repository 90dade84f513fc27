/**
 * The payment service charges an order's card through the (fake) provider, with the order id as
 * the idempotency key: a call that timed out is retried by the SDK's retry tier with the same
 * key, and a redelivery after a crash calls again with it, so the provider charges each order
 * at most once. The outcome (charged or refused) is recorded per order with the event that
 * reports it, in the handler's transaction.
 */
import assert from 'node:assert/strict';
import { PaymentCharged, PaymentRefused, PaymentRequested } from '../contracts.ts';
import { FakePaymentProvider, providerChargesSql } from '../fake-payment-provider.ts';
import { ServiceRuntime } from '../service-runtime.ts';

const service = new ServiceRuntime('payment');
await service.prepare([
  `CREATE TABLE IF NOT EXISTS payments (
    order_id text PRIMARY KEY,
    outcome text NOT NULL CHECK (outcome IN ('charged', 'refused')),
    charge_id text UNIQUE,
    amount_cents bigint NOT NULL,
    attempts int NOT NULL,
    decided_at timestamptz NOT NULL DEFAULT now()
  )`,
  providerChargesSql,
]);

const provider = new FakePaymentProvider(service.pool);
const consumer = service.consumer();

consumer.on(PaymentRequested, async ({ data }, { db, attempt }) => {
  assert.ok(db, 'a shop consumer runs with its pool');
  const known = await db.query('SELECT 1 FROM payments WHERE order_id = $1', [data.orderId]);
  if (known.rows.length > 0) return;
  // A ProviderTimeoutError propagates: the SDK sends the request to the retry tier.
  const result = await provider.charge({
    idempotencyKey: `order-${data.orderId}`,
    card: data.card,
    amountCents: data.amountCents,
    attempt,
  });
  await db.query(
    `INSERT INTO payments (order_id, outcome, charge_id, amount_cents, attempts)
     VALUES ($1, $2, $3, $4, $5)`,
    [
      data.orderId,
      result.outcome,
      result.outcome === 'charged' ? result.chargeId : null,
      data.amountCents,
      attempt,
    ],
  );
  if (result.outcome === 'charged') {
    await service.outbox.add(db, PaymentCharged, {
      orderId: data.orderId,
      chargeId: result.chargeId,
      amountCents: data.amountCents,
    });
  } else {
    await service.outbox.add(db, PaymentRefused, { orderId: data.orderId, reason: result.reason });
  }
});

await service.run();
