/**
 * DescribeClientQuotas (key 48), v0-1: the stored client quotas matching the request's filter
 * (security/client-quotas.ts), as Kafka's ClientQuotaManager answers: each component matches
 * an entity type by exact name (0), the default entity (1) or any specified name (2); with
 * `strict` an entity must have no other types. Needs DESCRIBE_CONFIGS on the cluster.
 */
import { ErrorCode, describeClientQuotasApi } from '@tributary/protocol';
import { defineHandler } from '../handler.ts';
import { AclOperation } from '../security/acl-codes.ts';
import {
  type QuotaEntity,
  type QuotaEntityType,
  quotaEntityTypes,
} from '../security/client-quotas.ts';
import { authorized, clusterResource } from '../security/request-authorization.ts';

const matchExact = 0;
const matchDefault = 1;
const matchSpecified = 2;

interface Component {
  entityType: string;
  matchType: number;
  match: string | null;
}

export const describeClientQuotasHandler = defineHandler(
  describeClientQuotasApi,
  (context, request) => {
    const answer = (errorCode: number, errorMessage: string | null) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      entries: null,
    });
    if (!authorized(context, AclOperation.DESCRIBE_CONFIGS, clusterResource)) {
      return answer(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.');
    }
    const quotas = context.runtime.clientQuotas;
    for (const component of request.components) {
      if (!(quotaEntityTypes as readonly string[]).includes(component.entityType)) {
        return answer(ErrorCode.INVALID_REQUEST, `Unknown entity type: ${component.entityType}`);
      }
      if (component.matchType < matchExact || component.matchType > matchSpecified) {
        return answer(ErrorCode.INVALID_REQUEST, `Unknown match type: ${component.matchType}`);
      }
    }
    const entries = (quotas?.list() ?? [])
      .filter(({ entity }) => matches(entity, request.components, request.strict))
      .map(({ entity, values }) => ({
        entity: quotaEntityTypes
          .filter((type) => type in entity)
          .map((entityType) => ({ entityType, entityName: entity[entityType] ?? null })),
        values: Object.entries(values).map(([key, value]) => ({ key, value })),
      }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries };
  },
);

function matches(entity: QuotaEntity, components: readonly Component[], strict: boolean) {
  for (const { entityType, matchType, match } of components) {
    const type = entityType as QuotaEntityType;
    if (!(type in entity)) return false;
    const name = entity[type];
    if (matchType === matchExact && name !== match) return false;
    if (matchType === matchDefault && name !== null) return false;
    if (matchType === matchSpecified && name === null) return false;
  }
  if (!strict) return true;
  const named = new Set(components.map((component) => component.entityType));
  return quotaEntityTypes.every((type) => !(type in entity) || named.has(type));
}
