/**
 * The Confluent REST routes, one function per resource: /subjects, /schemas, /compatibility,
 * /config, /mode. Each turns path segments, query and JSON body into a SchemaRegistry call and
 * its answer into Confluent's JSON shape (schemaType omitted for AVRO, references omitted when
 * none, as Confluent does). Input checks happen here: bad versions are 42202, bad levels 42203,
 * bad modes 42204, bad schema bodies 42201.
 */
import { ProtobufSchema } from './formats/protobuf-schema.ts';
import { registryErrors } from './registry-error.ts';
import type {
  SchemaRegistry,
  SchemaRequest,
  VersionSpec,
  VersionedSchema,
} from './schema-registry.ts';
import {
  isCompatibilityLevel,
  isRegistryMode,
  isSchemaType,
  schemaTypes,
  type SchemaReference,
  type StoredSchema,
} from './schema-types.ts';

export interface RegistryRequest {
  readonly method: string;
  /** URL-decoded path segments. */
  readonly segments: readonly string[];
  readonly query: URLSearchParams;
  /** Parsed JSON body, undefined when empty. */
  readonly body: unknown;
}

export interface RegistryResponse {
  readonly status?: number;
  /** JSON value, or a string sent as it is (the raw schema routes). */
  readonly body: unknown;
}

const maxVersion = 2_147_483_647;

export async function routeRegistryRequest(
  registry: SchemaRegistry,
  request: RegistryRequest,
): Promise<RegistryResponse> {
  const [resource = '', ...rest] = request.segments;
  switch (resource) {
    case '':
      return { body: {} };
    case 'subjects':
      return rest.length === 0
        ? subjectsList(registry, request)
        : subjectRoutes(registry, request, rest);
    case 'schemas':
      return schemaRoutes(registry, request, rest);
    case 'compatibility':
      return compatibilityRoutes(registry, request, rest);
    case 'config':
      return configRoutes(registry, request, rest);
    case 'mode':
      return modeRoutes(registry, request, rest);
    case 'contexts':
      // One context, the default: Confluent's answer on a registry without contexts.
      expectMethod(request, 'GET');
      if (rest.length > 0) throw registryErrors.notFound(`/${request.segments.join('/')}`);
      return { body: ['.'] };
    default:
      throw registryErrors.notFound(`/${request.segments.join('/')}`);
  }
}

function flag(request: RegistryRequest, name: string): boolean {
  return request.query.get(name)?.toLowerCase() === 'true';
}

function expectMethod(request: RegistryRequest, ...methods: string[]): void {
  if (!methods.includes(request.method)) throw registryErrors.methodNotAllowed();
}

export function parseVersion(text: string): VersionSpec {
  if (text === 'latest' || text === '-1') return 'latest';
  if (!/^\d{1,10}$/.test(text)) throw registryErrors.invalidVersion(text);
  const version = Number(text);
  if (version < 1 || version > maxVersion) throw registryErrors.invalidVersion(text);
  return version;
}

/** The body of register, lookup and compatibility requests. */
export function schemaRequestOf(body: unknown): SchemaRequest {
  if (typeof body !== 'object' || body === null) {
    throw registryErrors.invalidSchema('the request body must be a JSON object');
  }
  const fields = body as Record<string, unknown>;
  if (typeof fields.schema !== 'string') {
    throw registryErrors.invalidSchema('the request needs "schema" as a string');
  }
  const schemaType = fields.schemaType ?? 'AVRO';
  if (!isSchemaType(schemaType)) {
    throw registryErrors.invalidSchema(`unknown schemaType ${JSON.stringify(schemaType)}`);
  }
  return { schema: fields.schema, schemaType, references: referencesOf(fields.references) };
}

function referencesOf(value: unknown): SchemaReference[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw registryErrors.invalidSchema('"references" must be an array');
  return value.map((item: unknown) => {
    const reference = (item ?? {}) as Record<string, unknown>;
    const { name, subject, version } = reference;
    if (typeof name !== 'string' || typeof subject !== 'string' || typeof version !== 'number') {
      throw registryErrors.invalidSchema('a reference needs name, subject and version');
    }
    return { name, subject, version };
  });
}

/** Confluent's schema fields: schemaType only when not AVRO, references only when some. */
function schemaFields(schema: Pick<StoredSchema, 'schemaType' | 'schema' | 'references'>) {
  return {
    ...(schema.schemaType === 'AVRO' ? {} : { schemaType: schema.schemaType }),
    schema: schema.schema,
    ...(schema.references.length === 0 ? {} : { references: schema.references }),
  };
}

/** A subject version as Confluent answers it; Protobuf in the form `format` asks for. */
async function versionBody(
  registry: SchemaRegistry,
  version: VersionedSchema,
  format: string | null,
) {
  return {
    subject: version.subject,
    version: version.version,
    id: version.id,
    ...schemaFields({ ...version, schema: await schemaText(registry, version, format) }),
  };
}

/**
 * Protobuf as .proto text, or with `format=serialized` as a base64 FileDescriptorProto,
 * whichever form it was registered in (as Confluent serves it); other types as stored.
 */
async function schemaText(
  registry: SchemaRegistry,
  stored: Pick<StoredSchema, 'id' | 'schemaType' | 'schema'>,
  format: string | null,
): Promise<string> {
  if (stored.schemaType !== 'PROTOBUF') return stored.schema;
  const parsed = await registry.schema(stored.id);
  if (!(parsed instanceof ProtobufSchema)) return stored.schema;
  return format === 'serialized' ? parsed.serialized() : parsed.text();
}

async function subjectsList(
  registry: SchemaRegistry,
  request: RegistryRequest,
): Promise<RegistryResponse> {
  expectMethod(request, 'GET');
  const prefix = request.query.get('subjectPrefix') ?? '';
  return { body: await registry.subjects({ prefix, includeDeleted: flag(request, 'deleted') }) };
}

async function subjectRoutes(
  registry: SchemaRegistry,
  request: RegistryRequest,
  [subject = '', part, versionText, tail, ...extra]: readonly string[],
): Promise<RegistryResponse> {
  const deleted = flag(request, 'deleted');
  const permanent = flag(request, 'permanent');
  if (extra.length > 0) throw registryErrors.notFound(request.segments.join('/'));
  if (part === undefined) {
    expectMethod(request, 'POST', 'DELETE');
    if (request.method === 'DELETE') {
      return { body: await registry.deleteSubject(subject, permanent) };
    }
    const found = await registry.lookup(subject, schemaRequestOf(request.body), deleted);
    return { body: await versionBody(registry, found, request.query.get('format')) };
  }
  if (part !== 'versions') throw registryErrors.notFound(request.segments.join('/'));
  if (versionText === undefined) {
    expectMethod(request, 'GET', 'POST');
    if (request.method === 'GET') return { body: await registry.versionNumbers(subject, deleted) };
    const registered = await registry.register(subject, schemaRequestOf(request.body));
    return { body: { id: registered.id, version: registered.version } };
  }
  const spec = parseVersion(versionText);
  if (tail === 'referencedby') {
    expectMethod(request, 'GET');
    return { body: await registry.referencedBy(subject, spec) };
  }
  if (tail === 'schema') {
    expectMethod(request, 'GET');
    const found = await registry.version(subject, spec, deleted);
    return { body: await schemaText(registry, found, request.query.get('format')) };
  }
  if (tail !== undefined) throw registryErrors.notFound(request.segments.join('/'));
  expectMethod(request, 'GET', 'DELETE');
  if (request.method === 'DELETE') {
    return { body: await registry.deleteVersion(subject, spec, permanent) };
  }
  const found = await registry.version(subject, spec, deleted);
  return { body: await versionBody(registry, found, request.query.get('format')) };
}

async function schemaRoutes(
  registry: SchemaRegistry,
  request: RegistryRequest,
  [first, idText, tail, ...extra]: readonly string[],
): Promise<RegistryResponse> {
  expectMethod(request, 'GET');
  if (first === 'types' && idText === undefined) return { body: [...schemaTypes] };
  if (first === undefined) return schemaList(registry, request);
  if (first !== 'ids' || idText === undefined || extra.length > 0) {
    throw registryErrors.notFound(request.segments.join('/'));
  }
  if (!/^\d{1,10}$/.test(idText)) throw registryErrors.schemaNotFound();
  const id = Number(idText);
  const deleted = flag(request, 'deleted');
  switch (tail) {
    case undefined:
      return { body: await schemaBody(registry, id, request.query.get('format')) };
    case 'schema': {
      const stored = await registry.storedSchema(id);
      return { body: await schemaText(registry, stored, request.query.get('format')) };
    }
    case 'subjects': {
      const versions = await registry.versionsOfSchema(id, deleted);
      return { body: [...new Set(versions.map((entry) => entry.subject))] };
    }
    case 'versions': {
      const versions = await registry.versionsOfSchema(id, deleted);
      return { body: versions.map(({ subject, version }) => ({ subject, version })) };
    }
    default:
      throw registryErrors.notFound(request.segments.join('/'));
  }
}

/** GET /schemas/ids/{id}. */
async function schemaBody(registry: SchemaRegistry, id: number, format: string | null) {
  const stored = await registry.storedSchema(id);
  return schemaFields({ ...stored, schema: await schemaText(registry, stored, format) });
}

/** GET /schemas: the latest (or every) version of every subject, as Confluent lists them. */
async function schemaList(
  registry: SchemaRegistry,
  request: RegistryRequest,
): Promise<RegistryResponse> {
  const prefix = request.query.get('subjectPrefix') ?? '';
  const deleted = flag(request, 'deleted');
  const latestOnly = flag(request, 'latestOnly');
  const listed: unknown[] = [];
  for (const subject of await registry.subjects({ prefix, includeDeleted: deleted })) {
    const numbers = await registry.versionNumbers(subject, deleted);
    for (const number of latestOnly ? numbers.slice(-1) : numbers) {
      const found = await registry.version(subject, number, deleted);
      listed.push(await versionBody(registry, found, request.query.get('format')));
    }
  }
  return { body: listed };
}

async function compatibilityRoutes(
  registry: SchemaRegistry,
  request: RegistryRequest,
  [kind, subject, part, versionText, ...extra]: readonly string[],
): Promise<RegistryResponse> {
  expectMethod(request, 'POST');
  if (kind !== 'subjects' || subject === undefined || part !== 'versions' || extra.length > 0) {
    throw registryErrors.notFound(request.segments.join('/'));
  }
  const spec = versionText === undefined ? undefined : parseVersion(versionText);
  const problems = await registry.compatibilityProblems(
    subject,
    schemaRequestOf(request.body),
    spec,
  );
  const verbose = flag(request, 'verbose');
  return {
    body: {
      is_compatible: problems.length === 0,
      ...(verbose ? { messages: problems } : {}),
    },
  };
}

async function configRoutes(
  registry: SchemaRegistry,
  request: RegistryRequest,
  [subject, ...extra]: readonly string[],
): Promise<RegistryResponse> {
  if (extra.length > 0) throw registryErrors.notFound(request.segments.join('/'));
  const key = subject ?? '';
  expectMethod(request, 'GET', 'PUT', 'DELETE');
  if (request.method === 'PUT') {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const level = typeof body.compatibility === 'string' ? body.compatibility.toUpperCase() : '';
    if (!isCompatibilityLevel(level)) throw registryErrors.invalidCompatibility(body.compatibility);
    const previous = (await registry.config(key)) ?? {};
    await registry.setConfig(key, { ...previous, compatibilityLevel: level });
    return { body: { compatibility: level } };
  }
  if (request.method === 'DELETE') {
    const previous = await registry.deleteConfig(key);
    if (key !== '' && previous === undefined) throw registryErrors.subjectNotFound(key);
    const level = previous?.compatibilityLevel ?? (await registry.effectiveCompatibility(key));
    return { body: { compatibilityLevel: level } };
  }
  const own = await registry.config(key);
  if (key !== '' && own?.compatibilityLevel === undefined && !flag(request, 'defaultToGlobal')) {
    throw registryErrors.compatibilityNotConfigured(key);
  }
  return { body: { compatibilityLevel: await registry.effectiveCompatibility(key) } };
}

async function modeRoutes(
  registry: SchemaRegistry,
  request: RegistryRequest,
  [subject, ...extra]: readonly string[],
): Promise<RegistryResponse> {
  if (extra.length > 0) throw registryErrors.notFound(request.segments.join('/'));
  const key = subject ?? '';
  expectMethod(request, 'GET', 'PUT', 'DELETE');
  if (request.method === 'PUT') {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const mode = typeof body.mode === 'string' ? body.mode.toUpperCase() : '';
    if (!isRegistryMode(mode)) throw registryErrors.invalidMode(body.mode);
    await registry.setMode(key, mode);
    return { body: { mode } };
  }
  if (request.method === 'DELETE') {
    const previous = await registry.deleteMode(key);
    if (key !== '' && previous === undefined) throw registryErrors.subjectNotFound(key);
    return { body: { mode: previous ?? 'READWRITE' } };
  }
  const own = await registry.mode(key);
  if (key !== '' && own === undefined && !flag(request, 'defaultToGlobal')) {
    throw registryErrors.modeNotConfigured(key);
  }
  return { body: { mode: await registry.effectiveMode(key) } };
}
