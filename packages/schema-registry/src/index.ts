/**
 * @tributary/schema-registry: a Confluent-compatible schema registry (docs/schema-registry.md).
 * SchemaRegistry holds the operations and is what the broker's produce-path validation calls
 * (`schema(id)`, `decode(bytes)`); startRegistryServer serves the Confluent REST API (and,
 * under /apis/registry/v2, the part of Apicurio's that its serdes call); the
 * SchemaStore interface has an SQLite (embedded) and a PostgreSQL (cluster) implementation.
 */
export {
  SchemaRegistry,
  compatibilityProblems,
  fingerprintOf,
  parseSchema,
  parsedSchemaCacheMaxEntries,
  type RecordDecodeResult,
  type SchemaRegistryStats,
  type SchemaRequest,
  type VersionSpec,
  type VersionedSchema,
} from './schema-registry.ts';
export type { DecodeResult, ParsedSchema, ResolvedReference } from './formats/parsed-schema.ts';
export { AvroSchema } from './formats/avro-schema.ts';
export { JsonSchema } from './formats/json-schema.ts';
export { ProtobufSchema } from './formats/protobuf-schema.ts';
export { RegistryError, registryErrors } from './registry-error.ts';
export {
  registryContentType,
  requestBodyMaxBytes,
  startRegistryServer,
  type RegistryServerOptions,
  type RunningRegistryServer,
} from './registry-http-server.ts';
export type { NewSchemaVersion, RegisteredVersion, SchemaStore } from './schema-store.ts';
export { SqliteSchemaStore } from './sqlite-schema-store.ts';
export { PostgresSchemaStore, type PostgresSchemaStoreOptions } from './postgres-schema-store.ts';
export {
  compatibilityLevels,
  defaultCompatibilityLevel,
  registryModes,
  schemaTypes,
  type CompatibilityLevel,
  type RegistryMode,
  type SchemaReference,
  type SchemaType,
  type StoredSchema,
  type SubjectConfig,
  type SubjectVersion,
} from './schema-types.ts';
export { readFrame, schemaIdOf, wireMagicByte, type FramedPayload } from './wire-format.ts';
