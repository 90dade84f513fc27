/**
 * The shop's chaos run, shared by the embedded and the cluster test: place orders through the
 * cart's HTTP API from many concurrent clients while a seeded schedule kills a random service
 * (or broker) with SIGKILL every few seconds and starts it again, then wait until every order
 * has settled and check the invariants directly in each service's schema and in the mailbox
 * file. Nothing here measures time: waits are bounded only so a stuck run fails with its state.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { catalog } from '../src/contracts.ts';
import { FakePaymentProvider } from '../src/fake-payment-provider.ts';
import { ServiceProcess, type ServiceEnvironment } from '../src/service-process.ts';
import type { Shop } from '../src/shop.ts';
import { diagnoseUnsettledOrders } from './chaos-diagnosis.ts';

/** Something the schedule can kill -9 and start again. */
export interface ChaosTarget {
  readonly name: string;
  kill(): Promise<void>;
  start(): Promise<void>;
}

export interface ShopChaosOptions {
  readonly shop: Shop;
  /** A pool on the shop's database without a search_path: the checks name each schema. */
  readonly pool: pg.Pool;
  readonly orders: number;
  readonly initialStock: number;
  readonly notificationFile: string;
  /** Brokers the schedule may kill besides the services. */
  readonly brokers: readonly ChaosTarget[];
  readonly seed: number;
  readonly log: (line: string) => void;
  /** The shop's brokers: when orders do not settle, the diagnosis reads their topics. */
  readonly bootstrap: () => string;
}

export interface ChaosSummary {
  readonly kills: readonly string[];
  readonly completed: number;
  readonly cancelled: number;
  readonly refused: number;
  readonly outOfStock: number;
  readonly revenueCents: number;
}

const clientConcurrency = 32;
const requestTimeoutMs = 10_000;
const requestRetryMs = 250;
/** A request is tried this often (the cart may be down, or the broker behind its registry). */
const requestAttempts = 800;
const killGapMinMs = 1_000;
const killGapMaxMs = 3_000;
const downMinMs = 200;
const downMaxMs = 1_200;
/** Chaos goes on at least this long, and until every order is placed. */
const chaosMinMs = 30_000;
/** Generous: on a cluster with two busy cores the backlog after the chaos takes minutes. */
const settleTimeoutMs = 420_000;
/** A service started while the broker is down fails its start: it is started again. */
const startAttempts = 30;

/** mulberry32: the same seed gives the same orders and the same kills. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface PlannedOrder {
  readonly id: string;
  readonly card: string;
  readonly lines: ReadonlyMap<string, number>;
}

/** The orders of a run: one or two lines of 1-3 units; a quarter with a refused card. */
function planOrders(count: number, random: () => number, tag: string): PlannedOrder[] {
  return Array.from({ length: count }, (_, index) => {
    const lines = new Map<string, number>();
    const lineCount = random() < 0.4 ? 2 : 1;
    while (lines.size < lineCount) {
      const product = catalog[Math.floor(random() * catalog.length)];
      if (product !== undefined) lines.set(product.sku, 1 + Math.floor(random() * 3));
    }
    const lastDigit =
      random() < 0.25 ? 1 + 2 * Math.floor(random() * 5) : 2 * Math.floor(random() * 5);
    return {
      id: `${tag}-${index}`,
      card: `400000000000${String(index % 1000).padStart(3, '0')}${lastDigit}`,
      lines,
    };
  });
}

async function cartRequest(
  shop: Shop,
  method: string,
  path: string,
  body: unknown,
): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(`${shop.service('cart').url}${path}`, {
        method,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      const answer: unknown = await response.json();
      if (response.status < 500) {
        assert.ok(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
        return answer;
      }
    } catch (error: unknown) {
      if (error instanceof assert.AssertionError) throw error;
    }
    if (attempt >= requestAttempts) assert.fail(`${method} ${path}: the cart never answered`);
    await sleep(requestRetryMs);
  }
}

/** Places every order from `clientConcurrency` clients; a failed request is sent again. */
async function placeOrders(shop: Shop, orders: readonly PlannedOrder[]): Promise<void> {
  let next = 0;
  const client = async (): Promise<void> => {
    for (let index = next++; index < orders.length; index = next++) {
      const order = orders[index];
      if (order === undefined) continue;
      for (const [sku, quantity] of order.lines) {
        await cartRequest(shop, 'PUT', `/carts/${order.id}/items/${sku}`, { quantity });
      }
      await cartRequest(shop, 'POST', `/carts/${order.id}/checkout`, {
        customerId: `customer-${index % 97}`,
        card: order.card,
      });
    }
  };
  await Promise.all(Array.from({ length: clientConcurrency }, client));
}

async function startWithRetries(target: ChaosTarget, log: (line: string) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await target.start();
      return;
    } catch (error: unknown) {
      if (attempt >= startAttempts) throw error;
      log(`${target.name} did not start (${String(error)}); again`);
      await sleep(2_000);
    }
  }
}

/**
 * Kills a random target every few seconds until `running()` turns false and the round in
 * progress is finished (targets come from a shuffled bag, refilled when empty, so each is killed
 * once per round). A killed target starts again after a short while in the background, so the
 * next kill may come while it is still starting; a target still down is not drawn again.
 */
async function chaos(
  options: ShopChaosOptions,
  random: () => number,
  running: () => boolean,
): Promise<string[]> {
  const services: ChaosTarget[] = [...options.shop.services.values()].map((service) => ({
    name: service.name,
    kill: () => service.kill(),
    start: () => service.start(),
  }));
  const targets = [...services, ...options.brokers];
  const kills: string[] = [];
  const down = new Set<string>();
  const restarts: Promise<void>[] = [];
  const failures: unknown[] = [];
  const started = Date.now();
  const bag: ChaosTarget[] = [];
  while ((running() || bag.length > 0) && failures.length === 0) {
    await sleep(killGapMinMs + random() * (killGapMaxMs - killGapMinMs));
    if (bag.length === 0) bag.push(...shuffled(targets, random));
    const target = bag.pop();
    if (target === undefined) continue;
    while (down.has(target.name)) await sleep(100);
    const at = ((Date.now() - started) / 1000).toFixed(1);
    kills.push(`${at}s ${target.name}`);
    options.log(`chaos ${at}s: kill -9 ${target.name}`);
    down.add(target.name);
    await target.kill();
    const downMs = downMinMs + random() * (downMaxMs - downMinMs);
    restarts.push(
      (async () => {
        await sleep(downMs);
        await startWithRetries(target, options.log);
      })()
        .catch((error: unknown) => void failures.push(error))
        .finally(() => down.delete(target.name)),
    );
  }
  await Promise.all(restarts);
  if (failures.length > 0) throw failures[0];
  return kills;
}

/** Fisher-Yates with the run's generator. */
function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
  }
  return copy;
}

async function one<T>(pool: pg.Pool, sql: string): Promise<T> {
  const result = await pool.query(sql);
  return result.rows[0] as T;
}

/** Waits until every order is terminal and its email is in the mailbox file. */
async function settle(options: ShopChaosOptions): Promise<void> {
  const deadline = Date.now() + settleTimeoutMs;
  let lastLog = 0;
  for (;;) {
    const state = await one<{ terminal: number; mailed: number; total: number }>(
      options.pool,
      `SELECT (SELECT count(*)::int FROM shop_order.orders
                WHERE status IN ('completed', 'cancelled')) AS terminal,
              (SELECT count(*)::int FROM shop_order.orders) AS total,
              (SELECT count(*)::int FROM shop_notification.emails
                WHERE sent_at IS NOT NULL) AS mailed`,
    ).catch(() => ({ terminal: -1, mailed: -1, total: -1 }));
    if (state.terminal === options.orders && state.mailed === options.orders) return;
    if (Date.now() - lastLog > 10_000) {
      options.log(`settling: ${JSON.stringify(state)} of ${options.orders}`);
      lastLog = Date.now();
    }
    if (Date.now() > deadline) {
      // Also in the failure's message: a CI run's log files go with its checkout.
      const diagnosis: string[] = [];
      await diagnoseUnsettledOrders({
        bootstrap: options.bootstrap(),
        pool: options.pool,
        log: (line) => {
          options.log(line);
          diagnosis.push(line);
        },
      });
      const statuses = await options.pool.query(
        'SELECT status, count(*)::int FROM shop_order.orders GROUP BY status',
      );
      assert.fail(
        `orders never settled: ${JSON.stringify(statuses.rows)}\n${diagnosis.join('\n')}`,
      );
    }
    await sleep(1_000);
  }
}

/**
 * Places `orders` orders under chaos, waits for them to settle and checks the invariants;
 * returns what happened for the test's log.
 */
export async function runShopChaos(options: ShopChaosOptions): Promise<ChaosSummary> {
  const random = seededRandom(options.seed);
  const planned = planOrders(options.orders, random, `order-${options.seed}`);
  let placing = true;
  const started = Date.now();
  const schedule = chaos(options, seededRandom(options.seed + 1), () => {
    return placing || Date.now() - started < chaosMinMs;
  });
  let failure: unknown;
  try {
    await placeOrders(options.shop, planned);
    options.log(`placed ${planned.length} orders in ${Date.now() - started} ms`);
  } catch (error: unknown) {
    failure = error;
  } finally {
    placing = false;
  }
  const kills = await schedule;
  if (failure !== undefined) throw failure;
  options.log(`chaos over: ${kills.length} kills`);
  await settle(options);
  return { kills, ...(await checkInvariants(options, planned)) };
}

interface OrderState {
  id: string;
  status: string;
  cancel_reason: string | null;
  total_cents: string;
}

/** The invariants, each checked in the schema of the service that owns the data. */
async function checkInvariants(
  options: ShopChaosOptions,
  planned: readonly PlannedOrder[],
): Promise<Omit<ChaosSummary, 'kills'>> {
  const { pool } = options;
  const orders = await pool.query<OrderState>(
    'SELECT id, status, cancel_reason, total_cents FROM shop_order.orders',
  );
  const byId = new Map(orders.rows.map((row) => [row.id, row]));
  // Every order placed exists once, in exactly one terminal state, as its card predicts.
  assert.equal(orders.rows.length, planned.length, 'one order row per order placed');
  for (const order of planned) {
    const state = byId.get(order.id);
    assert.ok(state !== undefined, `${order.id} reached the order service`);
    assert.ok(['completed', 'cancelled'].includes(state.status), `${order.id}: ${state.status}`);
    if (FakePaymentProvider.refuses(order.card)) {
      assert.equal(state.status, 'cancelled', `${order.id}: a refused card never completes`);
    } else if (state.status === 'cancelled') {
      assert.match(state.cancel_reason ?? '', /^out of stock/, `${order.id} cancelled for stock`);
    }
  }
  const completed = orders.rows.filter((row) => row.status === 'completed');
  const completedIds = new Set(completed.map((row) => row.id));

  // No card charged twice: one provider charge per idempotency key, exactly for completed orders.
  const charges = await pool.query<{ key: string; charges: number; amount: string }>(
    `SELECT idempotency_key AS key, count(*)::int AS charges, sum(amount_cents) AS amount
     FROM shop_payment.provider_charges GROUP BY idempotency_key`,
  );
  for (const charge of charges.rows) {
    assert.equal(charge.charges, 1, `${charge.key} charged once`);
    const orderId = charge.key.replace(/^order-/, '');
    assert.ok(completedIds.has(orderId), `${charge.key}: only completed orders are charged`);
    assert.equal(charge.amount, byId.get(orderId)?.total_cents, `${charge.key}: the order total`);
  }
  assert.equal(charges.rows.length, completed.length, 'every completed order was charged');

  // Stock: initial minus what was shipped, per sku; one shipment per completed order.
  const shipments = await pool.query<{
    order_id: string;
    items: { sku: string; quantity: number }[];
  }>('SELECT order_id, items FROM shop_shipping.shipments');
  assert.equal(shipments.rows.length, completed.length, 'one shipment per completed order');
  const shipped = new Map<string, number>();
  for (const shipment of shipments.rows) {
    assert.ok(completedIds.has(shipment.order_id), `${shipment.order_id} shipped and completed`);
    for (const item of shipment.items) {
      shipped.set(item.sku, (shipped.get(item.sku) ?? 0) + item.quantity);
    }
  }
  const stock = await pool.query<{ sku: string; initial: number; available: number }>(
    'SELECT sku, initial, available FROM shop_inventory.products',
  );
  assert.equal(stock.rows.length, catalog.length, 'every product stocked');
  for (const product of stock.rows) {
    assert.equal(product.initial, options.initialStock, `${product.sku} initial stock`);
    assert.equal(
      product.available,
      product.initial - (shipped.get(product.sku) ?? 0),
      `${product.sku}: stock = initial - shipped`,
    );
  }

  // Every notification sent once: one mailbox line per order, matching how it ended.
  const text = await readFile(options.notificationFile, 'utf8');
  const emails = text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { orderId: string; subject: string });
  assert.equal(emails.length, planned.length, 'one email per order');
  const mailed = new Set(emails.map((email) => email.orderId));
  assert.equal(mailed.size, planned.length, 'no order mailed twice');
  for (const email of emails) {
    const state = byId.get(email.orderId);
    const expected = state?.status === 'completed' ? /on its way/ : /was cancelled/;
    assert.match(email.subject, expected, `${email.orderId}: the email says how it ended`);
  }

  const cancelled = orders.rows.filter((row) => row.status === 'cancelled');
  return {
    completed: completed.length,
    cancelled: cancelled.length,
    refused: cancelled.filter((row) => row.cancel_reason === 'card declined').length,
    outOfStock: cancelled.filter((row) => row.cancel_reason?.startsWith('out of stock')).length,
    revenueCents: completed.reduce((sum, row) => sum + Number(row.total_cents), 0),
  };
}

export interface SalesTotals {
  readonly completed: number;
  readonly cancelled: number;
  readonly revenueCents: number;
}

/**
 * The late joiner: starts `sales-report` after the run (its own group, so it replays history
 * from the start), waits until it has caught up, and checks its totals against the order
 * service's own table. Resolves with the totals.
 */
export async function checkLateSalesReport(options: {
  readonly environment: () => Omit<ServiceEnvironment, 'extra'>;
  readonly pool: pg.Pool;
  readonly seed: number;
  readonly log: (line: string) => void;
}): Promise<SalesTotals> {
  const { promise: line, resolve: caughtUp } = Promise.withResolvers<string>();
  const report = new ServiceProcess({
    name: 'sales-report',
    environment: () => ({
      ...options.environment(),
      extra: { SHOP_REPORT_GROUP: `sales-report-${options.seed}` },
    }),
    onLine: (text) => {
      options.log(`[sales-report] ${text}`);
      if (text.startsWith('sales-report caught up')) caughtUp(text);
    },
  });
  await report.start();
  try {
    const totals = JSON.parse((await line).replace('sales-report caught up ', '')) as SalesTotals;
    const expected = await options.pool.query<{
      completed: number;
      cancelled: number;
      revenue: string;
    }>(
      `SELECT count(*) FILTER (WHERE status = 'completed')::int AS completed,
              count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
              coalesce(sum(total_cents) FILTER (WHERE status = 'completed'), 0) AS revenue
       FROM shop_order.orders`,
    );
    const row = expected.rows[0];
    assert.deepEqual(totals, {
      completed: row?.completed,
      cancelled: row?.cancelled,
      revenueCents: Number(row?.revenue),
    });
    return totals;
  } finally {
    await report.stop();
  }
}
