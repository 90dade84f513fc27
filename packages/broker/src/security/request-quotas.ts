/**
 * Applies client quotas (client-quotas.ts) to one request: meters its bytes (Produce, Fetch) or
 * its event-loop time (every request but ApiVersions and SASL) against the principal and client
 * id's quota and, when over it, mutes the connection for the throttle time (KIP-219: the next
 * requests wait; Produce and Fetch answers also say how long in throttle_time_ms).
 */
import { ApiKey } from '@tributary/protocol';
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

/** Requests a client cannot do without, never throttled for their time (as in Kafka). */
const timeExempt: ReadonlySet<number> = new Set([
  ApiKey.ApiVersions,
  ApiKey.SaslHandshake,
  ApiKey.SaslAuthenticate,
]);

/**
 * Meters `busyMs` of event-loop time against the request_percentage quota: the sensor counts
 * hundredths of a second, so its rate per second is the share of one core in percent.
 */
export function meterRequestTime(context: RequestContext, apiKey: number, busyMs: number): void {
  if (timeExempt.has(apiKey)) return;
  quotaThrottleMs(context, 'request_percentage', busyMs / 10);
}
