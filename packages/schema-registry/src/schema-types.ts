/**
 * The registry's vocabulary, named as Confluent Schema Registry's REST API names it: schema
 * types, references, compatibility levels and modes. Plain data only.
 */

export const schemaTypes = ['AVRO', 'JSON', 'PROTOBUF'] as const;
export type SchemaType = (typeof schemaTypes)[number];

export function isSchemaType(value: unknown): value is SchemaType {
  return typeof value === 'string' && (schemaTypes as readonly string[]).includes(value);
}

/** A named import of another registered schema: `name` is how the referring schema spells it. */
export interface SchemaReference {
  readonly name: string;
  readonly subject: string;
  readonly version: number;
}

/** One schema as stored: ids are global, shared by every subject that registers the same text. */
export interface StoredSchema {
  readonly id: number;
  readonly schemaType: SchemaType;
  /** The canonical text (formats/*: the form compared for equality). */
  readonly schema: string;
  readonly references: readonly SchemaReference[];
}

/** One version of a subject; `deleted` marks a soft delete. */
export interface SubjectVersion {
  readonly subject: string;
  readonly version: number;
  readonly id: number;
  readonly deleted: boolean;
}

export const compatibilityLevels = [
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
] as const;
export type CompatibilityLevel = (typeof compatibilityLevels)[number];

export function isCompatibilityLevel(value: unknown): value is CompatibilityLevel {
  return typeof value === 'string' && (compatibilityLevels as readonly string[]).includes(value);
}

/** Confluent's default for the global compatibility level. */
export const defaultCompatibilityLevel: CompatibilityLevel = 'BACKWARD';

export const registryModes = ['READWRITE', 'READONLY', 'READONLY_OVERRIDE', 'IMPORT'] as const;
export type RegistryMode = (typeof registryModes)[number];

export function isRegistryMode(value: unknown): value is RegistryMode {
  return typeof value === 'string' && (registryModes as readonly string[]).includes(value);
}

/** A subject's (or, with subject '', the global) settings as PUT /config stores them. */
export interface SubjectConfig {
  readonly compatibilityLevel?: CompatibilityLevel;
  readonly normalize?: boolean;
}
