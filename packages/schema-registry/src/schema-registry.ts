/**
 * SchemaRegistry: the registry's operations over a SchemaStore, with Confluent Schema
 * Registry's semantics (the REST layer, registry-http-server.ts, is a thin mapping onto these).
 * It is also the API the broker's produce-path validation uses: `schema(id)` and
 * `decode(bytes)` read a framed record value against its registered schema.
 *
 * Invariants: a schema is stored only after it parsed and, unless the subject's compatibility
 * is NONE, after it passed the compatibility check against the subject's live versions;
 * references must name live subject versions. Parsed schemas are cached by id (ids never change
 * meaning), at most `parsedSchemaCacheMaxEntries` of them.
 */
import { createHash } from 'node:crypto';
import { AvroSchema } from './formats/avro-schema.ts';
import { JsonSchema } from './formats/json-schema.ts';
import type { DecodeResult, ParsedSchema, ResolvedReference } from './formats/parsed-schema.ts';
import { ProtobufSchema } from './formats/protobuf-schema.ts';
import { registryErrors } from './registry-error.ts';
import type { RegisteredVersion, SchemaStore } from './schema-store.ts';
import {
  defaultCompatibilityLevel,
  type CompatibilityLevel,
  type RegistryMode,
  type SchemaReference,
  type SchemaType,
  type StoredSchema,
  type SubjectConfig,
  type SubjectVersion,
} from './schema-types.ts';
import { readFrame } from './wire-format.ts';

export const parsedSchemaCacheMaxEntries = 1_000;
/**
 * Registrations retried when another one landed in the subject between the compatibility check
 * and the write (each retry checks again against the newcomer).
 */
export const registerAttemptsMax = 10;
/** How deep references may nest (a reference's references ...); deeper is an invalid schema. */
export const referenceDepthMax = 32;

/** A schema as a client sends it (POST /subjects/{s}/versions, lookup, compatibility). */
export interface SchemaRequest {
  readonly schema: string;
  readonly schemaType: SchemaType;
  readonly references: readonly SchemaReference[];
}

/** A subject version with its schema (GET /subjects/{s}/versions/{v}). */
export interface VersionedSchema extends SubjectVersion {
  readonly schemaType: SchemaType;
  readonly schema: string;
  readonly references: readonly SchemaReference[];
}

/** 'latest' or a version number. */
export type VersionSpec = number | 'latest';

export type RecordDecodeResult =
  | { readonly ok: true; readonly schemaId: number; readonly value: unknown }
  | { readonly ok: false; readonly schemaId?: number; readonly reason: string };

export function fingerprintOf(
  schemaType: SchemaType,
  canonical: string,
  references: readonly SchemaReference[],
): string {
  const referenceKeys = references.map(({ name, subject, version }) => [name, subject, version]);
  return createHash('sha256')
    .update(JSON.stringify([schemaType, canonical, referenceKeys]))
    .digest('hex');
}

export function parseSchema(
  schemaType: SchemaType,
  text: string,
  references: readonly ResolvedReference[],
): ParsedSchema {
  switch (schemaType) {
    case 'AVRO':
      return AvroSchema.parse(text, references);
    case 'JSON':
      return JsonSchema.parse(text, references);
    case 'PROTOBUF':
      return ProtobufSchema.parse(text, references);
  }
}

/** Counts since the registry opened, for the broker's /metrics. */
export interface SchemaRegistryStats {
  httpRequests: number;
  /** Requests answered with an error body (4xx and 5xx). */
  httpErrors: number;
  versionsRegistered: number;
  incompatibleRefused: number;
  recordsDecoded: number;
  recordsUndecodable: number;
}

export class SchemaRegistry {
  readonly store: SchemaStore;
  readonly stats: SchemaRegistryStats = {
    httpRequests: 0,
    httpErrors: 0,
    versionsRegistered: 0,
    incompatibleRefused: 0,
    recordsDecoded: 0,
    recordsUndecodable: 0,
  };
  readonly #parsed = new Map<number, ParsedSchema>();

  constructor(store: SchemaStore) {
    this.store = store;
  }

  /** The stored schema with this id, or 40403. */
  async storedSchema(id: number): Promise<StoredSchema> {
    const stored = await this.store.schemaById(id);
    if (stored === undefined) throw registryErrors.schemaNotFound(id);
    return stored;
  }

  /** The parsed schema with this id (cached), or 40403. */
  async schema(id: number): Promise<ParsedSchema> {
    const cached = this.#parsed.get(id);
    if (cached !== undefined) return cached;
    const stored = await this.storedSchema(id);
    const parsed = parseSchema(
      stored.schemaType,
      stored.schema,
      await this.#resolve(stored.references, 0),
    );
    if (this.#parsed.size >= parsedSchemaCacheMaxEntries) {
      const oldest = this.#parsed.keys().next().value;
      if (oldest !== undefined) this.#parsed.delete(oldest);
    }
    this.#parsed.set(id, parsed);
    return parsed;
  }

  /**
   * Reads a framed record value (magic byte, schema id, payload) against its schema: the id
   * must be registered and the payload must decode. Never throws for bad bytes.
   */
  async decode(bytes: Buffer): Promise<RecordDecodeResult> {
    const result = await this.#decode(bytes);
    if (result.ok) this.stats.recordsDecoded += 1;
    else this.stats.recordsUndecodable += 1;
    return result;
  }

  async #decode(bytes: Buffer): Promise<RecordDecodeResult> {
    const header = readFrame(bytes, false);
    if (!header.ok) return header;
    const { schemaId } = header.frame;
    let schema: ParsedSchema;
    try {
      schema = await this.schema(schemaId);
    } catch (error: unknown) {
      const reason = error instanceof Error ? error.message : String(error);
      return { ok: false, schemaId, reason };
    }
    const framed = readFrame(bytes, schema.schemaType === 'PROTOBUF');
    if (!framed.ok) return { ok: false, schemaId, reason: framed.reason };
    const decoded: DecodeResult = schema.decode(framed.frame.payload, framed.frame.messageIndexes);
    return decoded.ok
      ? { ok: true, schemaId, value: decoded.value }
      : { ok: false, schemaId, reason: decoded.reason };
  }

  /** Parses a client's schema with its references; 42201 when it does not parse. */
  async parse(request: SchemaRequest): Promise<ParsedSchema> {
    return parseSchema(
      request.schemaType,
      request.schema,
      await this.#resolve(request.references, 0),
    );
  }

  async #resolve(
    references: readonly SchemaReference[],
    depth: number,
  ): Promise<ResolvedReference[]> {
    if (depth > referenceDepthMax) throw registryErrors.invalidSchema('references nest too deep');
    const resolved: ResolvedReference[] = [];
    for (const reference of references) {
      const version = await this.#findVersion(reference.subject, reference.version, false).catch(
        () => undefined,
      );
      if (version === undefined) {
        throw registryErrors.invalidSchema(
          `reference ${reference.name} to ${reference.subject} version ${reference.version} ` +
            'not found',
        );
      }
      const stored = await this.storedSchema(version.id);
      resolved.push(...(await this.#resolve(stored.references, depth + 1)));
      resolved.push({ name: reference.name, schemaType: stored.schemaType, schema: stored.schema });
    }
    return resolved;
  }

  /** Registers (or finds) the schema under the subject: Confluent's POST /subjects/{s}/versions. */
  async register(subject: string, request: SchemaRequest): Promise<VersionedSchema> {
    checkSubject(subject);
    const mode = await this.effectiveMode(subject);
    if (mode === 'READONLY' || mode === 'READONLY_OVERRIDE') {
      throw registryErrors.operationNotPermitted(`Subject ${subject} is in read-only mode`);
    }
    const parsed = await this.parse(request);
    const fingerprint = fingerprintOf(request.schemaType, parsed.canonical, request.references);
    for (let attempt = 1; ; attempt += 1) {
      const versions = await this.store.versions(subject);
      const knownId = await this.store.schemaIdOf(fingerprint);
      const existing = versions.find((entry) => !entry.deleted && entry.id === knownId);
      if (existing === undefined) {
        const problems = await this.#problemsAgainst(subject, parsed, versions, undefined);
        if (problems.length > 0) {
          this.stats.incompatibleRefused += 1;
          throw registryErrors.incompatible(subject, problems);
        }
      }
      const registered = await this.store.register({
        subject,
        schemaType: request.schemaType,
        schema: parsed.canonical,
        references: request.references,
        fingerprint,
        expectedTopVersion: versions.at(-1)?.version ?? 0,
      });
      if (!('conflict' in registered)) {
        if (registered.created) this.stats.versionsRegistered += 1;
        return versionedOf(subject, request, parsed, registered);
      }
      if (attempt >= registerAttemptsMax) {
        throw new Error(`subject ${subject} kept changing during ${attempt} registrations`);
      }
    }
  }

  /** POST /subjects/{s}: the version of the subject that holds this schema. */
  async lookup(
    subject: string,
    request: SchemaRequest,
    includeDeleted: boolean,
  ): Promise<VersionedSchema> {
    const versions = await this.#subjectVersions(subject, includeDeleted);
    const parsed = await this.parse(request);
    const id = await this.store.schemaIdOf(
      fingerprintOf(request.schemaType, parsed.canonical, request.references),
    );
    const found = versions.findLast((entry) => entry.id === id);
    if (found === undefined) throw registryErrors.schemaNotFound();
    return this.#withSchema(found);
  }

  async subjects(options: { prefix: string; includeDeleted: boolean }): Promise<string[]> {
    const subjects = await this.store.subjects(options.includeDeleted);
    return subjects.filter((subject) => subject.startsWith(options.prefix));
  }

  /** Version numbers of the subject (live, or all with `includeDeleted`); 40401 when none. */
  async versionNumbers(subject: string, includeDeleted: boolean): Promise<number[]> {
    return (await this.#subjectVersions(subject, includeDeleted)).map((entry) => entry.version);
  }

  async version(
    subject: string,
    spec: VersionSpec,
    includeDeleted: boolean,
  ): Promise<VersionedSchema> {
    return this.#withSchema(await this.#findVersion(subject, spec, includeDeleted));
  }

  /** Every subject version using the schema id (live, or all with `includeDeleted`); 40403. */
  async versionsOfSchema(id: number, includeDeleted: boolean): Promise<SubjectVersion[]> {
    await this.storedSchema(id);
    const versions = await this.store.versionsOfSchema(id);
    return versions.filter((entry) => includeDeleted || !entry.deleted);
  }

  async referencedBy(subject: string, spec: VersionSpec): Promise<number[]> {
    const found = await this.#findVersion(subject, spec, false);
    return this.store.referencedBy(subject, found.version);
  }

  async #subjectVersions(subject: string, includeDeleted: boolean): Promise<SubjectVersion[]> {
    const versions = (await this.store.versions(subject)).filter(
      (entry) => includeDeleted || !entry.deleted,
    );
    if (versions.length === 0) throw registryErrors.subjectNotFound(subject);
    return versions;
  }

  async #findVersion(
    subject: string,
    spec: VersionSpec,
    includeDeleted: boolean,
  ): Promise<SubjectVersion> {
    const versions = await this.#subjectVersions(subject, includeDeleted);
    const found =
      spec === 'latest' ? versions.at(-1) : versions.find((entry) => entry.version === spec);
    if (found === undefined) throw registryErrors.versionNotFound(spec);
    return found;
  }

  async #withSchema(version: SubjectVersion): Promise<VersionedSchema> {
    const stored = await this.storedSchema(version.id);
    return {
      ...version,
      schemaType: stored.schemaType,
      schema: stored.schema,
      references: stored.references,
    };
  }

  /** DELETE /subjects/{s}/versions/{v}[?permanent=true]: returns the version deleted. */
  async deleteVersion(subject: string, spec: VersionSpec, permanent: boolean): Promise<number> {
    await this.#checkWritable(subject);
    // A numbered version is found even when soft-deleted (40406 / hard delete); 'latest' is
    // the latest live one for a soft delete, as Confluent resolves it.
    const found = await this.#findVersion(subject, spec, permanent || spec !== 'latest');
    if (permanent && !found.deleted) {
      throw registryErrors.versionNotSoftDeleted(subject, found.version);
    }
    if (!permanent && found.deleted)
      throw registryErrors.versionSoftDeleted(subject, found.version);
    const users = await this.store.referencedBy(subject, found.version);
    if (users.length > 0) {
      throw registryErrors.referenceExists(
        `One or more references exist to the schema {subject=${subject},version=` +
          `${found.version}} (schema ids ${users.join(', ')})`,
      );
    }
    if (permanent) await this.store.removeVersions(subject, [found.version]);
    else await this.store.markDeleted(subject, [found.version]);
    return found.version;
  }

  /** DELETE /subjects/{s}[?permanent=true]: returns the versions deleted. */
  async deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    await this.#checkWritable(subject);
    const all = await this.store.versions(subject);
    if (all.length === 0) throw registryErrors.subjectNotFound(subject);
    const live = all.filter((entry) => !entry.deleted);
    if (permanent && live.length > 0) throw registryErrors.subjectNotSoftDeleted(subject);
    if (!permanent && live.length === 0) throw registryErrors.subjectSoftDeleted(subject);
    for (const entry of live) {
      const users = await this.store.referencedBy(subject, entry.version);
      if (users.length > 0) {
        throw registryErrors.referenceExists(
          `One or more references exist to the schema {subject=${subject},version=` +
            `${entry.version}} (schema ids ${users.join(', ')})`,
        );
      }
    }
    const versions = (permanent ? all : live).map((entry) => entry.version);
    if (permanent) {
      await this.store.removeVersions(subject, versions);
      await this.store.deleteConfig(subject);
      await this.store.deleteMode(subject);
    } else {
      await this.store.markDeleted(subject, versions);
    }
    return versions;
  }

  async #checkWritable(subject: string): Promise<void> {
    const mode = await this.effectiveMode(subject);
    if (mode === 'READONLY' || mode === 'READONLY_OVERRIDE') {
      throw registryErrors.operationNotPermitted(`Subject ${subject} is in read-only mode`);
    }
  }

  /**
   * POST /compatibility/subjects/{s}/versions[/{v}]: problems of `request` against one version
   * (`spec`) or, without one, against the versions the subject's level names. Empty = compatible.
   */
  async compatibilityProblems(
    subject: string,
    request: SchemaRequest,
    spec: VersionSpec | undefined,
  ): Promise<string[]> {
    const parsed = await this.parse(request);
    const versions = await this.store.versions(subject);
    if (spec !== undefined && spec !== 'latest') {
      const found = versions.find((entry) => !entry.deleted && entry.version === spec);
      if (found === undefined) {
        if (!versions.some((entry) => !entry.deleted))
          throw registryErrors.subjectNotFound(subject);
        throw registryErrors.versionNotFound(spec);
      }
      return this.#problemsAgainst(subject, parsed, versions, found.version);
    }
    return this.#problemsAgainst(subject, parsed, versions, spec);
  }

  /**
   * Confluent's check: the subject's level decides the direction and whether only the latest
   * live version (or `only`, one chosen version) or every live version is compared.
   */
  async #problemsAgainst(
    subject: string,
    parsed: ParsedSchema,
    versions: readonly SubjectVersion[],
    only: VersionSpec | undefined,
  ): Promise<string[]> {
    const level = await this.effectiveCompatibility(subject);
    if (level === 'NONE') return [];
    const live = versions.filter((entry) => !entry.deleted);
    const transitive = level.endsWith('_TRANSITIVE') && only === undefined;
    const chosen =
      typeof only === 'number'
        ? live.filter((entry) => entry.version === only)
        : transitive
          ? live
          : live.slice(-1);
    const problems: string[] = [];
    for (const entry of chosen.toReversed()) {
      const previous = await this.schema(entry.id);
      problems.push(...compatibilityProblems(level, parsed, previous));
      if (problems.length > 0) break;
    }
    return problems;
  }

  async effectiveCompatibility(subject: string): Promise<CompatibilityLevel> {
    const own = subject === '' ? undefined : await this.store.config(subject);
    const global = await this.store.config('');
    return own?.compatibilityLevel ?? global?.compatibilityLevel ?? defaultCompatibilityLevel;
  }

  async effectiveMode(subject: string): Promise<RegistryMode> {
    const own = subject === '' ? undefined : await this.store.mode(subject);
    return own ?? (await this.store.mode('')) ?? 'READWRITE';
  }

  config(subject: string): Promise<SubjectConfig | undefined> {
    return this.store.config(subject);
  }

  async setConfig(subject: string, config: SubjectConfig): Promise<void> {
    await this.store.setConfig(subject, config);
  }

  async deleteConfig(subject: string): Promise<SubjectConfig | undefined> {
    const previous = await this.store.config(subject);
    await this.store.deleteConfig(subject);
    return previous;
  }

  mode(subject: string): Promise<RegistryMode | undefined> {
    return this.store.mode(subject);
  }

  async setMode(subject: string, mode: RegistryMode): Promise<void> {
    await this.store.setMode(subject, mode);
  }

  async deleteMode(subject: string): Promise<RegistryMode | undefined> {
    const previous = await this.store.mode(subject);
    await this.store.deleteMode(subject);
    return previous;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

function versionedOf(
  subject: string,
  request: SchemaRequest,
  parsed: ParsedSchema,
  registered: RegisteredVersion,
): VersionedSchema {
  return {
    subject,
    version: registered.version,
    id: registered.id,
    deleted: false,
    schemaType: request.schemaType,
    schema: parsed.canonical,
    references: request.references,
  };
}

/** Problems of `next` against one `previous` version under `level` (not NONE). */
export function compatibilityProblems(
  level: CompatibilityLevel,
  next: ParsedSchema,
  previous: ParsedSchema,
): string[] {
  if (level === 'NONE') return [];
  if (next.schemaType !== previous.schemaType) {
    return [`Incompatible because of different schema type`];
  }
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  return [
    ...(backward ? next.readingProblems(previous) : []),
    ...(forward ? previous.readingProblems(next) : []),
  ];
}

/** Confluent refuses empty subjects and control characters (42208). */
function checkSubject(subject: string): void {
  // oxlint-disable-next-line no-control-regex -- control characters are what it refuses
  if (subject.trim() === '' || /[\u0000-\u001f]/.test(subject)) {
    throw registryErrors.invalidSubject(subject);
  }
}
