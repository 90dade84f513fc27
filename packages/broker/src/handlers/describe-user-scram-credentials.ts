/**
 * DescribeUserScramCredentials (key 50), v0: each user's SCRAM mechanisms and iteration counts
 * (never the salt or keys), as Kafka's ScramImage.describe answers: null or no users = every
 * user with a credential; a user named twice gets DUPLICATE_RESOURCE, a user without a
 * credential RESOURCE_NOT_FOUND, each with Kafka's message; the top-level error stays NONE.
 *
 * With an authorizer on, describing needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED
 * otherwise). The credentials are not used to authenticate anyone yet; the security issue adds
 * SASL/SCRAM on them.
 */
import { ErrorCode, describeUserScramCredentialsApi } from '@tributary/protocol';
import type { ScramCredential } from '@tributary/storage';
import { defineHandler } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, clusterResource } from '../security/request-authorization.ts';

export const describeUserScramCredentialsHandler = defineHandler(
  describeUserScramCredentialsApi,
  async (context, request) => {
    if (!authorized(context, AclOperation.DESCRIBE, clusterResource)) {
      const errorCode = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
      return { throttleTimeMs: 0, errorCode, errorMessage: null, results: [] };
    }
    let credentials: ScramCredential[];
    try {
      credentials = await context.runtime.storage.listScramCredentials();
    } catch (error: unknown) {
      return { throttleTimeMs: 0, ...toKafkaError(error), results: [] };
    }
    const byUser = new Map<string, ScramCredential[]>();
    for (const credential of credentials) {
      byUser.set(credential.user, [...(byUser.get(credential.user) ?? []), credential]);
    }
    const requested = request.users ?? [];
    // Each user once, in request order, remembering who was named twice.
    const users = new Map<string, boolean>();
    if (requested.length === 0) for (const user of byUser.keys()) users.set(user, false);
    for (const { name } of requested) users.set(name, users.has(name));
    const results = [...users].map(([user, duplicate]) => {
      const found = byUser.get(user);
      if (duplicate) {
        const errorMessage =
          'Cannot describe SCRAM credentials for the same user twice in a single request: ' + user;
        return { user, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage, credentialInfos: [] };
      }
      if (found === undefined) {
        const errorMessage = `Attempt to describe a user credential that does not exist: ${user}`;
        return { user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage, credentialInfos: [] };
      }
      const credentialInfos = found.map(({ mechanism, iterations }) => ({ mechanism, iterations }));
      return { user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos };
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
  },
);
