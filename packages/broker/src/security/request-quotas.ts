/**
 * Applies client quotas (client-quotas.ts) to one request: meters its bytes against the
 * principal and client id's quota and, when over it, mutes the connection for the throttle
 * time (KIP-219: the next requests wait; the response says how long in throttle_time_ms).
 */
import type { RequestContext } from '../handler.ts';
import type { QuotaKey } from './client-quotas.ts';

/** The throttle for the response's throttle_time_ms (0 when within the quota). */
export function quotaThrottleMs(context: RequestContext, key: QuotaKey, bytes: number): number {
  const quotas = context.runtime.clientQuotas;
  if (quotas === undefined || bytes <= 0) return 0;
  const clientId = context.clientId ?? '';
  const ms = quotas.record(context.principal, clientId, key, bytes, context.runtime.now());
  if (ms > 0) context.throttle?.(ms);
  return ms;
}
