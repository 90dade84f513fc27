import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogStorage } from '@tributary/storage';
import { ClientQuotas, quotaWindowMs } from './client-quotas.ts';

async function withQuotas(run: (quotas: ClientQuotas) => Promise<void>): Promise<void> {
  const storage = await LogStorage.open({ inMemory: true });
  try {
    await run(await ClientQuotas.start(storage, false));
  } finally {
    await storage.close();
  }
}

describe('ClientQuotas', () => {
  it('applies the most specific entity that sets a key, in Kafka order, and keeps them', () =>
    withQuotas(async (quotas) => {
      await quotas.alter({ 'client-id': null }, { producer_byte_rate: 8 });
      await quotas.alter({ 'client-id': 'app' }, { producer_byte_rate: 7 });
      await quotas.alter({ user: null }, { producer_byte_rate: 6 });
      await quotas.alter({ user: 'alice' }, { producer_byte_rate: 3, consumer_byte_rate: 30 });
      await quotas.alter({ user: 'alice', 'client-id': 'app' }, { producer_byte_rate: 1 });
      assert.equal(quotas.limitOf('User:alice', 'app', 'producer_byte_rate'), 1);
      assert.equal(quotas.limitOf('User:alice', 'other', 'producer_byte_rate'), 3);
      assert.equal(quotas.limitOf('User:alice', 'app', 'consumer_byte_rate'), 30);
      assert.equal(quotas.limitOf('User:bob', 'app', 'producer_byte_rate'), 6);
      await quotas.alter({ user: null }, { producer_byte_rate: undefined });
      assert.equal(quotas.limitOf('User:bob', 'app', 'producer_byte_rate'), 7);
      assert.equal(quotas.limitOf('User:bob', 'x', 'producer_byte_rate'), 8);
      assert.equal(quotas.limitOf('User:bob', 'x', 'request_percentage'), undefined);
      await quotas.load(); // what another broker reads from the store
      assert.equal(quotas.limitOf('User:alice', 'app', 'producer_byte_rate'), 1);
      assert.equal(quotas.list().length, 4);
    }));

  it('throttles by (rate - quota) / quota x window, and only past the quota', () =>
    withQuotas(async (quotas) => {
      await quotas.alter({ 'client-id': 'c' }, { producer_byte_rate: 1000 });
      const t0 = 1_000_000;
      assert.equal(quotas.record('User:ANONYMOUS', 'c', 'producer_byte_rate', 900, t0), 0);
      // 3000 bytes in the first (minimum) one-second window: rate 3000/s, 2x over.
      const throttle = quotas.record('User:ANONYMOUS', 'c', 'producer_byte_rate', 2100, t0 + 10);
      assert.equal(throttle, 2 * quotaWindowMs);
      assert.equal(quotas.record('User:ANONYMOUS', 'd', 'producer_byte_rate', 1e9, t0), 0);
      assert.equal(quotas.stats.throttledRequests.producer_byte_rate, 1);
    }));
});
