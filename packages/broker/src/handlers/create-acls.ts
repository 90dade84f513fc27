/**
 * CreateAcls (key 30), v0-3: stores ACL bindings durably in the metadata store, as Kafka's
 * StandardAuthorizer does (a binding that exists already is a success and stays one binding).
 * Each creation is checked as Kafka checks it (security/acl-filter.ts): one that is not a
 * concrete binding gets INVALID_REQUEST with Kafka's message; an explicit UNKNOWN (0) code fails
 * the request's parse and closes the connection, as in Kafka.
 *
 * Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED for every creation otherwise); the
 * authorizer reloads its cache once the bindings are stored.
 */
import { ErrorCode, createAclsApi } from '@tributary/protocol';
import type { AclBinding } from '@tributary/storage';
import { defineHandler } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';
import { creationProblem, rejectUnknownCodes } from '../security/acl-filter.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, clusterResource } from '../security/request-authorization.ts';

export const createAclsHandler = defineHandler(createAclsApi, async (context, request) => {
  const bindings: AclBinding[] = request.creations.map((creation) => ({
    resourceType: creation.resourceType,
    resourceName: creation.resourceName,
    patternType: creation.resourcePatternType,
    principal: creation.principal,
    host: creation.host,
    operation: creation.operation,
    permissionType: creation.permissionType,
  }));
  for (const binding of bindings) {
    const { resourceType, patternType, operation, permissionType } = binding;
    rejectUnknownCodes('CreatableAcls', [resourceType, patternType, operation, permissionType]);
  }
  if (!authorized(context, AclOperation.ALTER, clusterResource)) {
    const denied = { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null };
    return { throttleTimeMs: 0, results: bindings.map(() => denied) };
  }
  const problems = bindings.map(creationProblem);
  const valid = bindings.filter((_, i) => problems[i] === undefined);
  let stored: { errorCode: number; errorMessage: string | null } = {
    errorCode: ErrorCode.NONE,
    errorMessage: null,
  };
  if (valid.length > 0) {
    try {
      await context.runtime.storage.createAcls(valid);
      await context.runtime.authorizer.refresh();
    } catch (error: unknown) {
      stored = toKafkaError(error);
    }
  }
  const results = problems.map((problem) =>
    problem === undefined
      ? stored
      : { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem },
  );
  return { throttleTimeMs: 0, results };
});
