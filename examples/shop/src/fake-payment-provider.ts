/**
 * A fake card payment provider, deterministic so tests can predict it: a card whose last digit
 * is odd is refused; the first call for one order in ten (by a hash of the idempotency key)
 * charges the card and then times out, as a provider whose answer is lost on the way back.
 * Its ledger is the `provider_charges` table, written outside the caller's transaction (it is
 * the provider's side, not the shop's): the idempotency key is unique there, so a retried call
 * answers the charge already made instead of charging again. A test counts charges per key.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';

export const providerChargesSql = `CREATE TABLE IF NOT EXISTS provider_charges (
  id bigserial PRIMARY KEY,
  idempotency_key text NOT NULL UNIQUE,
  card text NOT NULL,
  amount_cents bigint NOT NULL,
  charged_at timestamptz NOT NULL DEFAULT now()
)`;

export type ChargeResult =
  | { readonly outcome: 'charged'; readonly chargeId: string }
  | { readonly outcome: 'refused'; readonly reason: string };

/** The provider did not answer in time; the charge may or may not have been made. */
export class ProviderTimeoutError extends Error {
  readonly code = 'PROVIDER_TIMEOUT';
  constructor(key: string) {
    super(`payment provider timed out (idempotency key ${key})`);
    this.name = 'ProviderTimeoutError';
  }
}

/** One call in this many (by key) times out on its first attempt. */
const timeoutOneIn = 10;

export class FakePaymentProvider {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Whether the fake refuses `card` (its last digit is odd). */
  static refuses(card: string): boolean {
    return Number(card.at(-1)) % 2 === 1;
  }

  /** Whether the first call with `key` times out (after charging). */
  static timesOut(key: string): boolean {
    return createHash('sha256').update(key).digest().readUInt32BE(0) % timeoutOneIn === 0;
  }

  /**
   * Charges `amountCents` to `card` once per `idempotencyKey`: a repeated call answers the
   * first charge. `attempt` 1 of a timing-out key charges and then throws ProviderTimeoutError.
   */
  async charge(request: {
    idempotencyKey: string;
    card: string;
    amountCents: number;
    attempt: number;
  }): Promise<ChargeResult> {
    if (FakePaymentProvider.refuses(request.card)) {
      return { outcome: 'refused', reason: 'card declined' };
    }
    await this.#pool.query(
      `INSERT INTO provider_charges (idempotency_key, card, amount_cents) VALUES ($1, $2, $3)
       ON CONFLICT (idempotency_key) DO NOTHING`,
      [request.idempotencyKey, request.card, request.amountCents],
    );
    if (request.attempt === 1 && FakePaymentProvider.timesOut(request.idempotencyKey)) {
      throw new ProviderTimeoutError(request.idempotencyKey);
    }
    const charge = await this.#pool.query<{ id: string }>(
      'SELECT id FROM provider_charges WHERE idempotency_key = $1',
      [request.idempotencyKey],
    );
    return { outcome: 'charged', chargeId: `ch_${charge.rows[0]?.id ?? '?'}` };
  }
}
