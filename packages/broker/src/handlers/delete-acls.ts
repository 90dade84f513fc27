/**
 * DeleteAcls (key 31), v0-3: removes the stored ACL bindings each filter matches and lists them
 * per filter, as Kafka's AclControlManager.deleteAcls does (a binding two filters match is
 * listed under both and removed once). A filter with a code Kafka does not define gets
 * INVALID_REQUEST ("Unknown patternFilter." / "Unknown entryFilter."); an explicit UNKNOWN (0)
 * code fails the request's parse and closes the connection, as in Kafka. Matching is
 * security/acl-filter.ts, the same as DescribeAcls.
 *
 * Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED for every filter otherwise); the
 * authorizer reloads its cache after the deletion.
 */
import { ErrorCode, deleteAclsApi } from '@tributary/protocol';
import { aclBindingKey, type AclBinding } from '@tributary/storage';
import { defineHandler } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';
import {
  filterCodes,
  filterProblem,
  matchesFilter,
  rejectUnknownCodes,
} from '../security/acl-filter.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, clusterResource } from '../security/request-authorization.ts';

export const deleteAclsHandler = defineHandler(deleteAclsApi, async (context, request) => {
  for (const filter of request.filters) rejectUnknownCodes('Filters', filterCodes(filter));
  if (!authorized(context, AclOperation.ALTER, clusterResource)) {
    const denied = {
      errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      errorMessage: null,
      matchingAcls: [],
    };
    return { throttleTimeMs: 0, filterResults: request.filters.map(() => denied) };
  }
  const { storage } = context.runtime;
  let deleted: Set<string>;
  let matches: (AclBinding[] | string)[];
  try {
    const bindings = await storage.listAcls();
    matches = request.filters.map(
      (filter) =>
        filterProblem(filter) ?? bindings.filter((binding) => matchesFilter(filter, binding)),
    );
    const unique = new Map<string, AclBinding>();
    for (const match of matches) {
      if (typeof match === 'string') continue;
      for (const binding of match) unique.set(aclBindingKey(binding), binding);
    }
    // Another DeleteAcls may remove a binding between the listing and this: only what this
    // request removed is reported, so each binding is reported deleted once.
    deleted = new Set((await storage.deleteAcls([...unique.values()])).map(aclBindingKey));
    await context.runtime.authorizer.refresh();
  } catch (error: unknown) {
    const failure = { ...toKafkaError(error), matchingAcls: [] };
    return { throttleTimeMs: 0, filterResults: request.filters.map(() => failure) };
  }
  const filterResults = matches.map((match) =>
    typeof match === 'string'
      ? { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: match, matchingAcls: [] }
      : {
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          matchingAcls: match
            .filter((binding) => deleted.has(aclBindingKey(binding)))
            .map((binding) => ({ errorCode: ErrorCode.NONE, errorMessage: null, ...binding })),
        },
  );
  return { throttleTimeMs: 0, filterResults };
});
