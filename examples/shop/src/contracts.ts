/**
 * The shop's event contracts: every event any service publishes, declared once and imported by
 * its producer and its consumers. Each is a CloudEvent whose data schema (JSON Schema) is
 * registered in the schema registry under `<topic>-<type>` on first publish, so a change that
 * would break a consumer is refused there (BACKWARD compatibility) before it reaches a topic.
 *
 * Topics are named after the service that owns them: commands a service accepts
 * (`shop.<service>.commands`) and the events it reports (`shop.<service>.events`); one order's
 * records are keyed by its id, so each partition sees them in order.
 */
import { defineEvent } from '@tributary/sdk';
import type { JSONSchemaType } from 'ajv';

export const topics = {
  orders: 'shop.orders',
  inventoryCommands: 'shop.inventory.commands',
  inventoryEvents: 'shop.inventory.events',
  paymentCommands: 'shop.payment.commands',
  paymentEvents: 'shop.payment.events',
  shippingCommands: 'shop.shipping.commands',
  shippingEvents: 'shop.shipping.events',
  orderEvents: 'shop.order.events',
} as const;

export const topicPartitions = 4;

export interface OrderLine {
  sku: string;
  quantity: number;
  priceCents: number;
}

const orderLines: JSONSchemaType<OrderLine[]> = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    required: ['sku', 'quantity', 'priceCents'],
    additionalProperties: false,
    properties: {
      sku: { type: 'string', minLength: 1 },
      quantity: { type: 'integer', minimum: 1 },
      priceCents: { type: 'integer', minimum: 0 },
    },
  },
};

const id = { type: 'string', minLength: 1 } as const;
const cents = { type: 'integer', minimum: 0 } as const;
const text = { type: 'string' } as const;

/** A JSON Schema object of string and integer fields, all required. */
function record<T>(properties: Record<string, unknown>): JSONSchemaType<T> {
  return {
    type: 'object',
    required: Object.keys(properties),
    additionalProperties: false,
    properties,
  } as unknown as JSONSchemaType<T>;
}

const byOrder = (value: { orderId: string }): string => value.orderId;

/** The cart checked out: the order's lines and the card to charge (cart -> order). */
export interface OrderPlaced {
  orderId: string;
  customerId: string;
  card: string;
  items: OrderLine[];
  totalCents: number;
}
export const OrderPlaced = defineEvent<OrderPlaced>({
  type: 'shop.order.placed',
  version: 1,
  topic: topics.orders,
  aggregateId: byOrder,
  schema: record<OrderPlaced>({
    orderId: id,
    customerId: id,
    card: id,
    items: orderLines,
    totalCents: cents,
  }),
});

export interface StockReservationRequested {
  orderId: string;
  items: OrderLine[];
}
export const StockReservationRequested = defineEvent<StockReservationRequested>({
  type: 'shop.inventory.reservation-requested',
  version: 1,
  topic: topics.inventoryCommands,
  aggregateId: byOrder,
  schema: record<StockReservationRequested>({ orderId: id, items: orderLines }),
});

/** Compensation: the order was cancelled after its stock was reserved. */
export interface StockReleaseRequested {
  orderId: string;
}
export const StockReleaseRequested = defineEvent<StockReleaseRequested>({
  type: 'shop.inventory.release-requested',
  version: 1,
  topic: topics.inventoryCommands,
  aggregateId: byOrder,
  schema: record<StockReleaseRequested>({ orderId: id }),
});

export interface StockReserved {
  orderId: string;
}
export const StockReserved = defineEvent<StockReserved>({
  type: 'shop.inventory.reserved',
  version: 1,
  topic: topics.inventoryEvents,
  aggregateId: byOrder,
  schema: record<StockReserved>({ orderId: id }),
});

export interface StockRejected {
  orderId: string;
  reason: string;
}
export const StockRejected = defineEvent<StockRejected>({
  type: 'shop.inventory.rejected',
  version: 1,
  topic: topics.inventoryEvents,
  aggregateId: byOrder,
  schema: record<StockRejected>({ orderId: id, reason: text }),
});

export interface PaymentRequested {
  orderId: string;
  customerId: string;
  card: string;
  amountCents: number;
}
export const PaymentRequested = defineEvent<PaymentRequested>({
  type: 'shop.payment.requested',
  version: 1,
  topic: topics.paymentCommands,
  aggregateId: byOrder,
  schema: record<PaymentRequested>({
    orderId: id,
    customerId: id,
    card: id,
    amountCents: cents,
  }),
});

export interface PaymentCharged {
  orderId: string;
  chargeId: string;
  amountCents: number;
}
export const PaymentCharged = defineEvent<PaymentCharged>({
  type: 'shop.payment.charged',
  version: 1,
  topic: topics.paymentEvents,
  aggregateId: byOrder,
  schema: record<PaymentCharged>({ orderId: id, chargeId: id, amountCents: cents }),
});

export interface PaymentRefused {
  orderId: string;
  reason: string;
}
export const PaymentRefused = defineEvent<PaymentRefused>({
  type: 'shop.payment.refused',
  version: 1,
  topic: topics.paymentEvents,
  aggregateId: byOrder,
  schema: record<PaymentRefused>({ orderId: id, reason: text }),
});

export interface ShipmentRequested {
  orderId: string;
  customerId: string;
  items: OrderLine[];
}
export const ShipmentRequested = defineEvent<ShipmentRequested>({
  type: 'shop.shipping.requested',
  version: 1,
  topic: topics.shippingCommands,
  aggregateId: byOrder,
  schema: record<ShipmentRequested>({ orderId: id, customerId: id, items: orderLines }),
});

export interface OrderShipped {
  orderId: string;
  trackingId: string;
}
export const OrderShipped = defineEvent<OrderShipped>({
  type: 'shop.shipping.shipped',
  version: 1,
  topic: topics.shippingEvents,
  aggregateId: byOrder,
  schema: record<OrderShipped>({ orderId: id, trackingId: id }),
});

/** Terminal: shipped and paid. */
export interface OrderCompleted {
  orderId: string;
  customerId: string;
  totalCents: number;
}
export const OrderCompleted = defineEvent<OrderCompleted>({
  type: 'shop.order.completed',
  version: 1,
  topic: topics.orderEvents,
  aggregateId: byOrder,
  schema: record<OrderCompleted>({ orderId: id, customerId: id, totalCents: cents }),
});

/** Terminal: out of stock or payment refused (stock released first). */
export interface OrderCancelled {
  orderId: string;
  customerId: string;
  reason: string;
}
export const OrderCancelled = defineEvent<OrderCancelled>({
  type: 'shop.order.cancelled',
  version: 1,
  topic: topics.orderEvents,
  aggregateId: byOrder,
  schema: record<OrderCancelled>({ orderId: id, customerId: id, reason: text }),
});

/** The catalog: what inventory stocks at first start and what the cart prices lines at. */
export const catalog: readonly { sku: string; name: string; priceCents: number }[] = [
  { sku: 'tea-green', name: 'Green tea, 100 g', priceCents: 650 },
  { sku: 'tea-black', name: 'Black tea, 100 g', priceCents: 590 },
  { sku: 'mug', name: 'Stoneware mug', priceCents: 1200 },
  { sku: 'kettle', name: 'Kettle', priceCents: 3900 },
  { sku: 'teapot', name: 'Cast-iron teapot', priceCents: 4500 },
  { sku: 'strainer', name: 'Strainer', priceCents: 350 },
];
