/**
 * DescribeAcls (key 29), v0-3: the stored ACL bindings that match the filter, grouped by resource
 * pattern, as Kafka's StandardAuthorizer.acls and DescribeAclsResponse.aclsResources answer.
 * Filters match as Kafka matches them (security/acl-filter.ts): LITERAL and PREFIXED exactly,
 * ANY both, MATCH every binding that applies to the named resource (the `*` literal and the
 * prefixes of the name); a code Kafka does not define matches nothing; an explicit UNKNOWN (0)
 * code fails the request's parse and closes the connection, as in Kafka.
 *
 * Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED otherwise).
 */
import { ErrorCode, describeAclsApi } from '@tributary/protocol';
import type { AclBinding } from '@tributary/storage';
import { defineHandler } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';
import { filterCodes, matchesFilter, rejectUnknownCodes } from '../security/acl-filter.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, clusterResource } from '../security/request-authorization.ts';

interface ResourceAcls {
  resourceType: number;
  resourceName: string;
  patternType: number;
  acls: { principal: string; host: string; operation: number; permissionType: number }[];
}

export const describeAclsHandler = defineHandler(describeAclsApi, async (context, request) => {
  rejectUnknownCodes('DescribeAclsRequest', filterCodes(request));
  if (!authorized(context, AclOperation.DESCRIBE, clusterResource)) {
    const errorCode = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    return { throttleTimeMs: 0, errorCode, errorMessage: null, resources: [] };
  }
  let bindings: AclBinding[];
  try {
    bindings = await context.runtime.storage.listAcls();
  } catch (error: unknown) {
    return { throttleTimeMs: 0, ...toKafkaError(error), resources: [] };
  }
  const resources = new Map<string, ResourceAcls>();
  for (const binding of bindings.filter((candidate) => matchesFilter(request, candidate))) {
    const { resourceType, resourceName, patternType } = binding;
    const key = JSON.stringify([resourceType, resourceName, patternType]);
    let resource = resources.get(key);
    if (resource === undefined) {
      resource = { resourceType, resourceName, patternType, acls: [] };
      resources.set(key, resource);
    }
    const { principal, host, operation, permissionType } = binding;
    resource.acls.push({ principal, host, operation, permissionType });
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    resources: [...resources.values()],
  };
});
