/**
 * Protobuf schemas with protobufjs. A schema arrives as .proto text (what most clients send) or
 * as a base64 FileDescriptorProto (what confluent-kafka Python sends); either is kept as given
 * and either can be served in the other client's form (`serialized`). References are other
 * .proto files imported by reference name; google/protobuf's well-known types need none.
 *
 * Compatibility follows Confluent's ProtobufSchema diff: a changed package, a removed message, a
 * field whose kind (scalar, message, map), scalar group (varint, zigzag, string/bytes, fixed32,
 * fixed64, float, double) or message type changed, a required field added or removed, several
 * fields moved into one new oneof, or a field moved into an existing oneof are incompatible;
 * added or removed optional fields, messages added, renamed fields and enum changes are not.
 */
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { registryErrors } from '../registry-error.ts';
import { isMapEntry, mapEntryOf, printProtoFile } from './protobuf-text.ts';
import type { DecodeResult, ParsedSchema, ResolvedReference } from './parsed-schema.ts';

const parseOptions = { keepCase: true, alternateCommentMode: true };
const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;

interface ProtoFile {
  readonly root: protobuf.Root;
  readonly packageName: string;
  /** The file's own top-level messages, in declaration order (message index 0, 1, ...). */
  readonly messages: readonly protobuf.Type[];
  /** For a file that came as a FileDescriptorProto: the same file as .proto text. */
  readonly text?: string;
}

/** A FileDescriptorProto (base64) read into a root: Python clients register these. */
function readDescriptor(base64: string, root: protobuf.Root): ProtoFile {
  const bytes = Buffer.from(base64, 'base64');
  const file = descriptor.FileDescriptorProto.decode(bytes) as unknown as {
    package?: string;
    syntax?: string;
    dependency?: string[];
    messageType?: { name: string }[];
    enumType?: { name: string }[];
  };
  const set = descriptor.FileDescriptorSet.create({ file: [file] });
  const fileRoot = (
    protobuf.Root as unknown as { fromDescriptor(set: unknown): protobuf.Root }
  ).fromDescriptor(set);
  for (const nested of fileRoot.nestedArray) root.add(nested);
  const packageName = file.package ?? '';
  const names = (file.messageType ?? []).map((message) => message.name);
  const messages = names.map((name) => lookupIn(root, packageName, name));
  const enums = (file.enumType ?? []).map((item) =>
    root.lookupEnum(packageName === '' ? item.name : `${packageName}.${item.name}`),
  );
  const text = printProtoFile({
    // An empty syntax in a FileDescriptorProto means proto2.
    syntax: file.syntax === undefined || file.syntax === '' ? 'proto2' : file.syntax,
    packageName,
    imports: file.dependency ?? [],
    types: [...messages, ...enums],
  });
  return { root, packageName, messages, text };
}

function lookupIn(root: protobuf.Root, packageName: string, name: string): protobuf.Type {
  return root.lookupType(packageName === '' ? name : `${packageName}.${name}`);
}

/** .proto text always has a space, ';' or '{', none of which base64 has. */
function isProtoText(text: string): boolean {
  return !base64Pattern.test(text);
}

function readFile(text: string, root: protobuf.Root): ProtoFile {
  if (!isProtoText(text.trim())) return readDescriptor(text.trim(), root);
  const own = protobuf.parse(text, new protobuf.Root(), parseOptions);
  const packageName = own.package ?? '';
  protobuf.parse(text, root, parseOptions);
  const scope = packageName === '' ? own.root : own.root.lookup(packageName);
  const names =
    scope instanceof protobuf.Namespace
      ? scope.nestedArray.filter((item) => item instanceof protobuf.Type).map((item) => item.name)
      : [];
  return { root, packageName, messages: names.map((name) => lookupIn(root, packageName, name)) };
}

export class ProtobufSchema implements ParsedSchema {
  readonly schemaType = 'PROTOBUF';
  readonly canonical: string;
  readonly file: ProtoFile;

  private constructor(canonical: string, file: ProtoFile) {
    this.canonical = canonical;
    this.file = file;
  }

  static parse(text: string, references: readonly ResolvedReference[]): ProtobufSchema {
    try {
      const root = new protobuf.Root();
      for (const name of Object.keys(protobuf.common as unknown as object)) {
        const common = (protobuf.common as unknown as { get(name: string): unknown }).get(name);
        if (common !== null && typeof common === 'object') {
          root.addJSON((common as { nested: Record<string, protobuf.AnyNestedObject> }).nested);
        }
      }
      for (const reference of references) readFile(reference.schema, root);
      const file = readFile(text, root);
      root.resolveAll();
      return new ProtobufSchema(text.trim(), file);
    } catch (error: unknown) {
      throw registryErrors.invalidSchema(error instanceof Error ? error.message : String(error));
    }
  }

  /** The schema as .proto text (what GET /schemas/ids/{id} serves by default). */
  text(): string {
    return this.file.text ?? this.canonical;
  }

  /** The schema as a base64 FileDescriptorProto (GET ...?format=serialized). */
  serialized(): string {
    if (!isProtoText(this.canonical)) return this.canonical;
    const own = protobuf.parse(this.canonical, new protobuf.Root(), parseOptions).root;
    const set = (
      own as unknown as { toDescriptor(syntax: string): { file: unknown[] } }
    ).toDescriptor('proto3');
    const file = (set.file[0] ?? {}) as Record<string, unknown>;
    const bytes = descriptor.FileDescriptorProto.encode(
      descriptor.FileDescriptorProto.fromObject({ ...file, name: 'default.proto' }),
    ).finish();
    return Buffer.from(bytes).toString('base64');
  }

  readingProblems(writer: ParsedSchema): string[] {
    if (!(writer instanceof ProtobufSchema)) return [`writer schema is ${writer.schemaType}`];
    return protobufDifferences(writer.file, this.file);
  }

  decode(payload: Buffer, messageIndexes: readonly number[]): DecodeResult {
    const type = this.messageAt(messageIndexes);
    if (type === undefined) {
      return { ok: false, reason: `no message at index [${messageIndexes.join(', ')}]` };
    }
    try {
      return { ok: true, value: type.toObject(type.decode(payload)) };
    } catch (error: unknown) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  recordName(messageIndexes: readonly number[]): string | undefined {
    // protobufjs writes full names with a leading dot (".shop.Order").
    return this.messageAt(messageIndexes)?.fullName.replace(/^\./, '');
  }

  /** The message named by Confluent's message indexes (top-level index, then nested ones). */
  messageAt(indexes: readonly number[]): protobuf.Type | undefined {
    const [first = 0, ...rest] = indexes.length === 0 ? [0] : indexes;
    let type = this.file.messages[first];
    for (const index of rest) {
      type = type?.nestedArray.filter((item) => item instanceof protobuf.Type)[index];
    }
    return type;
  }
}

const scalarGroups: Record<string, string> = {
  int32: 'varint',
  int64: 'varint',
  uint32: 'varint',
  uint64: 'varint',
  bool: 'varint',
  sint32: 'zigzag',
  sint64: 'zigzag',
  string: 'length',
  bytes: 'length',
  fixed32: 'fixed32',
  sfixed32: 'fixed32',
  fixed64: 'fixed64',
  sfixed64: 'fixed64',
  float: 'float',
  double: 'double',
};

/** Confluent's incompatible differences between `original` (writer) and `update` (reader). */
export function protobufDifferences(original: ProtoFile, update: ProtoFile): string[] {
  const problems: string[] = [];
  if (original.packageName !== update.packageName) problems.push('PACKAGE_CHANGED #/');
  compareMessageLists(problems, '#/', original.messages, update.messages);
  return problems;
}

function compareMessageLists(
  problems: string[],
  path: string,
  original: readonly protobuf.Type[],
  update: readonly protobuf.Type[],
): void {
  const updated = new Map(update.map((type) => [type.name, type]));
  for (const type of original) {
    const next = updated.get(type.name);
    if (next === undefined) problems.push(`MESSAGE_REMOVED ${path}${type.name}`);
    else compareMessages(problems, `${path}${type.name}`, type, next);
  }
}

/** Nested messages, without the map entries a descriptor adds for map fields. */
function nestedTypes(type: protobuf.Type): protobuf.Type[] {
  return type.nestedArray.filter(
    (item): item is protobuf.Type => item instanceof protobuf.Type && !isMapEntry(item),
  );
}

function compareMessages(
  problems: string[],
  path: string,
  original: protobuf.Type,
  update: protobuf.Type,
): void {
  compareOneofs(problems, path, original, update);
  for (const field of original.fieldsArray) {
    const next = update.fieldsById[field.id];
    if (next === undefined) {
      if (field.required) problems.push(`REQUIRED_FIELD_REMOVED ${path}/${field.id}`);
      continue;
    }
    compareFieldTypes(problems, `${path}/${field.id}`, field, next);
  }
  for (const field of update.fieldsArray) {
    if (original.fieldsById[field.id] === undefined && field.required) {
      problems.push(`REQUIRED_FIELD_ADDED ${path}/${field.id}`);
    }
  }
  compareMessageLists(problems, `${path}/`, nestedTypes(original), nestedTypes(update));
}

function kindOf(field: protobuf.Field): string {
  if (field instanceof protobuf.MapField || mapEntryOf(field) !== undefined) return 'map';
  if (field.resolvedType instanceof protobuf.Type) return 'message';
  return 'scalar';
}

function compareFieldTypes(
  problems: string[],
  path: string,
  original: protobuf.Field,
  update: protobuf.Field,
): void {
  const kind = kindOf(original);
  if (kind !== kindOf(update)) {
    problems.push(`FIELD_KIND_CHANGED ${path}`);
  } else if (kind === 'scalar') {
    const group = (field: protobuf.Field): string =>
      field.resolvedType instanceof protobuf.Enum ? 'varint' : (scalarGroups[field.type] ?? '');
    if (group(original) !== group(update)) problems.push(`FIELD_SCALAR_KIND_CHANGED ${path}`);
  } else if (kind === 'message') {
    const before = original.resolvedType as protobuf.Type;
    const after = update.resolvedType as protobuf.Type;
    if (localName(before) !== localName(after)) {
      problems.push(`FIELD_NAMED_TYPE_CHANGED ${path}`);
    }
  } else if (mapKeyGroup(original) !== mapKeyGroup(update)) {
    problems.push(`FIELD_SCALAR_KIND_CHANGED ${path}`);
  }
}

function mapKeyGroup(field: protobuf.Field): string {
  const key =
    field instanceof protobuf.MapField ? field.keyType : mapEntryOf(field)?.fields['key']?.type;
  return scalarGroups[key ?? ''] ?? '';
}

/** A type's name inside its package (Outer.Inner), as Confluent compares message fields. */
function localName(type: protobuf.Type): string {
  const names: string[] = [];
  let at: protobuf.ReflectionObject | null = type;
  while (at !== null && at instanceof protobuf.Type) {
    names.unshift(at.name);
    at = at.parent;
  }
  return names.join('.');
}

function compareOneofs(
  problems: string[],
  path: string,
  original: protobuf.Type,
  update: protobuf.Type,
): void {
  const originalOneofOf = new Map<number, string>();
  for (const oneof of original.oneofsArray) {
    for (const field of oneof.fieldsArray) originalOneofOf.set(field.id, oneof.name);
  }
  for (const oneof of update.oneofsArray) {
    let moved = 0;
    let existing = 0;
    for (const field of oneof.fieldsArray) {
      const before = original.fieldsById[field.id];
      if (before !== undefined && !originalOneofOf.has(field.id)) moved += 1;
      else if (originalOneofOf.has(field.id)) existing += 1;
    }
    if (moved > 1) problems.push(`MULTIPLE_FIELDS_MOVED_TO_ONEOF ${path}/${oneof.name}`);
    else if (moved === 1 && existing > 0) {
      problems.push(`FIELD_MOVED_TO_EXISTING_ONEOF ${path}/${oneof.name}`);
    }
  }
  for (const oneof of original.oneofsArray) {
    const next = update.oneofsArray.find((candidate) => candidate.name === oneof.name);
    if (next === undefined) continue;
    for (const field of oneof.fieldsArray) {
      // A field moved out of the oneof (its tag still in the message) only relaxes it.
      const gone = update.fieldsById[field.id] === undefined;
      if (gone && !next.fieldsArray.some((candidate) => candidate.id === field.id)) {
        problems.push(`ONEOF_FIELD_REMOVED ${path}/${oneof.name}`);
      }
    }
  }
}
