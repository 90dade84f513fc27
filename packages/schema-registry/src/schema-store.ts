/**
 * SchemaStore: where the registry keeps schemas, subject versions, configs and modes. The
 * embedded broker keeps them in its SQLite metadata file (SqliteSchemaStore), a cluster in its
 * PostgreSQL metadata database (PostgresSchemaStore), so every broker serves the same registry.
 *
 * Contract (schemaStoreContract in testing/ runs it against both): every method is atomic and
 * durable when its promise resolves. Schema ids are positive, global and never reused: the same
 * fingerprint always gets the id it first got, even after every version using it was deleted.
 * Versions of a subject count up from 1; a soft-deleted version keeps its number, so the next
 * version is one more than the highest number the subject holds, deleted or not.
 */
import type {
  RegistryMode,
  SchemaReference,
  SchemaType,
  StoredSchema,
  SubjectConfig,
  SubjectVersion,
} from './schema-types.ts';

export interface NewSchemaVersion {
  readonly subject: string;
  readonly schemaType: SchemaType;
  /** Canonical text: what GET /schemas/ids/{id} returns. */
  readonly schema: string;
  readonly references: readonly SchemaReference[];
  /** Identity of the schema: equal fingerprints mean one id (schema-registry.ts makes it). */
  readonly fingerprint: string;
  /**
   * The subject's highest version number (deleted or not; 0 for none) when the caller checked
   * compatibility. When the subject has moved on since, nothing is stored and the answer is a
   * conflict, so the caller checks again against the version that came in between.
   */
  readonly expectedTopVersion?: number;
}

/** The subject changed since the compatibility check (`expectedTopVersion`): check again. */
export interface RegisterConflict {
  readonly conflict: true;
}

export interface RegisteredVersion {
  readonly id: number;
  readonly version: number;
  /** False when the subject already held this schema as a live version. */
  readonly created: boolean;
}

export interface SchemaStore {
  /**
   * Adds the schema as the subject's next version, unless a live version of the subject already
   * holds the same fingerprint (then returns that version, `created` false). Idempotent: a retry
   * after a lost answer returns the version the first call made.
   */
  register(input: NewSchemaVersion): Promise<RegisteredVersion | RegisterConflict>;
  schemaById(id: number): Promise<StoredSchema | undefined>;
  /** The id a fingerprint has, if it was ever registered. */
  schemaIdOf(fingerprint: string): Promise<number | undefined>;
  /** Subjects with at least one version; with `includeDeleted` false, one live version. */
  subjects(includeDeleted: boolean): Promise<string[]>;
  /** Every version of the subject, deleted ones too, by ascending version. */
  versions(subject: string): Promise<SubjectVersion[]>;
  /** Every subject version that uses the schema id, deleted ones too. */
  versionsOfSchema(id: number): Promise<SubjectVersion[]>;
  /** Soft delete: marks the versions deleted (they keep their numbers). */
  markDeleted(subject: string, versions: readonly number[]): Promise<void>;
  /** Hard delete: removes the versions; the schemas (and their ids) stay. */
  removeVersions(subject: string, versions: readonly number[]): Promise<void>;
  /** Ids of schemas with a live version that reference `subject` at `version`. */
  referencedBy(subject: string, version: number): Promise<number[]>;
  /** Subject '' is the global config. */
  config(subject: string): Promise<SubjectConfig | undefined>;
  setConfig(subject: string, config: SubjectConfig): Promise<void>;
  deleteConfig(subject: string): Promise<void>;
  /** Subject '' is the global mode. */
  mode(subject: string): Promise<RegistryMode | undefined>;
  setMode(subject: string, mode: RegistryMode): Promise<void>;
  deleteMode(subject: string): Promise<void>;
  close(): Promise<void>;
}
