/**
 * Loads one Kafka message definition (Apache Kafka's JSON, `//` comments allowed) and merges it
 * with its legacy 3.9 counterpart into one schema whose every field carries explicit version
 * sets. Versions at or above the 4.x file's minimum are described by the 4.x file; older ones by
 * the legacy file. The merge is checked: for every served version, the merged field layout must
 * equal the layout of the file that owns that version, or loading throws.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export type Primitive =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint16'
  | 'float64'
  | 'bool'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

const primitives: ReadonlySet<string> = new Set<Primitive>([
  'int8',
  'int16',
  'int32',
  'int64',
  'uint16',
  'float64',
  'bool',
  'string',
  'bytes',
  'records',
  'uuid',
]);

export interface RawField {
  readonly name: string;
  readonly type: string;
  readonly versions: string;
  readonly about?: string;
  readonly nullableVersions?: string;
  readonly taggedVersions?: string;
  readonly flexibleVersions?: string;
  readonly tag?: number;
  readonly default?: string | number | boolean;
  readonly fields?: readonly RawField[];
}

interface RawStruct {
  readonly name: string;
  readonly versions: string;
  readonly fields: readonly RawField[];
}

export interface RawMessage {
  readonly apiKey?: number;
  readonly type: string;
  readonly name: string;
  readonly listeners?: readonly string[];
  readonly validVersions: string;
  readonly flexibleVersions: string;
  readonly latestVersionUnstable?: boolean;
  readonly fields?: readonly RawField[];
  readonly commonStructs?: readonly RawStruct[];
}

export interface FieldSchema {
  readonly name: string;
  readonly property: string;
  readonly about: string;
  readonly kind: 'primitive' | 'struct' | 'array';
  /** The primitive type, or the element type of an array of primitives. */
  readonly primitive: Primitive | null;
  /** The struct, or the element struct of an array of structs. */
  readonly struct: StructSchema | null;
  /** Versions in which the field is on the wire (regular or tagged). */
  readonly versions: ReadonlySet<number>;
  readonly nullable: ReadonlySet<number>;
  readonly tagged: ReadonlySet<number>;
  /** Versions in which strings, bytes and arrays use the compact (flexible) encoding. */
  readonly compact: ReadonlySet<number>;
  readonly tag: number | null;
  readonly defaultValue: string | number | boolean | undefined;
}

export interface StructSchema {
  readonly typeName: string;
  readonly fields: FieldSchema[];
  /** Versions in which this struct can be on the wire; filled in after the merge. */
  readonly universe: Set<number>;
}

export interface MessageSchema {
  readonly name: string;
  readonly type: string;
  readonly apiKey: number | null;
  readonly listeners: readonly string[];
  readonly served: readonly number[];
  readonly currentMinVersion: number;
  readonly flexible: ReadonlySet<number>;
  readonly latestVersionUnstable: boolean;
  readonly root: StructSchema;
  /** Every struct reachable from the root, each once, in first-reached order. */
  readonly structs: readonly StructSchema[];
  readonly fileNames: readonly string[];
}

/** One definition file and the versions it is responsible for. */
interface Source {
  readonly message: RawMessage;
  readonly versions: ReadonlySet<number>;
  readonly flexible: ReadonlySet<number>;
  readonly commonStructs: ReadonlyMap<string, RawStruct>;
}

const versionCeiling = 127;

export function parseVersions(range: string | undefined): Set<number> {
  const result = new Set<number>();
  if (range === undefined || range === 'none') return result;
  const match = /^(\d+)(\+|-(\d+))?$/.exec(range.trim());
  if (match === null) throw new Error(`bad version range '${range}'`);
  const low = Number(match[1]);
  const high = match[2] === '+' ? versionCeiling : match[3] === undefined ? low : Number(match[3]);
  for (let v = low; v <= high; v++) result.add(v);
  return result;
}

function intersect(a: ReadonlySet<number>, b: ReadonlySet<number>): Set<number> {
  return new Set([...a].filter((v) => b.has(v)));
}

/** Removes `//` comments outside string literals, then parses. */
export function parseCommentedJson(text: string): unknown {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      out += char;
      if (char === '\\') out += text[++i] ?? '';
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
      out += char;
    } else if (char === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += char;
    }
  }
  return JSON.parse(out);
}

export function readRawMessage(path: string): RawMessage {
  return parseCommentedJson(readFileSync(path, 'utf8')) as RawMessage;
}

function camelCase(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function structTypeName(messageName: string, structName: string): string {
  return structName.startsWith(messageName) ? structName : messageName + structName;
}

function makeSource(message: RawMessage, versions: ReadonlySet<number>): Source {
  const commonStructs = new Map((message.commonStructs ?? []).map((s) => [s.name, s]));
  return {
    message,
    versions,
    flexible: intersect(parseVersions(message.flexibleVersions), versions),
    commonStructs,
  };
}

interface Part {
  readonly source: Source;
  readonly raw: RawField;
}

class SchemaBuilder {
  readonly messageName: string;
  readonly structs = new Map<string, StructSchema>();

  constructor(messageName: string) {
    this.messageName = messageName;
  }

  /** Merges field lists in wire order; a field only in a later source goes after its predecessor. */
  mergeFields(lists: readonly { source: Source; fields: readonly RawField[] }[]): FieldSchema[] {
    const merged: { name: string; parts: Part[] }[] = [];
    for (const { source, fields } of lists) {
      let insertAt = 0;
      for (const raw of fields) {
        const index = merged.findIndex((entry) => entry.name === raw.name);
        if (index >= 0) {
          merged[index]?.parts.push({ source, raw });
          insertAt = index + 1;
        } else {
          merged.splice(insertAt, 0, { name: raw.name, parts: [{ source, raw }] });
          insertAt++;
        }
      }
    }
    return merged
      .map((entry) => this.buildField(entry.name, entry.parts))
      .filter((field) => field.versions.size > 0);
  }

  buildField(name: string, parts: readonly Part[]): FieldSchema {
    const first = parts[0];
    if (first === undefined) throw new Error(`field ${name} has no definition`);
    const elementType = first.raw.type.replace(/^\[\]/, '');
    const isArray = first.raw.type.startsWith('[]');
    const isPrimitive = primitives.has(elementType);
    const versions = new Set<number>();
    const nullable = new Set<number>();
    const tagged = new Set<number>();
    const compact = new Set<number>();
    for (const { source, raw } of parts) {
      if (
        raw.type.startsWith('[]') !== isArray ||
        primitives.has(raw.type.replace(/^\[\]/, '')) !== isPrimitive ||
        (isPrimitive && raw.type !== first.raw.type)
      ) {
        throw new Error(`${this.messageName}.${name}: type ${raw.type} vs ${first.raw.type}`);
      }
      if (raw.tag !== first.raw.tag) throw new Error(`${this.messageName}.${name}: tags differ`);
      const present = intersect(parseVersions(raw.versions), source.versions);
      const fieldFlexible =
        raw.flexibleVersions === undefined
          ? source.flexible
          : intersect(source.flexible, parseVersions(raw.flexibleVersions));
      for (const v of present) {
        versions.add(v);
        if (parseVersions(raw.nullableVersions).has(v)) nullable.add(v);
        if (parseVersions(raw.taggedVersions).has(v)) tagged.add(v);
        if (fieldFlexible.has(v)) compact.add(v);
      }
    }
    const struct = isPrimitive ? null : this.buildStruct(elementType, parts);
    return {
      name,
      property: camelCase(name),
      about: first.raw.about ?? '',
      kind: isArray ? 'array' : isPrimitive ? 'primitive' : 'struct',
      primitive: isPrimitive ? (elementType as Primitive) : null,
      struct,
      versions,
      nullable,
      tagged,
      compact,
      tag: first.raw.tag ?? null,
      defaultValue: first.raw.default,
    };
  }

  buildStruct(structName: string, parts: readonly Part[]): StructSchema {
    const typeName = structTypeName(this.messageName, structName);
    const existing = this.structs.get(typeName);
    if (existing !== undefined) return existing;
    const struct: StructSchema = { typeName, fields: [], universe: new Set() };
    this.structs.set(typeName, struct);
    const lists = parts.map(({ source, raw }) => {
      const name = raw.type.replace(/^\[\]/, '');
      const fields = raw.fields ?? source.commonStructs.get(name)?.fields;
      if (fields === undefined) throw new Error(`${this.messageName}: unknown struct ${name}`);
      return { source, fields };
    });
    struct.fields.push(...this.mergeFields(lists));
    return struct;
  }
}

/** Fills each struct's universe: the versions in which some path reaches it. */
function computeUniverses(root: StructSchema, served: readonly number[]): StructSchema[] {
  for (const v of served) root.universe.add(v);
  const order: StructSchema[] = [];
  const visit = (struct: StructSchema): void => {
    if (order.includes(struct)) return;
    order.push(struct);
    for (const field of struct.fields) if (field.struct !== null) visit(field.struct);
  };
  visit(root);
  let changed = true;
  while (changed) {
    changed = false;
    for (const struct of order) {
      for (const field of struct.fields) {
        if (field.struct === null) continue;
        for (const v of field.versions) {
          if (struct.universe.has(v) && !field.struct.universe.has(v)) {
            field.struct.universe.add(v);
            changed = true;
          }
        }
      }
    }
  }
  return order;
}

export interface LoadOptions {
  readonly directory: string;
  readonly legacyDirectory: string;
  readonly fileName: string;
}

/** Loads `fileName` from the 4.x directory, merged with the legacy file of the same name. */
export function loadMessageSchema(options: LoadOptions): MessageSchema {
  const current = readRawMessage(join(options.directory, options.fileName));
  const legacyPath = join(options.legacyDirectory, options.fileName);
  const legacy = existsSync(legacyPath) ? readRawMessage(legacyPath) : null;
  const currentVersions = parseVersions(current.validVersions);
  const currentMinVersion = Math.min(...currentVersions);
  const legacyVersions = new Set(
    [...parseVersions(legacy?.validVersions)].filter((v) => v < currentMinVersion),
  );
  const sources = [makeSource(current, currentVersions)];
  if (legacy !== null && legacyVersions.size > 0) sources.push(makeSource(legacy, legacyVersions));
  const served = [...new Set([...currentVersions, ...legacyVersions])].toSorted((a, b) => a - b);
  const builder = new SchemaBuilder(current.name);
  const root: StructSchema = { typeName: current.name, fields: [], universe: new Set() };
  root.fields.push(
    ...builder.mergeFields(
      sources.map((source) => ({ source, fields: source.message.fields ?? [] })),
    ),
  );
  const flexible = new Set<number>();
  for (const source of sources) for (const v of source.flexible) flexible.add(v);
  const schema: MessageSchema = {
    name: current.name,
    type: current.type,
    apiKey: current.apiKey ?? null,
    listeners: current.listeners ?? [],
    served,
    currentMinVersion,
    flexible,
    latestVersionUnstable: current.latestVersionUnstable === true,
    root,
    structs: computeUniverses(root, served),
    fileNames: [options.fileName],
  };
  for (const source of sources) checkLayout(schema, source);
  return schema;
}

function rawLayout(source: Source, fields: readonly RawField[], version: number): string[] {
  const out: string[] = [];
  for (const raw of fields) {
    if (!parseVersions(raw.versions).has(version)) continue;
    const tagged = parseVersions(raw.taggedVersions).has(version);
    const nullable = parseVersions(raw.nullableVersions).has(version);
    const elementType = raw.type.replace(/^\[\]/, '');
    const shape = primitives.has(elementType) ? raw.type : raw.type.replace(elementType, 'struct');
    out.push(`${raw.name}:${shape}${nullable ? '?' : ''}${tagged ? `#${raw.tag}` : ''}`);
    const nested = raw.fields ?? source.commonStructs.get(elementType)?.fields;
    if (nested !== undefined && !primitives.has(elementType)) {
      out.push('{', ...rawLayout(source, nested, version), '}');
    }
  }
  return out;
}

function mergedLayout(fields: readonly FieldSchema[], version: number): string[] {
  const out: string[] = [];
  for (const field of fields) {
    if (!field.versions.has(version)) continue;
    const element = field.primitive ?? 'struct';
    const shape = field.kind === 'array' ? `[]${element}` : element;
    const nullable = field.nullable.has(version) ? '?' : '';
    const tagged = field.tagged.has(version) ? `#${field.tag}` : '';
    out.push(`${field.name}:${shape}${nullable}${tagged}`);
    if (field.struct !== null) out.push('{', ...mergedLayout(field.struct.fields, version), '}');
  }
  return out;
}

function checkLayout(schema: MessageSchema, source: Source): void {
  for (const v of source.versions) {
    const expected = rawLayout(source, source.message.fields ?? [], v).join(' ');
    const actual = mergedLayout(schema.root.fields, v).join(' ');
    if (expected !== actual) {
      throw new Error(`${schema.name} v${v}: merged layout differs\n ${expected}\n ${actual}`);
    }
  }
}
