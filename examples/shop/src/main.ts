/**
 * `npm run shop`: the reference shop on one machine. Starts a private PostgreSQL and an embedded
 * broker with its schema registry (both keep their data in .tmp/shop, so a second run goes on
 * with the same orders), then the six services, each its own process, and prints the cart's
 * HTTP address. Ctrl-C stops the services gracefully, then the broker and the database.
 *
 * SHOP_HTTP_PORT (default 8000) is the cart's port; the order service takes the next one.
 * Each service's log lines are printed with its name.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { startPostgresServer } from '@tributary/local-services';
import { spawnBroker } from '@tributary/testing';
import { Shop } from './shop.ts';

const root = resolve(import.meta.dirname, '../../..');
const stateDir = resolve(root, '.tmp/shop');
const registryLine = /schema registry on (http:\/\/\S+)/;
const cartPort = Number(process.env['SHOP_HTTP_PORT'] ?? 8000);

await mkdir(stateDir, { recursive: true });
process.stdout.write(`starting PostgreSQL and the broker (state in ${stateDir})\n`);
const postgres = await startPostgresServer({
  dir: resolve(stateDir, 'postgres'),
  database: 'shop',
});
const broker = await spawnBroker({
  dataDir: resolve(stateDir, 'broker'),
  args: ['--schema-registry-listen', '127.0.0.1:0', '--override', 'num.partitions=4'],
});
const registryUrl = registryLine.exec(broker.stdout())?.[1];
if (registryUrl === undefined) throw new Error(`no registry line:\n${broker.stdout()}`);
const notificationFile = resolve(stateDir, 'notifications.jsonl');

const ports: Partial<Record<string, number>> = { cart: cartPort, order: cartPort + 1 };
const shop = new Shop({
  environment: () => ({
    bootstrap: broker.bootstrap,
    registryUrl,
    databaseUrl: postgres.url,
    notificationFile,
  }),
  extra: (name) => {
    const port = ports[name];
    return port === undefined ? {} : { SHOP_HTTP_LISTEN: `127.0.0.1:${port}` };
  },
  onLine: (name, line) => process.stdout.write(`[${name}] ${line}\n`),
});
await shop.start().catch(async (error: unknown) => {
  await shop.stop();
  await broker.stop();
  await postgres.stop();
  throw error;
});

process.stdout.write(`
The shop is open.
  cart API        ${shop.service('cart').url}
                  PUT /carts/:id/items/:sku, POST /carts/:id/checkout, GET /products
  orders          ${shop.service('order').url}/orders/:id
  broker          ${broker.bootstrap}   schema registry ${registryUrl}
  notifications   ${notificationFile}
Ctrl-C stops everything.
`);

let stopping = false;
async function stopAll(): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stdout.write('stopping the services, the broker and PostgreSQL\n');
  await shop.stop();
  await broker.stop();
  await postgres.stop();
  process.exit(0);
}
process.on('SIGINT', () => void stopAll());
process.on('SIGTERM', () => void stopAll());
