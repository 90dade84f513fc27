/**
 * What the metadata store keeps for security: ACL bindings and SCRAM credentials, in the form
 * Kafka's controller keeps them (AccessControlEntryRecord, UserScramCredentialRecord). The codes
 * are Kafka's enum values; storage does not interpret them, it only stores and matches exact
 * values. A SCRAM credential is the salt, StoredKey, ServerKey and iteration count of RFC 5802:
 * never the password, nor the salted password it was derived from.
 */

/** One ACL binding; two bindings are the same binding when every field is equal. */
export interface AclBinding {
  /** Kafka's ResourceType code (TOPIC 2, GROUP 3, CLUSTER 4, ...). */
  resourceType: number;
  resourceName: string;
  /** Kafka's PatternType code: LITERAL 3 or PREFIXED 4. */
  patternType: number;
  /** `type:name`, e.g. `User:alice`. */
  principal: string;
  host: string;
  /** Kafka's AclOperation code. */
  operation: number;
  /** Kafka's AclPermissionType code: DENY 2 or ALLOW 3. */
  permissionType: number;
}

/** A user's credential for one SCRAM mechanism. */
export interface ScramCredential {
  user: string;
  /** Kafka's ScramMechanism code: SCRAM-SHA-256 1, SCRAM-SHA-512 2. */
  mechanism: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
  iterations: number;
}

export interface ScramCredentialKey {
  user: string;
  mechanism: number;
}

/** Applied in one transaction: deletions first, then upserts (which replace by key). */
export interface ScramCredentialChange {
  deletions: readonly ScramCredentialKey[];
  upserts: readonly ScramCredential[];
}

export interface SecurityMetadata {
  /** Every ACL binding, in a stable order (resource type, name, pattern type, then the entry). */
  listAcls(): Promise<AclBinding[]>;
  /** Adds the bindings not stored yet, in one transaction; existing ones are left as they are. */
  createAcls(bindings: readonly AclBinding[]): Promise<void>;
  /** Removes these exact bindings in one transaction; returns those that were stored. */
  deleteAcls(bindings: readonly AclBinding[]): Promise<AclBinding[]>;
  /** Every SCRAM credential, by user then mechanism. */
  listScramCredentials(): Promise<ScramCredential[]>;
  alterScramCredentials(change: ScramCredentialChange): Promise<void>;
}

/** A binding's fields in listAcls' order: the columns of its identity. */
export function aclBindingFields(
  binding: AclBinding,
): [number, string, number, string, string, number, number] {
  return [
    binding.resourceType,
    binding.resourceName,
    binding.patternType,
    binding.principal,
    binding.host,
    binding.operation,
    binding.permissionType,
  ];
}

/** The identity of a binding as one string, for sets and maps. */
export function aclBindingKey(binding: AclBinding): string {
  return JSON.stringify(aclBindingFields(binding));
}

/** The identity of a credential (user and mechanism) as one string, for sets and maps. */
export function scramCredentialKey(key: ScramCredentialKey): string {
  return JSON.stringify([key.user, key.mechanism]);
}

/** listAcls' order. */
export function compareAclBindings(a: AclBinding, b: AclBinding): number {
  return (
    a.resourceType - b.resourceType ||
    compareText(a.resourceName, b.resourceName) ||
    a.patternType - b.patternType ||
    compareText(a.principal, b.principal) ||
    compareText(a.host, b.host) ||
    a.operation - b.operation ||
    a.permissionType - b.permissionType
  );
}

function compareText(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
