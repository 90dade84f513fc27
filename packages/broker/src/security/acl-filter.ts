/**
 * ACL binding filters, matched and validated as Kafka does (AclBindingFilter.matches,
 * ResourcePatternFilter and AccessControlEntryFilter; AclControlManager and AclApis for what
 * CreateAcls refuses). Pure functions over the stored bindings; no I/O.
 *
 * Three kinds of refusal, as in Kafka:
 * - a code of 0 (UNKNOWN) anywhere in a CreateAcls, DescribeAcls or DeleteAcls request fails the
 *   request's parse (Kafka's request constructors throw), which closes the connection;
 * - a DeleteAcls filter with a code Kafka does not define gets INVALID_REQUEST for that filter
 *   ("Unknown patternFilter." / "Unknown entryFilter."), a DescribeAcls filter matches nothing;
 * - a CreateAcls binding that is not a concrete binding gets INVALID_REQUEST for that creation.
 */
import { ProtocolError, type DeleteAclsRequestDeleteAclsFilter } from '@tributary/protocol';
import type { AclBinding } from '@tributary/storage';
import {
  AclOperation,
  AclPermissionType,
  PatternType,
  ResourceType,
  clusterResourceName,
  codeName,
  known,
  wildcardResourceName,
} from './acl-codes.ts';

/**
 * A filter as DeleteAcls carries it; a DescribeAcls request has the same fields, so it is one
 * too. Null strings match anything.
 */
export type AclBindingFilter = DeleteAclsRequestDeleteAclsFilter;

/**
 * Throws the parse failure Kafka's request constructors raise for an explicit UNKNOWN (0) code;
 * the router turns it into a closed connection, as Kafka's SocketServer does.
 */
export function rejectUnknownCodes(what: string, codes: readonly number[]): void {
  if (codes.includes(0)) throw new ProtocolError(`${what} contain UNKNOWN elements`);
}

export function filterCodes(filter: AclBindingFilter): number[] {
  const { resourceTypeFilter, patternTypeFilter, operation, permissionType } = filter;
  return [resourceTypeFilter, patternTypeFilter, operation, permissionType];
}

/** Kafka's AclControlManager.validateFilter: why DeleteAcls refuses this filter, or undefined. */
export function filterProblem(filter: AclBindingFilter): string | undefined {
  if (
    known(ResourceType, filter.resourceTypeFilter) === ResourceType.UNKNOWN ||
    known(PatternType, filter.patternTypeFilter) === PatternType.UNKNOWN
  ) {
    return 'Unknown patternFilter.';
  }
  if (
    known(AclOperation, filter.operation) === AclOperation.UNKNOWN ||
    known(AclPermissionType, filter.permissionType) === AclPermissionType.UNKNOWN
  ) {
    return 'Unknown entryFilter.';
  }
  return undefined;
}

export function matchesFilter(filter: AclBindingFilter, binding: AclBinding): boolean {
  return patternMatches(filter, binding) && entryMatches(filter, binding);
}

/** Kafka's ResourcePatternFilter.matches. */
function patternMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  const resourceType = known(ResourceType, filter.resourceTypeFilter);
  if (resourceType !== ResourceType.ANY && resourceType !== binding.resourceType) return false;
  const patternType = known(PatternType, filter.patternTypeFilter);
  const anyPattern = patternType === PatternType.ANY || patternType === PatternType.MATCH;
  if (!anyPattern && patternType !== binding.patternType) return false;
  const name = filter.resourceNameFilter;
  if (name === null) return true;
  if (patternType === PatternType.ANY || patternType === binding.patternType) {
    return name === binding.resourceName;
  }
  // MATCH: the bindings that would apply to a resource of this name.
  if (binding.patternType === PatternType.LITERAL) {
    return name === binding.resourceName || binding.resourceName === wildcardResourceName;
  }
  return binding.patternType === PatternType.PREFIXED && name.startsWith(binding.resourceName);
}

/** Kafka's AccessControlEntryFilter.matches. */
function entryMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  if (filter.principalFilter !== null && filter.principalFilter !== binding.principal) return false;
  if (filter.hostFilter !== null && filter.hostFilter !== binding.host) return false;
  const operation = known(AclOperation, filter.operation);
  if (operation !== AclOperation.ANY && operation !== binding.operation) return false;
  const permission = known(AclPermissionType, filter.permissionType);
  return permission === AclPermissionType.ANY || permission === binding.permissionType;
}

/**
 * Why CreateAcls refuses this binding (INVALID_REQUEST), or undefined: Kafka's AclApis checks
 * (the CLUSTER name, an empty name) and then AclControlManager.validateNewAcl, with their
 * messages. A principal that is not `type:name` is refused too: Kafka's controller fails on it
 * when it parses the principal (SecurityUtils.parseKafkaPrincipal), after this validation.
 */
export function creationProblem(binding: AclBinding): string | undefined {
  const resourceType = known(ResourceType, binding.resourceType);
  if (resourceType === ResourceType.CLUSTER && binding.resourceName !== clusterResourceName) {
    return `The only valid name for the CLUSTER resource is ${clusterResourceName}`;
  }
  if (binding.resourceName === '') return 'Invalid empty resource name';
  if (resourceType === ResourceType.UNKNOWN || resourceType === ResourceType.ANY) {
    return `Invalid resourceType ${codeName(ResourceType, resourceType)}`;
  }
  const patternType = known(PatternType, binding.patternType);
  if (patternType !== PatternType.LITERAL && patternType !== PatternType.PREFIXED) {
    return `Invalid patternType ${codeName(PatternType, patternType)}`;
  }
  const operation = known(AclOperation, binding.operation);
  if (operation === AclOperation.UNKNOWN || operation === AclOperation.ANY) {
    return `Invalid operation ${codeName(AclOperation, operation)}`;
  }
  const permission = known(AclPermissionType, binding.permissionType);
  if (permission !== AclPermissionType.ALLOW && permission !== AclPermissionType.DENY) {
    return `Invalid permissionType ${codeName(AclPermissionType, permission)}`;
  }
  if (!binding.principal.includes(':')) {
    return 'expected a string in format principalType:principalName but got ' + binding.principal;
  }
  return undefined;
}
