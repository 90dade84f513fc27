/**
 * AlterClientQuotas (key 49), v0-1: sets or removes client quotas (security/client-quotas.ts)
 * per entity, as Kafka validates them: entity types `user` and `client-id` (each at most once;
 * `ip` entities and `connection_creation_rate` are not supported here: INVALID_REQUEST), keys
 * `producer_byte_rate`, `consumer_byte_rate` (bytes/s) and `request_percentage`, values
 * positive. `validate_only` checks without storing. Needs ALTER_CONFIGS on the cluster.
 */
import { ErrorCode, alterClientQuotasApi } from '@tributary/protocol';
import { defineHandler } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';
import { AclOperation } from '../security/acl-codes.ts';
import {
  type QuotaEntity,
  type QuotaKey,
  quotaEntityTypes,
  quotaKeys,
} from '../security/client-quotas.ts';
import { authorized, clusterResource } from '../security/request-authorization.ts';

export const alterClientQuotasHandler = defineHandler(
  alterClientQuotasApi,
  async (context, request) => {
    const allowed = authorized(context, AclOperation.ALTER_CONFIGS, clusterResource);
    const quotas = context.runtime.clientQuotas;
    const entries = [];
    for (const entry of request.entries) {
      const entity = entry.entity.map(({ entityType, entityName }) => ({
        entityType,
        entityName,
      }));
      const fail = (errorCode: number, errorMessage: string) => ({
        errorCode,
        errorMessage,
        entity,
      });
      if (!allowed) {
        entries.push(fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.'));
        continue;
      }
      const parsed = entityOf(entry.entity);
      if (typeof parsed === 'string') {
        entries.push(fail(ErrorCode.INVALID_REQUEST, parsed));
        continue;
      }
      const changes = changesOf(entry.ops);
      if (typeof changes === 'string') {
        entries.push(fail(ErrorCode.INVALID_REQUEST, changes));
        continue;
      }
      if (quotas === undefined) {
        entries.push(fail(ErrorCode.UNSUPPORTED_VERSION, 'client quotas are not available'));
        continue;
      }
      try {
        if (!request.validateOnly) await quotas.alter(parsed, changes);
        entries.push({ errorCode: ErrorCode.NONE, errorMessage: null, entity });
      } catch (error: unknown) {
        entries.push({ ...toKafkaError(error), entity });
      }
    }
    return { throttleTimeMs: 0, entries };
  },
);

function entityOf(
  components: readonly { entityType: string; entityName: string | null }[],
): QuotaEntity | string {
  const entity: QuotaEntity = {};
  if (components.length === 0) return 'Invalid empty client quota entity';
  for (const { entityType, entityName } of components) {
    if (!(quotaEntityTypes as readonly string[]).includes(entityType)) {
      return `Unsupported client quota entity type: ${entityType}`;
    }
    const type = entityType as (typeof quotaEntityTypes)[number];
    if (type in entity) return `Duplicate ${type} entity type in the quota entity`;
    entity[type] = entityName;
  }
  return entity;
}

function changesOf(
  ops: readonly { key: string; value: number; remove: boolean }[],
): Partial<Record<QuotaKey, number | undefined>> | string {
  const changes: Partial<Record<QuotaKey, number | undefined>> = {};
  for (const { key, value, remove } of ops) {
    if (!(quotaKeys as readonly string[]).includes(key)) return `Unknown client quota key: ${key}`;
    const quotaKey = key as QuotaKey;
    if (quotaKey in changes) return `Duplicate quota key in one entry: ${key}`;
    if (!remove && !(Number.isFinite(value) && value > 0)) {
      return `Invalid value ${value} for ${key}: must be positive`;
    }
    changes[quotaKey] = remove ? undefined : value;
  }
  return changes;
}
