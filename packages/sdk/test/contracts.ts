/** Event contracts the SDK's tests publish and consume: a shop's order events. */
import { defineEvent } from '../src/index.ts';

export interface OrderPlaced {
  orderId: string;
  customerId: string;
  items: { sku: string; quantity: number }[];
  totalCents: number;
}

export function orderPlacedContract(topic: string) {
  return defineEvent<OrderPlaced>({
    type: 'order.placed',
    version: 1,
    topic,
    aggregateId: (order) => order.orderId,
    schema: {
      type: 'object',
      required: ['orderId', 'customerId', 'items', 'totalCents'],
      additionalProperties: false,
      properties: {
        orderId: { type: 'string', minLength: 1 },
        customerId: { type: 'string' },
        items: {
          type: 'array',
          items: {
            type: 'object',
            required: ['sku', 'quantity'],
            additionalProperties: false,
            properties: { sku: { type: 'string' }, quantity: { type: 'integer', minimum: 1 } },
          },
        },
        totalCents: { type: 'integer', minimum: 0 },
      },
    },
  });
}

export interface PaymentCharged {
  orderId: string;
  amountCents: number;
  card: string | null;
}

export function paymentChargedContract(topic: string) {
  return defineEvent<PaymentCharged>({
    type: 'payment.charged',
    version: 1,
    topic,
    aggregateId: (payment) => payment.orderId,
    avro: {
      type: 'record',
      name: 'PaymentCharged',
      namespace: 'shop.payment',
      fields: [
        { name: 'orderId', type: 'string' },
        { name: 'amountCents', type: 'long' },
        { name: 'card', type: ['null', 'string'], default: null },
      ],
    },
  });
}

export function sampleOrder(orderId: string, totalCents = 1200): OrderPlaced {
  return {
    orderId,
    customerId: 'c-1',
    items: [{ sku: 'sku-1', quantity: 2 }],
    totalCents,
  };
}
