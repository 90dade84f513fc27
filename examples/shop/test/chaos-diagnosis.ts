/**
 * What a failed chaos run leaves in its log about the orders that did not settle: each one's
 * rows in every service's schema (the order, its outbox rows with `sent_at`, the payment and
 * the provider's charges, the stock reservation), the records keyed by it on every shop topic
 * (retry tiers and dead-letter topics included) with their CloudEvents type, and each consumer
 * group's committed offset on those partitions. Enough to tell a record never published, one
 * published but lost, and one consumed but not handled, after the run's data is gone.
 */
import { Admin } from '@platformatic/kafka';
import type pg from 'pg';
import { createPlatformaticDriver, type ConsumedRecord } from '@tributary/testing';

/** Orders described in detail; the rest are only counted. */
const describedOrdersMax = 5;
/** Bound for each Kafka operation of the diagnosis. */
const diagnosisTimeoutMs = 30_000;

export interface DiagnosisOptions {
  /** host:port of the brokers, comma-separated. */
  readonly bootstrap: string;
  readonly pool: pg.Pool;
  readonly log: (line: string) => void;
}

interface KeyedRecord {
  readonly topic: string;
  readonly record: ConsumedRecord;
}

/** Logs what is known about the orders not yet completed or cancelled; never throws. */
export async function diagnoseUnsettledOrders(options: DiagnosisOptions): Promise<void> {
  try {
    await diagnose(options);
  } catch (error: unknown) {
    options.log(`diagnosis failed: ${error instanceof Error ? error.stack : String(error)}`);
  }
}

async function diagnose({ bootstrap, pool, log }: DiagnosisOptions): Promise<void> {
  const stuck = await pool.query<{ id: string }>(
    `SELECT id FROM shop_order.orders WHERE status NOT IN ('completed', 'cancelled') ORDER BY id`,
  );
  log(`diagnosis: ${stuck.rows.length} orders not settled`);
  const ids = stuck.rows.slice(0, describedOrdersMax).map((row) => row.id);
  if (ids.length === 0) return;
  const admin = new Admin({
    clientId: 'shop-chaos-diagnosis',
    bootstrapBrokers: bootstrap.split(','),
    timeout: diagnosisTimeoutMs,
  });
  let records: Map<string, KeyedRecord[]>;
  let committed: Map<string, Map<string, bigint>>;
  try {
    records = await recordsKeyedBy(admin, bootstrap, new Set(ids));
    committed = await committedOffsets(admin);
  } finally {
    await admin.close();
  }
  for (const id of ids) {
    log(`diagnosis ${id}:`);
    for (const line of await rowsOf(pool, id)) log(`  ${line}`);
    for (const { topic, record } of records.get(id) ?? []) {
      const type = record.headers.find((header) => header.key === 'ce_type')?.value?.toString();
      const groups = [...committed]
        .map(([group, offsets]) => [group, offsets.get(`${topic}/${record.partition}`)] as const)
        .filter(([, offset]) => offset !== undefined)
        .map(([group, offset]) => `${group}@${offset}`);
      log(
        `  record ${topic}/${record.partition}@${record.offset} ${type ?? '(no ce_type)'}` +
          ` committed: ${groups.join(' ') || 'none'}`,
      );
    }
    if ((records.get(id) ?? []).length === 0) log('  no record keyed by it on any shop topic');
  }
}

/** The order's rows in each service's schema, one line per row. */
async function rowsOf(pool: pg.Pool, id: string): Promise<string[]> {
  const lines: string[] = [];
  const add = async (label: string, sql: string, values: unknown[]): Promise<void> => {
    const result = await pool.query(sql, values).catch((error: unknown) => ({
      rows: [{ error: String(error) }],
    }));
    for (const row of result.rows) lines.push(`${label} ${JSON.stringify(row)}`);
  };
  await add('order', 'SELECT * FROM shop_order.orders WHERE id = $1', [id]);
  const schemas = await pool.query<{ schema: string }>(
    `SELECT table_schema AS schema FROM information_schema.tables
     WHERE table_name = 'tributary_outbox' AND table_schema LIKE 'shop\\_%' ORDER BY 1`,
  );
  for (const { schema } of schemas.rows) {
    await add(
      `${schema} outbox`,
      `SELECT id, event_type, topic, created_at, sent_at FROM ${schema}.tributary_outbox
       WHERE key = convert_to($1, 'UTF8') ORDER BY id`,
      [id],
    );
  }
  await add('payment', 'SELECT * FROM shop_payment.payments WHERE order_id = $1', [id]);
  await add(
    'provider charge',
    'SELECT * FROM shop_payment.provider_charges WHERE idempotency_key = $1',
    [`order-${id}`],
  );
  await add('reservation', 'SELECT * FROM shop_inventory.reservations WHERE order_id = $1', [id]);
  await add('shipment', 'SELECT order_id FROM shop_shipping.shipments WHERE order_id = $1', [id]);
  return lines;
}

/** Every record on a `shop.` topic whose key is one of `ids`, by id. */
async function recordsKeyedBy(
  admin: Admin,
  bootstrap: string,
  ids: ReadonlySet<string>,
): Promise<Map<string, KeyedRecord[]>> {
  const found = new Map<string, KeyedRecord[]>();
  // The driver takes one address; the others come with the cluster's metadata.
  const driver = createPlatformaticDriver({
    bootstrap: bootstrap.split(',')[0] ?? bootstrap,
    operationTimeoutMs: diagnosisTimeoutMs,
  });
  try {
    const topics = (await admin.listTopics())
      .filter((topic) => topic.startsWith('shop.'))
      .toSorted();
    const metadata = await admin.metadata({ topics });
    for (const topic of topics) {
      const partitions = metadata.topics.get(topic)?.partitionsCount ?? 1;
      for (const record of await driver.consumeAll(topic, partitions, Number.MAX_SAFE_INTEGER)) {
        const key = record.key?.toString();
        if (key === undefined || !ids.has(key)) continue;
        found.set(key, [...(found.get(key) ?? []), { topic, record }]);
      }
    }
  } finally {
    await driver.close();
  }
  return found;
}

/** Each consumer group's committed offsets, keyed `topic/partition`. */
async function committedOffsets(admin: Admin): Promise<Map<string, Map<string, bigint>>> {
  const groups = [...(await admin.listGroups()).keys()].toSorted();
  const answer = new Map<string, Map<string, bigint>>();
  if (groups.length === 0) return answer;
  for (const group of await admin.listConsumerGroupOffsets({ groups })) {
    const offsets = new Map<string, bigint>();
    for (const topic of group.topics) {
      for (const partition of topic.partitions) {
        offsets.set(`${topic.name}/${partition.partitionIndex}`, partition.committedOffset);
      }
    }
    answer.set(group.groupId, offsets);
  }
  return answer;
}
