/**
 * What handlers call to authorize a request, as Kafka's AuthHelper does for KafkaApis: one
 * action on one resource (`authorized`), a list of names filtered to the authorized ones
 * (`authorizedNames`), and "some resource of this type" (`authorizedForSomeResource`). The
 * subject is the request's principal and the client's IP address (`RequestContext.peer` without
 * its port, IPv4-mapped IPv6 written as IPv4, as Java's getHostAddress gives it).
 *
 * Denials are logged as Kafka's authorizer logger does (principal, operation, resource, peer),
 * at a bounded rate (Authorizer.logDenial). A check Kafka makes with logIfDenied=false (a
 * cluster-wide permission tried before the per-resource one) is not logged.
 */
import type { RequestContext } from '../handler.ts';
import { AclOperation, ResourceType, clusterResourceName, codeName } from './acl-codes.ts';
import type { AuthorizationSubject } from './authorizer.ts';

export interface ResourceRef {
  readonly type: number;
  readonly name: string;
}

/** The cluster resource (Kafka's Resource.CLUSTER). */
export const clusterResource: ResourceRef = {
  type: ResourceType.CLUSTER,
  name: clusterResourceName,
};

export function topicResource(name: string): ResourceRef {
  return { type: ResourceType.TOPIC, name };
}

export function groupResource(name: string): ResourceRef {
  return { type: ResourceType.GROUP, name };
}

export function transactionalIdResource(name: string): ResourceRef {
  return { type: ResourceType.TRANSACTIONAL_ID, name };
}

export interface AuthorizeOptions {
  /** False for checks whose denial is expected and not worth a log line (Kafka's logIfDenied). */
  readonly logIfDenied?: boolean;
}

/** May this request perform `operation` on `resource`? Logs a denial. */
export function authorized(
  context: RequestContext,
  operation: number,
  resource: ResourceRef,
  options: AuthorizeOptions = {},
): boolean {
  const { authorizer } = context.runtime;
  if (!authorizer.enabled) return true;
  const allowed = authorizer.authorize(subjectOf(context), operation, resource);
  if (!allowed && options.logIfDenied !== false) logDenial(context, operation, resource);
  return allowed;
}

/** The distinct names among `names` this request may perform `operation` on. */
export function authorizedNames(
  context: RequestContext,
  operation: number,
  type: number,
  names: Iterable<string>,
): Set<string> {
  const allowed = new Set<string>();
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) continue;
    seen.add(name);
    if (authorized(context, operation, { type, name })) allowed.add(name);
  }
  return allowed;
}

/** May this request perform `operation` on at least one resource of `type`? */
export function authorizedForSomeResource(
  context: RequestContext,
  operation: number,
  type: number,
): boolean {
  const { authorizer } = context.runtime;
  if (!authorizer.enabled) return true;
  const allowed = authorizer.authorizeByResourceType(subjectOf(context), operation, type);
  if (!allowed) logDenial(context, operation, { type, name: '(any)' });
  return allowed;
}

/** The operations (Kafka's codes) of `candidates` this request may perform on `resource`. */
export function authorizedOperations(
  context: RequestContext,
  resource: ResourceRef,
  candidates: readonly number[],
): number {
  const { authorizer } = context.runtime;
  const subject = subjectOf(context);
  let bits = 0;
  for (const operation of candidates) {
    if (authorizer.authorize(subject, operation, resource)) bits |= 1 << operation;
  }
  return bits;
}

/** The operations Kafka reports as authorizedOperations per resource type (supportedOperations). */
export const topicOperations: readonly number[] = [
  AclOperation.READ,
  AclOperation.WRITE,
  AclOperation.CREATE,
  AclOperation.DELETE,
  AclOperation.ALTER,
  AclOperation.DESCRIBE,
  AclOperation.DESCRIBE_CONFIGS,
  AclOperation.ALTER_CONFIGS,
];
export const groupOperations: readonly number[] = [
  AclOperation.READ,
  AclOperation.DESCRIBE,
  AclOperation.DELETE,
  AclOperation.DESCRIBE_CONFIGS,
  AclOperation.ALTER_CONFIGS,
];
export const clusterOperations: readonly number[] = [
  AclOperation.CREATE,
  AclOperation.CLUSTER_ACTION,
  AclOperation.DESCRIBE_CONFIGS,
  AclOperation.ALTER_CONFIGS,
  AclOperation.IDEMPOTENT_WRITE,
  AclOperation.ALTER,
  AclOperation.DESCRIBE,
];

export function subjectOf(context: RequestContext): AuthorizationSubject {
  return { principal: context.principal, host: hostOf(context.peer) };
}

/** `1.2.3.4:5678` -> `1.2.3.4`, `::1:5678` -> `::1`, `::ffff:1.2.3.4:5678` -> `1.2.3.4`. */
export function hostOf(peer: string): string {
  const colon = peer.lastIndexOf(':');
  const address = colon < 0 ? peer : peer.slice(0, colon);
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function logDenial(context: RequestContext, operation: number, resource: ResourceRef): void {
  context.runtime.authorizer.logDenial({
    principal: context.principal,
    operation: codeName(AclOperation, operation),
    resourceType: codeName(ResourceType, resource.type),
    resource: resource.name,
    peer: context.peer,
  });
}

/** Splits a request's topics into those it may perform `operation` on and the rest. */
export function splitByTopicAuthorization<T>(
  context: RequestContext,
  operation: number,
  topics: readonly T[],
  nameOf: (topic: T) => string,
): { allowed: T[]; denied: T[] } {
  const names = authorizedNames(context, operation, ResourceType.TOPIC, topics.map(nameOf));
  return {
    allowed: topics.filter((topic) => names.has(nameOf(topic))),
    denied: topics.filter((topic) => !names.has(nameOf(topic))),
  };
}
