/**
 * AuditAppend (Tributary-only, broker to broker; cluster/audit-append-api.ts): the audit topic
 * leader's side. Another broker audited these actions; this one appends them to
 * `__tributary_audit` as one batch and answers once they are stored. Entries that are not what
 * a broker sends are refused with INVALID_REQUEST, never stored.
 */
import { ErrorCode } from '@tributary/protocol';
import { auditAppendApi, type AuditAppendResponse } from '../cluster/audit-append-api.ts';
import { defineHandler } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { AuditNotStored, auditQueueMaxEntries, type AuditEntry } from '../security/audit-log.ts';
import { authorized, clusterResource } from '../security/request-authorization.ts';

const textFields = ['time', 'principal', 'peer', 'action', 'result'] as const;

function isEntry(value: unknown): value is AuditEntry {
  if (value === null || typeof value !== 'object') return false;
  const entry = value as Record<string, unknown>;
  return (
    textFields.every((field) => typeof entry[field] === 'string') &&
    (entry['clientId'] === null || typeof entry['clientId'] === 'string') &&
    Array.isArray(entry['resources']) &&
    entry['resources'].every((resource) => typeof resource === 'string')
  );
}

function answer(errorCode: number, errorMessage: string | null = null): AuditAppendResponse {
  return { errorCode, errorMessage };
}

export const auditAppendHandler = defineHandler(auditAppendApi, async (context, request) => {
  // Sent by brokers only: CLUSTER_ACTION, as Kafka asks of inter-broker APIs.
  if (!authorized(context, AclOperation.CLUSTER_ACTION, clusterResource)) {
    return answer(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.');
  }
  const entries: unknown = request.entries;
  if (
    !Array.isArray(entries) ||
    entries.length === 0 ||
    entries.length > auditQueueMaxEntries ||
    !entries.every(isEntry)
  ) {
    return answer(ErrorCode.INVALID_REQUEST, 'malformed audit entries');
  }
  const audit = context.runtime.audit;
  if (audit === undefined) return answer(ErrorCode.LEADER_NOT_AVAILABLE, 'audit log not started');
  try {
    await audit.append(entries);
    return answer(ErrorCode.NONE);
  } catch (error: unknown) {
    if (error instanceof AuditNotStored) {
      const code = error.retriable ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.INVALID_REQUEST;
      return answer(code, error.message);
    }
    const { errorCode, errorMessage } = toKafkaError(error);
    return answer(errorCode, errorMessage ?? null);
  }
});
