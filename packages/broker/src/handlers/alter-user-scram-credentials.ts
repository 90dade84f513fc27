/**
 * AlterUserScramCredentials (key 51), v0: stores or removes SCRAM-SHA-256/512 credentials, as
 * Kafka's ScramControlManager.alterCredentials does. An upsertion carries the salt and the
 * client's SaltedPassword (PBKDF2-HMAC); the broker stores the salt, the iteration count and the
 * StoredKey and ServerKey derived from it (security/scram-formatter.ts), never a password.
 *
 * Per user, with Kafka's codes and messages: a user altered twice in one request (deletion or
 * upsertion, any mechanism) DUPLICATE_RESOURCE; an empty name UNACCEPTABLE_CREDENTIAL; a
 * mechanism other than SCRAM-SHA-256/512 UNSUPPORTED_SASL_MECHANISM; fewer than 4096 or more than
 * 16384 iterations UNACCEPTABLE_CREDENTIAL; deleting a credential that does not exist
 * RESOURCE_NOT_FOUND. An empty salt or salted password is UNACCEPTABLE_CREDENTIAL here (Kafka's
 * HMAC refuses an empty key with an unknown server error). Every accepted change is stored in
 * one transaction.
 *
 * With an authorizer on, altering needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED for
 * every user otherwise). The credentials are not used to authenticate anyone yet; the security
 * issue adds SASL/SCRAM on them.
 */
import {
  ErrorCode,
  alterUserScramCredentialsApi,
  type AlterUserScramCredentialsRequest,
} from '@tributary/protocol';
import {
  scramCredentialKey,
  type ScramCredential,
  type ScramCredentialKey,
} from '@tributary/storage';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, clusterResource } from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';
import { scramKeys, scramMaxIterations, scramMechanismOf } from '../security/scram-formatter.ts';

type Upsertion = AlterUserScramCredentialsRequest['upsertions'][number];

interface UserError {
  errorCode: number;
  errorMessage: string;
}

const alteredTwice: UserError = {
  errorCode: ErrorCode.DUPLICATE_RESOURCE,
  errorMessage: 'A user credential cannot be altered twice in the same request',
};

export const alterUserScramCredentialsHandler = defineHandler(
  alterUserScramCredentialsApi,
  async (context, request) => {
    const { storage } = context.runtime;
    if (!authorized(context, AclOperation.ALTER, clusterResource)) {
      const denied = { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null };
      const users = [...request.deletions, ...request.upsertions].map((change) => change.name);
      return {
        throttleTimeMs: 0,
        results: [...new Set(users)].map((user) => ({ user, ...denied })),
      };
    }
    let existing: Set<string>;
    try {
      existing = new Set((await storage.listScramCredentials()).map(scramCredentialKey));
    } catch (error: unknown) {
      const failure = toKafkaError(error);
      const users = [...request.deletions, ...request.upsertions].map((change) => change.name);
      return {
        throttleTimeMs: 0,
        results: [...new Set(users)].map((user) => ({ user, ...failure })),
      };
    }
    const errors = new Map<string, UserError>();
    const deletions = new Map<string, ScramCredentialKey>();
    const upserts = new Map<string, ScramCredential>();
    for (const { name, mechanism } of request.deletions) {
      if (errors.has(name)) continue;
      if (deletions.delete(name)) {
        errors.set(name, alteredTwice);
        continue;
      }
      const problem =
        nameOrMechanismProblem(name, mechanism) ??
        (existing.has(scramCredentialKey({ user: name, mechanism }))
          ? undefined
          : {
              errorCode: ErrorCode.RESOURCE_NOT_FOUND,
              errorMessage: 'Attempt to delete a user credential that does not exist',
            });
      if (problem === undefined) deletions.set(name, { user: name, mechanism });
      else errors.set(name, problem);
    }
    for (const upsertion of request.upsertions) {
      const { name } = upsertion;
      if (errors.has(name)) continue;
      if (deletions.delete(name) || upserts.delete(name)) {
        errors.set(name, alteredTwice);
        continue;
      }
      const credential = credentialOf(upsertion);
      if ('errorCode' in credential) errors.set(name, credential);
      else upserts.set(name, credential);
    }
    const change = { deletions: [...deletions.values()], upserts: [...upserts.values()] };
    let stored: { errorCode: number; errorMessage: string | null } = {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
    };
    if (change.deletions.length + change.upserts.length > 0) {
      try {
        await storage.alterScramCredentials(change);
      } catch (error: unknown) {
        stored = toKafkaError(error);
      }
    }
    const results = [
      ...[...deletions.keys(), ...upserts.keys()].map((user) => ({ user, ...stored })),
      ...[...errors].map(([user, error]) => ({ user, ...error })),
    ];
    return { throttleTimeMs: 0, results };
  },
);

const unknownMechanism: UserError = {
  errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
  errorMessage: 'Unknown SCRAM mechanism',
};

function nameOrMechanismProblem(name: string, mechanism: number): UserError | undefined {
  if (name === '') return unacceptable('Username must not be empty');
  return scramMechanismOf(mechanism) === undefined ? unknownMechanism : undefined;
}

/** The credential to store for an upsertion, or why it is refused. */
function credentialOf(upsertion: Upsertion): ScramCredential | UserError {
  const { name, mechanism, iterations, salt, saltedPassword } = upsertion;
  const problem = nameOrMechanismProblem(name, mechanism);
  const scram = scramMechanismOf(mechanism);
  if (problem !== undefined || scram === undefined) return problem ?? unknownMechanism;
  if (iterations < scram.minIterations) return unacceptable('Too few iterations');
  if (iterations > scramMaxIterations) return unacceptable('Too many iterations');
  if (salt.length === 0) return unacceptable('Empty salt');
  if (saltedPassword.length === 0) return unacceptable('Empty salted password');
  // The request's buffers are views into the request frame: the stored salt is a copy.
  const { storedKey, serverKey } = scramKeys(scram, saltedPassword);
  return { user: name, mechanism, salt: Buffer.from(salt), storedKey, serverKey, iterations };
}

function unacceptable(errorMessage: string): UserError {
  return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage };
}
