/**
 * An outbox relay as its own process, so a test can kill it with SIGKILL mid-way. Reads
 * SDK_BOOTSTRAP, SDK_DATABASE_URL and SDK_BATCH_SIZE; prints `sent <n>` after each batch.
 */
import pg from 'pg';
import { EventProducer, OutboxRelay } from '../src/index.ts';

const pool = new pg.Pool({ connectionString: process.env.SDK_DATABASE_URL, max: 2 });
const producer = new EventProducer({
  bootstrap: process.env.SDK_BOOTSTRAP ?? 'localhost:9092',
  source: 'urn:test:relay',
});
const relay = new OutboxRelay({
  pool,
  producer,
  batchSize: Number(process.env.SDK_BATCH_SIZE ?? 100),
  pollIntervalMs: 50,
  onBatch: (sent) => process.stdout.write(`sent ${sent}\n`),
  onError: (error) => process.stderr.write(`relay error: ${String(error)}\n`),
});
relay.start();
process.on('SIGTERM', () => {
  void relay
    .stop()
    .then(() => producer.close())
    .then(() => pool.end())
    .then(() => process.exit(0));
});
