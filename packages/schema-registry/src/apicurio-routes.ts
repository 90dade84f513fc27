/**
 * The part of Apicurio Registry's REST API v2 (/apis/registry/v2/...) that Apicurio's Java serdes
 * call, served over the Confluent model as Apicurio's own Confluent-compatible layer maps it
 * (docs/adr/0026-apicurio-api.md): one group, `default` (the null group); artifactId = subject;
 * artifact versions = subject versions; contentId = Confluent schema id, so a record framed
 * with a contentId is a Confluent record; globalId = `globalIdOf(contentId, version)`.
 * Registration goes through SchemaRegistry.register, so the subject's compatibility level is
 * the artifact's COMPATIBILITY rule and a refusal is Apicurio's RuleViolationException (409).
 *
 * Served: create artifact (ifExists FAIL, RETURN, UPDATE, RETURN_OR_UPDATE), create version,
 * latest/versioned content and metadata, metadata by content, version lists, content and
 * references by contentId and globalId, COMPATIBILITY rules per artifact and global, system
 * info. Not served (404): other groups, search, labels and properties, artifact state, admin
 * beyond rules, content hashes.
 */
import { apicurioErrorOf, apicurioErrors, ApicurioError } from './apicurio-error.ts';
import { RegistryError } from './registry-error.ts';
import { parseVersion } from './registry-routes.ts';
import type { SchemaRegistry, SchemaRequest, VersionedSchema } from './schema-registry.ts';
import {
  isCompatibilityLevel,
  isSchemaType,
  type SchemaReference,
  type SchemaType,
} from './schema-types.ts';

export interface ApicurioRequest {
  readonly method: string;
  /** URL-decoded path segments after /apis/registry/v2. */
  readonly segments: readonly string[];
  readonly query: URLSearchParams;
  /** Request headers, names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The raw body (schema text is not always JSON: Protobuf is .proto text). */
  readonly body: Buffer;
}

export interface ApicurioResponse {
  readonly status: number;
  /** JSON value, a string sent as it is (artifact content), or undefined for 204. */
  readonly body: unknown;
  readonly contentType: string;
}

export const defaultGroupId = 'default';
/**
 * globalId = contentId * 2^21 + version: stable, decodable without a table of its own, and
 * below 2^53 for every 31-bit contentId, so JSON numbers carry it exactly. Versions stay below
 * 2^21 (about two million per subject).
 */
export const globalIdVersionSpan = 2 ** 21;
const createExtendedType = 'application/create.extended+json';
const jsonType = 'application/json';

export function globalIdOf(contentId: number, version: number): number {
  return contentId * globalIdVersionSpan + version;
}

const ifExistsValues = ['FAIL', 'UPDATE', 'RETURN', 'RETURN_OR_UPDATE'] as const;
type IfExists = (typeof ifExistsValues)[number];

export async function routeApicurioRequest(
  registry: SchemaRegistry,
  request: ApicurioRequest,
): Promise<ApicurioResponse> {
  const [resource = '', ...rest] = request.segments;
  switch (resource) {
    case 'groups':
      return groupRoutes(registry, request, rest);
    case 'ids':
      return idRoutes(registry, request, rest);
    case 'admin':
      if (rest[0] !== 'rules') throw apicurioErrors.notFound(path(request));
      return ruleRoutes(registry, request, '', rest.slice(1));
    case 'system':
      expectMethod(request, 'GET');
      if (rest.length !== 1 || rest[0] !== 'info') throw apicurioErrors.notFound(path(request));
      return json({ name: 'Tributary schema registry (Apicurio v2 subset)', version: '2.6.x' });
    default:
      throw apicurioErrors.notFound(path(request));
  }
}

function path(request: ApicurioRequest): string {
  return `/apis/registry/v2/${request.segments.join('/')}`;
}

function json(body: unknown, status = 200): ApicurioResponse {
  return { status, body, contentType: jsonType };
}

function expectMethod(request: ApicurioRequest, ...methods: string[]): void {
  if (!methods.includes(request.method)) throw apicurioErrors.methodNotAllowed();
}

async function groupRoutes(
  registry: SchemaRegistry,
  request: ApicurioRequest,
  [groupId, part, artifactId, ...rest]: readonly string[],
): Promise<ApicurioResponse> {
  if (groupId === undefined || part !== 'artifacts') throw apicurioErrors.notFound(path(request));
  if (groupId !== defaultGroupId) throw apicurioErrors.invalidGroupId(groupId);
  try {
    if (artifactId === undefined) {
      expectMethod(request, 'POST');
      return await createArtifact(registry, request);
    }
    return await artifactRoutes(registry, request, artifactId, rest);
  } catch (error: unknown) {
    throw apicurioErrorOf(error, groupId, artifactId ?? headerOf(request, 'x-registry-artifactid'));
  }
}

function headerOf(request: ApicurioRequest, name: string): string {
  return request.headers[name] ?? '';
}

async function artifactRoutes(
  registry: SchemaRegistry,
  request: ApicurioRequest,
  subject: string,
  [part, version, tail, ...extra]: readonly string[],
): Promise<ApicurioResponse> {
  if (extra.length > 0) throw apicurioErrors.notFound(path(request));
  switch (part) {
    case undefined:
      expectMethod(request, 'GET', 'PUT');
      if (request.method === 'PUT') {
        return json(metaData(await register(registry, request, subject)));
      }
      return content(await registry.version(subject, 'latest', false));
    case 'meta':
      if (version !== undefined) throw apicurioErrors.notFound(path(request));
      expectMethod(request, 'GET', 'POST');
      if (request.method === 'GET') {
        return json(metaData(await registry.version(subject, 'latest', false)));
      }
      return json(metaData(await lookup(registry, request, subject)));
    case 'versions':
      return versionRoutes(registry, request, subject, version, tail);
    case 'rules':
      if (tail !== undefined) throw apicurioErrors.notFound(path(request));
      return ruleRoutes(registry, request, subject, version === undefined ? [] : [version]);
    default:
      throw apicurioErrors.notFound(path(request));
  }
}

/** POST .../meta: the version of the artifact holding the body's content. */
async function lookup(registry: SchemaRegistry, request: ApicurioRequest, subject: string) {
  return registry.lookup(subject, await schemaRequestOf(registry, request), false);
}

async function versionRoutes(
  registry: SchemaRegistry,
  request: ApicurioRequest,
  subject: string,
  versionText: string | undefined,
  tail: string | undefined,
): Promise<ApicurioResponse> {
  if (versionText === undefined) {
    expectMethod(request, 'GET', 'POST');
    if (request.method === 'POST') {
      return json(metaData(await register(registry, request, subject)));
    }
    return versionList(registry, request, subject);
  }
  expectMethod(request, 'GET');
  const spec = versionText === 'latest' ? 'latest' : parseVersionOr404(subject, versionText);
  const found = await registry.version(subject, spec, false);
  switch (tail) {
    case undefined:
      return content(found);
    case 'meta':
      return json(metaData(found));
    case 'references':
      return json(referencesOf(found.references));
    default:
      throw apicurioErrors.notFound(path(request));
  }
}

function parseVersionOr404(subject: string, text: string): number {
  try {
    const spec = parseVersion(text);
    if (spec !== 'latest') return spec;
  } catch {
    // Apicurio versions are free text; one that is no Confluent version number is not found.
  }
  throw apicurioErrors.versionNotFound(subject, text);
}

/** GET .../versions: VersionSearchResults, paged with offset and limit (default 20). */
async function versionList(
  registry: SchemaRegistry,
  request: ApicurioRequest,
  subject: string,
): Promise<ApicurioResponse> {
  const offset = Number(request.query.get('offset') ?? '0');
  const limit = Number(request.query.get('limit') ?? '20');
  if (!Number.isInteger(offset) || !Number.isInteger(limit) || offset < 0 || limit < 1) {
    throw apicurioErrors.badRequest('offset must be >= 0 and limit >= 1');
  }
  const numbers = await registry.versionNumbers(subject, false);
  const versions = [];
  for (const number of numbers.slice(offset, offset + limit)) {
    const found = await registry.version(subject, number, false);
    versions.push(metaData(found));
  }
  return json({ count: numbers.length, versions });
}

async function createArtifact(
  registry: SchemaRegistry,
  request: ApicurioRequest,
): Promise<ApicurioResponse> {
  const subject = headerOf(request, 'x-registry-artifactid');
  if (subject === '') {
    // Apicurio generates a UUID; a Confluent subject has to be named by the client.
    throw apicurioErrors.badRequest('X-Registry-ArtifactId is required by this registry');
  }
  const ifExists = (request.query.get('ifExists') ?? 'FAIL').toUpperCase();
  if (!(ifExistsValues as readonly string[]).includes(ifExists)) {
    throw apicurioErrors.badRequest(`ifExists must be one of ${ifExistsValues.join(', ')}`);
  }
  const live = await registry.versionNumbers(subject, false).catch(() => []);
  if (live.length > 0) {
    switch (ifExists as IfExists) {
      case 'FAIL':
        throw apicurioErrors.artifactAlreadyExists(subject);
      case 'RETURN':
        return json(metaData(await registry.version(subject, 'latest', false)));
      case 'UPDATE':
      case 'RETURN_OR_UPDATE':
        break;
    }
  }
  return json(metaData(await register(registry, request, subject)));
}

/**
 * Registers the request's content under the subject: Confluent's find-or-create, so an UPDATE
 * or RETURN_OR_UPDATE of content the subject already holds returns that version.
 */
async function register(
  registry: SchemaRegistry,
  request: ApicurioRequest,
  subject: string,
): Promise<VersionedSchema> {
  return registry.register(subject, await schemaRequestOf(registry, request));
}

/** The content (raw, or create.extended JSON with references) and its artifact type. */
async function schemaRequestOf(
  registry: SchemaRegistry,
  request: ApicurioRequest,
): Promise<SchemaRequest> {
  const text = request.body.toString('utf8');
  let schema = text;
  let references: SchemaReference[] = [];
  if ((request.headers['content-type'] ?? '').startsWith(createExtendedType)) {
    const extended = parseJson(text) as { content?: unknown; references?: unknown } | undefined;
    if (typeof extended?.content !== 'string') {
      throw apicurioErrors.badRequest('create.extended+json needs "content" as a string');
    }
    schema = extended.content;
    references = await confluentReferences(registry, extended.references);
  }
  if (schema.trim() === '') throw apicurioErrors.badRequest('the artifact content is empty');
  const declared = headerOf(request, 'x-registry-artifacttype').toUpperCase();
  const schemaType = declared === '' ? detectType(schema) : declared;
  if (!isSchemaType(schemaType)) throw apicurioErrors.invalidArtifactType(declared);
  return { schema, schemaType, references };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Apicurio detects a missing type from the content: JSON Schema, Avro, else Protobuf. */
function detectType(text: string): SchemaType {
  const parsed = parseJson(text);
  if (parsed === undefined) return 'PROTOBUF';
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    const fields = parsed as Record<string, unknown>;
    if ('$schema' in fields || 'properties' in fields || fields.type === 'object') return 'JSON';
  }
  return 'AVRO';
}

/** Apicurio references ({groupId, artifactId, version, name}) as Confluent's. */
async function confluentReferences(
  registry: SchemaRegistry,
  value: unknown,
): Promise<SchemaReference[]> {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw apicurioErrors.badRequest('"references" must be an array');
  const references: SchemaReference[] = [];
  for (const item of value as unknown[]) {
    const { name, artifactId, groupId, version } = (item ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || typeof artifactId !== 'string') {
      throw apicurioErrors.badRequest('a reference needs name and artifactId');
    }
    if (groupId !== undefined && groupId !== null && groupId !== defaultGroupId) {
      throw apicurioErrors.invalidGroupId(String(groupId));
    }
    const numbered =
      version === undefined || version === null
        ? (await registry.version(artifactId, 'latest', false)).version
        : parseVersionOr404(artifactId, String(version));
    references.push({ name, subject: artifactId, version: numbered });
  }
  return references;
}

function referencesOf(references: readonly SchemaReference[]) {
  return references.map(({ name, subject, version }) => ({
    groupId: null,
    artifactId: subject,
    version: String(version),
    name,
  }));
}

/**
 * ArtifactMetaData and VersionMetaData (the same fields here: an artifact's metadata is its
 * latest version's); groupId is left out for the default group, as Apicurio leaves it null.
 */
function metaData(found: VersionedSchema) {
  return {
    id: found.subject,
    version: String(found.version),
    type: found.schemaType,
    globalId: globalIdOf(found.id, found.version),
    contentId: found.id,
    state: 'ENABLED',
    labels: [],
    properties: {},
    references: referencesOf(found.references),
  };
}

function content(found: { schemaType: SchemaType; schema: string }): ApicurioResponse {
  const contentType = found.schemaType === 'PROTOBUF' ? 'application/x-protobuf' : jsonType;
  return { status: 200, body: found.schema, contentType };
}

/** /ids/contentIds/{id}[/references] and /ids/globalIds/{id}[/references]. */
async function idRoutes(
  registry: SchemaRegistry,
  request: ApicurioRequest,
  [kind, idText = '', tail, ...extra]: readonly string[],
): Promise<ApicurioResponse> {
  expectMethod(request, 'GET');
  if (extra.length > 0 || (tail !== undefined && tail !== 'references')) {
    throw apicurioErrors.notFound(path(request));
  }
  if (kind !== 'contentIds' && kind !== 'globalIds') throw apicurioErrors.notFound(path(request));
  const id = /^\d{1,16}$/.test(idText) ? Number(idText) : -1;
  const contentId = kind === 'contentIds' ? id : Math.floor(id / globalIdVersionSpan);
  const what = `${kind === 'contentIds' ? 'content ID' : 'global ID'} '${idText}'`;
  if (id < 0 || contentId > 2_147_483_647) throw apicurioErrors.contentNotFound(what);
  const stored = await registry.storedSchema(contentId).catch((error: unknown) => {
    throw error instanceof RegistryError ? apicurioErrors.contentNotFound(what) : error;
  });
  if (kind === 'globalIds') {
    const version = id % globalIdVersionSpan;
    const users = await registry.versionsOfSchema(contentId, true);
    if (!users.some((entry) => entry.version === version)) {
      throw apicurioErrors.contentNotFound(what);
    }
  }
  return tail === 'references' ? json(referencesOf(stored.references)) : content(stored);
}

/** COMPATIBILITY, the one Apicurio rule with a Confluent meaning: the subject's level. */
async function ruleRoutes(
  registry: SchemaRegistry,
  request: ApicurioRequest,
  subject: string,
  [rule, ...extra]: readonly string[],
): Promise<ApicurioResponse> {
  if (extra.length > 0) throw apicurioErrors.notFound(path(request));
  if (subject !== '') await registry.versionNumbers(subject, false);
  const own = (await registry.config(subject))?.compatibilityLevel;
  // The global level always applies (BACKWARD unless set), as Confluent's does.
  const configured = subject === '' ? await registry.effectiveCompatibility('') : own;
  if (rule === undefined) {
    expectMethod(request, 'GET', 'POST', 'DELETE');
    if (request.method === 'GET') return json(configured === undefined ? [] : ['COMPATIBILITY']);
    if (request.method === 'DELETE') {
      await registry.deleteConfig(subject);
      return { status: 204, body: undefined, contentType: jsonType };
    }
    const body = (parseJson(request.body.toString('utf8')) ?? {}) as Record<string, unknown>;
    if (body.type !== 'COMPATIBILITY') throw ruleTypeRefused(body.type);
    if (subject !== '' && own !== undefined)
      throw apicurioErrors.ruleAlreadyExists('COMPATIBILITY');
    await setLevel(registry, subject, body.config);
    return { status: 204, body: undefined, contentType: jsonType };
  }
  if (rule !== 'COMPATIBILITY') throw ruleTypeRefused(rule);
  expectMethod(request, 'GET', 'PUT', 'DELETE');
  if (request.method === 'PUT') {
    const body = (parseJson(request.body.toString('utf8')) ?? {}) as Record<string, unknown>;
    const level = await setLevel(registry, subject, body.config);
    return json({ type: 'COMPATIBILITY', config: level });
  }
  if (configured === undefined) throw apicurioErrors.ruleNotFound(rule);
  if (request.method === 'DELETE') {
    await registry.deleteConfig(subject);
    return { status: 204, body: undefined, contentType: jsonType };
  }
  return json({ type: 'COMPATIBILITY', config: configured });
}

function ruleTypeRefused(type: unknown): ApicurioError {
  return apicurioErrors.badRequest(
    `rule ${JSON.stringify(type)} is not served: COMPATIBILITY is (content is always validated)`,
  );
}

async function setLevel(registry: SchemaRegistry, subject: string, value: unknown) {
  const level = typeof value === 'string' ? value.toUpperCase() : '';
  if (!isCompatibilityLevel(level)) {
    throw apicurioErrors.badRequest(`invalid COMPATIBILITY config ${JSON.stringify(value)}`);
  }
  const previous = (await registry.config(subject)) ?? {};
  await registry.setConfig(subject, { ...previous, compatibilityLevel: level });
  return level;
}
