/**
 * Kafka's ACL enums as the wire carries them (org.apache.kafka.common.resource.ResourceType,
 * PatternType, org.apache.kafka.common.acl.AclOperation, AclPermissionType), with Kafka's names
 * for error messages. A code Kafka does not define reads as UNKNOWN, as Java's `fromCode` does.
 */

export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;

export const PatternType = {
  UNKNOWN: 0,
  ANY: 1,
  MATCH: 2,
  LITERAL: 3,
  PREFIXED: 4,
} as const;

export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
  TWO_PHASE_COMMIT: 15,
} as const;

export const AclPermissionType = {
  UNKNOWN: 0,
  ANY: 1,
  DENY: 2,
  ALLOW: 3,
} as const;

/** The one resource name a CLUSTER binding may have (Kafka's Resource.CLUSTER_NAME). */
export const clusterResourceName = 'kafka-cluster';

/** The resource name that a LITERAL binding uses to mean every resource. */
export const wildcardResourceName = '*';

type CodeTable = Readonly<Record<string, number>>;

/** The code as Java's `fromCode` sees it: a code the enum lacks becomes UNKNOWN (0). */
export function known(table: CodeTable, code: number): number {
  return Object.values(table).includes(code) ? code : 0;
}

/** Kafka's name for a code (UNKNOWN for codes it does not define), for error messages. */
export function codeName(table: CodeTable, code: number): string {
  const entry = Object.entries(table).find(([, value]) => value === code);
  return entry === undefined ? 'UNKNOWN' : entry[0];
}
