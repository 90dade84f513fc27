/**
 * The reference shop against one embedded broker (issue 18): 2,000 orders placed concurrently
 * while a seeded schedule kills random services and the broker itself with SIGKILL (the broker
 * restarts on its data dir and port); then a sales report that joins late rebuilds its totals by
 * replay, an incompatible `OrderPlaced` is refused by the schema registry, and a poison record
 * lands in the dead-letter topic while the orders behind it on its partition complete.
 * SHOP_CHAOS_SEED replays a run; SHOP_CHAOS_ORDERS changes its size. Service output goes to
 * .tmp/shop-test/embedded-<seed>.log.
 */
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import {
  defineEvent,
  EventProducer,
  readDeadLetters,
  SchemaRegistryError,
  deadLetterTopic,
} from '@tributary/sdk';
import {
  RestartableBroker,
  stablePort,
  startPostgresServer,
  tempDir,
  type PostgresServer,
  type TempDir,
} from '@tributary/testing';
import { OrderPlaced, topics } from '../src/contracts.ts';
import { Shop } from '../src/shop.ts';
import { diagnoseUnsettledOrders } from './chaos-diagnosis.ts';
import { checkLateSalesReport, runShopChaos } from './shop-chaos.ts';

const seed = Number(process.env['SHOP_CHAOS_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const orders = Number(process.env['SHOP_CHAOS_ORDERS'] ?? 2_000);
// About three quarters of the demand (refused cards give theirs back): some orders run out.
const initialStock = Math.ceil(orders * 0.3);
const logDir = resolve(import.meta.dirname, '../../../.tmp/shop-test');

let dir: TempDir;
let postgres: PostgresServer;
let broker: RestartableBroker;
let registryUrl: string;
let pool: pg.Pool;
let shop: Shop;
let log: (line: string) => void;
let notificationFile: string;

before(async () => {
  await mkdir(logDir, { recursive: true });
  const logFile = createWriteStream(resolve(logDir, `embedded-${seed}.log`));
  log = (line) => logFile.write(`${new Date().toISOString()} ${line}\n`);
  process.stdout.write(`shop chaos (embedded): seed ${seed}, ${orders} orders\n`);
  dir = await tempDir('shop');
  notificationFile = resolve(dir.path, 'notifications.jsonl');
  const registryPort = await stablePort();
  registryUrl = `http://127.0.0.1:${registryPort}`;
  postgres = await startPostgresServer({ database: 'shop' });
  broker = new RestartableBroker({
    dataDir: resolve(dir.path, 'broker'),
    readyTimeoutMs: 60_000,
    args: ['--schema-registry-listen', `127.0.0.1:${registryPort}`],
  });
  await broker.start();
  pool = new pg.Pool({ connectionString: postgres.url, max: 4 });
  shop = new Shop({
    environment: () => ({
      bootstrap: broker.bootstrap,
      registryUrl,
      databaseUrl: postgres.url,
      notificationFile,
      extra: { SHOP_INITIAL_STOCK: String(initialStock) },
    }),
    onLine: (name, line) => log(`[${name}] ${line}`),
  });
  await shop.start();
});

after(async () => {
  await shop?.stop();
  await pool?.end();
  await broker?.current.stop();
  await postgres?.stop();
  await dir?.remove();
});

test(`${orders} orders under kill -9 of services and the broker settle correctly`, async () => {
  const summary = await runShopChaos({
    shop,
    pool,
    orders,
    initialStock,
    notificationFile,
    brokers: [
      { name: 'broker', kill: () => broker.kill(), start: async () => void (await broker.start()) },
    ],
    seed,
    bootstrap: () => broker.bootstrap,
    log,
  });
  const { kills, ...counts } = summary;
  process.stdout.write(
    `shop chaos (embedded) seed ${seed}: ${kills.length} kills (${kills.join(', ')}); ` +
      `${JSON.stringify(counts)}\n`,
  );
  assert.ok(
    kills.some((kill) => kill.endsWith(' broker')),
    'the broker was killed too',
  );
});

test('a sales report joining late replays history and matches the order totals', async () => {
  const totals = await checkLateSalesReport({
    environment: () => ({
      bootstrap: broker.bootstrap,
      registryUrl,
      databaseUrl: postgres.url,
      notificationFile,
    }),
    pool,
    seed,
    log,
  });
  process.stdout.write(`sales report after replay: ${JSON.stringify(totals)}\n`);
});

test('an incompatible OrderPlaced is refused by the registry before it is sent', async () => {
  // Version 2 adds a required field without a default: version 1 data would not validate
  // against it, so under BACKWARD compatibility the registry refuses it.
  interface OrderPlacedV2 extends OrderPlaced {
    giftWrap: boolean;
  }
  const v2Schema = JSON.parse(OrderPlaced.schemaText) as { required: string[]; properties: object };
  v2Schema.required.push('giftWrap');
  v2Schema.properties = { ...v2Schema.properties, giftWrap: { type: 'boolean' } };
  const OrderPlacedV2 = defineEvent<OrderPlacedV2>({
    type: OrderPlaced.type,
    version: 2,
    topic: OrderPlaced.topic,
    aggregateId: (order) => order.orderId,
    schema: v2Schema as never,
  });
  const producer = new EventProducer({
    bootstrap: broker.bootstrap,
    source: 'urn:shop:test',
    schemaRegistryUrl: registryUrl,
  });
  try {
    await assert.rejects(
      producer.publish(OrderPlacedV2, {
        orderId: `incompatible-${seed}`,
        customerId: 'c',
        card: '4000000000000002',
        items: [{ sku: 'mug', quantity: 1, priceCents: 1200 }],
        totalCents: 1200,
        giftWrap: true,
      }),
      (error: unknown) => error instanceof SchemaRegistryError && error.status === 409,
    );
  } finally {
    await producer.close();
  }
  const order = await pool.query('SELECT 1 FROM shop_order.orders WHERE id = $1', [
    `incompatible-${seed}`,
  ]);
  assert.equal(order.rows.length, 0, 'nothing reached the order service');
});

test('a poison record goes to the dead-letter topic and its partition moves on', async () => {
  const orderId = `after-poison-${seed}`;
  const poisonId = `poison-${seed}`;
  const producer = new EventProducer({ bootstrap: broker.bootstrap, source: 'urn:shop:test' });
  try {
    // Same key as the order placed next: same partition, behind the poison.
    await producer.send([
      {
        topic: topics.orders,
        key: Buffer.from(orderId),
        value: Buffer.from('{"orderId": "half a record'),
        headers: new Map([
          ['ce_specversion', Buffer.from('1.0')],
          ['ce_id', Buffer.from(poisonId)],
          ['ce_source', Buffer.from('urn:shop:test')],
          ['ce_type', Buffer.from(OrderPlaced.type)],
          ['content-type', Buffer.from('application/json')],
        ]),
      },
    ]);
  } finally {
    await producer.close();
  }
  const cart = shop.service('cart').url;
  const put = await fetch(`${cart}/carts/${orderId}/items/mug`, {
    method: 'PUT',
    body: JSON.stringify({ quantity: 1 }),
  });
  assert.equal(put.status, 200);
  const checkout = await fetch(`${cart}/carts/${orderId}/checkout`, {
    method: 'POST',
    body: JSON.stringify({ customerId: 'c-poison', card: '4000000000000002' }),
  });
  assert.equal(checkout.status, 201);
  for (let round = 0; ; round++) {
    const order = await pool.query<{ status: string }>(
      'SELECT status FROM shop_order.orders WHERE id = $1',
      [orderId],
    );
    const status = order.rows[0]?.status;
    if (status === 'completed' || status === 'cancelled') break;
    assert.ok(round < 600, `the order behind the poison record settles (${status})`);
    await new Promise((wait) => setTimeout(wait, 200));
  }
  const letters = await readDeadLetters(
    { bootstrap: broker.bootstrap },
    deadLetterTopic(topics.orders),
  );
  const poison = letters.filter((letter) => letter.eventId === poisonId);
  assert.equal(poison.length, 1, 'the poison record is dead-lettered once');
  assert.equal(poison[0]?.group, 'shop-order');
  assert.equal(poison[0]?.originalTopic, topics.orders);
  assert.equal(poison[0]?.attempts, 1, 'not retried: retrying cannot fix it');
  process.stdout.write(`poison record dead-lettered: ${poison[0]?.reason}\n`);
});

test('the chaos diagnosis describes an order that has not settled', async () => {
  // A settled order from the run, marked unsettled again for the diagnosis to describe: its rows
  // and its records on the shop topics are real.
  const picked = await pool.query<{ id: string; status: string }>(
    `SELECT id, status FROM shop_order.orders WHERE status = 'completed' ORDER BY id LIMIT 1`,
  );
  const order = picked.rows[0];
  assert.ok(order !== undefined, 'the run completed an order');
  const lines: string[] = [];
  await pool.query(`UPDATE shop_order.orders SET status = 'shipping' WHERE id = $1`, [order.id]);
  try {
    await diagnoseUnsettledOrders({
      bootstrap: broker.bootstrap,
      pool,
      log: (line) => lines.push(line),
    });
  } finally {
    await pool.query('UPDATE shop_order.orders SET status = $2 WHERE id = $1', [
      order.id,
      order.status,
    ]);
  }
  const text = lines.join('\n');
  assert.match(text, /^diagnosis: 1 orders not settled$/m);
  assert.match(text, new RegExp(`^diagnosis ${order.id}:$`, 'm'));
  assert.match(text, /^ {2}order \{.*"status":"shipping"/m);
  assert.match(text, /^ {2}shop_\w+ outbox \{.*"sent_at":"/m, 'an outbox row, sent');
  assert.match(
    text,
    /^ {2}record shop\.orders\/\d+@\d+ \S+ committed: .*shop-\w+@\d+/m,
    'its OrderPlaced record, with the groups that committed past it',
  );
  assert.doesNotMatch(text, /diagnosis failed/);
});
