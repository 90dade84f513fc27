/**
 * AuditAppend: a Tributary-only API between brokers of one cluster. Only the leader of the audit
 * topic's one partition may append to it, so a broker that audited an action hands its entries
 * to that leader, which appends them as one batch and answers once they are stored. Framed as
 * every broker-to-broker API (json-broker-api.ts).
 */
import type { AuditEntry } from '../security/audit-entry.ts';
import { jsonBrokerApi } from './json-broker-api.ts';

/** Next to ForwardAppend's 32_001, outside Kafka's range of API keys. */
export const auditAppendApiKey = 32_002;

export interface AuditAppendRequest {
  readonly entries: readonly AuditEntry[];
}

export interface AuditAppendResponse {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export const auditAppendApi = jsonBrokerApi<AuditAppendRequest, AuditAppendResponse>(
  auditAppendApiKey,
  'AuditAppend',
);
